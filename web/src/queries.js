// Every operation the app sends, in one place (names as in the API contract).
import { gql } from "@apollo/client";

const USER = "id name email";
const REGISTRATION = "id eventId status waitlistPosition createdAt ticket { id secret }";
const EVENT = "id title description startTime endTime location timezone capacity status";
const STATS = "totalAttendees insideNow entries exits onTime late firstCheckIn lastCheckIn byInterval { start count }";

// --- account ---
export const REGISTER = gql`mutation Register($input: RegisterInput!) { register(input: $input) { token user { ${USER} } } }`;
export const LOGIN = gql`mutation Login($input: LoginInput!) { login(input: $input) { token user { ${USER} } } }`;

// --- attendee ---
export const UPCOMING = gql`
  query Upcoming($filter: EventFilter, $after: String) {
    events(filter: $filter, first: 12, after: $after) {
      totalCount pageInfo { hasNextPage endCursor }
      nodes { ${EVENT} registrationSummary { remaining capacity } }
    }
  }`;
export const EVENT_PAGE = gql`
  query EventPage($id: ID!) {
    event(id: $id) {
      ${EVENT}
      organizer { id name }
      registrationPolicy { mode waitlist requireTicket }
      registrationSummary { confirmed waitlisted pending capacity remaining }
    }
  }`;
export const MY_REGISTRATIONS = gql`
  query MyRegistrations {
    me { id registrations(first: 100) { nodes { ${REGISTRATION} event { id title startTime endTime location } } } }
  }`;
export const REGISTER_FOR_EVENT = gql`mutation RegisterForEvent($e: ID!) { registerForEvent(eventId: $e) { ${REGISTRATION} } }`;
export const CANCEL_REGISTRATION = gql`mutation CancelRegistration($id: ID!) { cancelRegistration(id: $id) { ${REGISTRATION} } }`;

// --- door ---
export const MY_DOORS = gql`
  query MyDoors($me: ID!) {
    organized: events(filter: { organizerId: $me }, first: 100) { nodes { id title startTime endTime } }
    me { id checkInStaffAt { id title startTime endTime } }
  }`;
export const DOOR_EVENT = gql`
  query DoorEvent($e: ID!) {
    event(id: $e) { id title startTime endTime registrationPolicy { requireTicket } attendanceStats { insideNow totalAttendees } }
  }`;
export const REGISTRANTS = gql`
  query Registrants($e: ID!, $after: String) {
    event(id: $e) {
      registrations(first: 1000, after: $after, status: CONFIRMED) {
        pageInfo { hasNextPage endCursor } nodes { id userId ticketId user { name } }
      }
    }
  }`;
export const REVOKED = gql`query Revoked($e: ID!, $since: DateTime) { event(id: $e) { revokedTickets(since: $since) { ticketId revokedAt } } }`;
export const CHECK_IN = gql`
  mutation CheckIn($input: CheckInInput!) { checkIn(input: $input) { id userId checkInTime user { name } } }`;
export const SYNC_SCANS = gql`
  mutation SyncScans($e: ID!, $scans: [ScanInput!]!) {
    syncScans(eventId: $e, scans: $scans) { nonce status scan { id userId user { name } } }
  }`;

// --- organizer ---
export const MY_EVENTS = gql`
  query MyEvents($me: ID!) { events(filter: { organizerId: $me }, first: 100) { nodes { ${EVENT} } } }`;
export const CREATE_EVENT = gql`mutation CreateEvent($input: CreateEventInput!) { createEvent(input: $input) { ${EVENT} } }`;
export const UPDATE_EVENT = gql`mutation UpdateEvent($id: ID!, $input: UpdateEventInput!) { updateEvent(id: $id, input: $input) { ${EVENT} } }`;
export const MANAGE = gql`
  query Manage($e: ID!) {
    event(id: $e) {
      ${EVENT}
      registrationPolicy { mode capacity waitlist requireTicket }
      registrationSummary { confirmed waitlisted pending capacity remaining }
      checkInPolicy { allowReentry allowMultipleEntries exitAllAt }
      checkInStaff { id name }
      pending: registrations(first: 100, status: PENDING_APPROVAL) { nodes { id createdAt user { name email } } }
      attendanceStats { ${STATS} }
    }
  }`;
export const SET_REGISTRATION_POLICY = gql`
  mutation SetRegistrationPolicy($e: ID!, $input: RegistrationPolicyInput!) {
    setRegistrationPolicy(eventId: $e, input: $input) { mode capacity waitlist requireTicket }
  }`;
export const SET_CHECK_IN_POLICY = gql`
  mutation SetCheckInPolicy($e: ID!, $input: CheckInPolicyInput!) {
    setCheckInPolicy(eventId: $e, input: $input) { allowReentry allowMultipleEntries exitAllAt }
  }`;
export const APPROVE = gql`mutation Approve($id: ID!) { approveRegistration(id: $id) { id status } }`;
export const DECLINE = gql`mutation Decline($id: ID!) { declineRegistration(id: $id) { id status } }`;
export const ADD_STAFF = gql`mutation AddStaff($e: ID!, $u: ID!) { addCheckInStaff(eventId: $e, userId: $u) { id name } }`;
export const REMOVE_STAFF = gql`mutation RemoveStaff($e: ID!, $u: ID!) { removeCheckInStaff(eventId: $e, userId: $u) { id name } }`;
export const REGISTRATIONS = gql`
  query Registrations($e: ID!, $after: String) {
    event(id: $e) {
      registrations(first: 500, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        nodes { id status createdAt waitlistPosition ticketId user { id name email } }
      }
    }
  }`;
export const SCAN_LOG = gql`
  query ScanLog($e: ID!, $first: Int, $after: String) {
    event(id: $e) {
      scanLog(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes { id userId direction scannedAt receivedAt status annulled annulReason user { name } scannedBy { name } }
      }
    }
  }`;
export const ANNUL = gql`mutation Annul($id: ID!, $reason: String) { annulScan(id: $id, reason: $reason) { id annulled } }`;
export const LIVE = gql`
  subscription Live($e: ID!) {
    attendanceUpdates(eventId: $e) { stats { ${STATS} } scan { id userId direction status scannedAt } }
  }`;
