//! Who may see and do what, on every path: each role (anonymous, another
//! user, the person themself, the event's organizer, its check-in staff, an
//! ADMIN) against each path by which a User, an email, a check-in or a
//! registration (and its ticket) can be reached: root fields and entity references through the real router, the
//! same fields straight at each subgraph (with the router's credential, and
//! without it), REST and the internal endpoints. In production, and in
//! development where the rules differ.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::collections::BTreeMap;

use common::ServiceKind::{self, Attendance, Auth, Event};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Anonymous,
    /// Signed in, checked in to the event themself, no other tie to the attendee.
    Other,
    /// The attendee whose data is read.
    Myself,
    Organizer,
    Staff,
    Admin,
}

use Role::*;

const ROLES: [Role; 6] = [Anonymous, Other, Myself, Organizer, Staff, Admin];

/// The people and data every case reads. `attendee` registered for the
/// organizer's `event` (with a ticket) and is checked in to it and to
/// `elsewhere` (someone else's event); `other` is checked in to `event` too,
/// without registering; `staff` is the event's check-in staff.
struct World {
    e2e: e2e::E2e,
    tokens: BTreeMap<Role, Option<String>>,
    ids: BTreeMap<Role, String>,
    event: String,
    elsewhere: String,
    /// The attendee's check-in at `event`.
    attendee_row: String,
    /// The attendee's registration for `event`.
    attendee_registration: String,
    /// A person with no role here, for staff to check in.
    newcomer: String,
}

fn codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The code refused fields carry for `role`: sign in first, or not yours.
/// The first answer to `attendanceUpdates(E)` over `graphql-transport-ws`
/// at `url`, with `token` in `connection_init`.
async fn first_subscription_message(url: &str, token: Option<&str>, event: &str) -> Value {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, Message};
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("a WebSocket");
    let payload = token.map_or(json!({}), |t| json!({"authorization": format!("Bearer {t}")}));
    let query = "subscription($e: ID!) { attendanceUpdates(eventId: $e) { stats { totalAttendees } } }";
    let messages = [
        json!({"type": "connection_init", "payload": payload}),
        json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": {"e": event}}}),
    ];
    for message in messages {
        socket.send(Message::text(message.to_string())).await.expect("sent");
    }
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else { continue };
            let value: Value = serde_json::from_str(&text).expect("JSON");
            if value["id"] == "1" {
                return value;
            }
        }
        panic!("the socket closed before answering the subscription");
    });
    answer.await.expect("an answer within 10 s")
}

fn refusal(role: Role) -> &'static str {
    if role == Anonymous {
        "UNAUTHENTICATED"
    } else {
        "FORBIDDEN"
    }
}

impl World {
    fn token(&self, role: Role) -> Option<&str> {
        self.tokens[&role].as_deref()
    }

    fn id(&self, role: Role) -> &str {
        &self.ids[&role]
    }

    async fn router(&self, role: Role, query: &str, variables: Value) -> Value {
        let (status, body) = self.e2e.graphql_with_headers(query, variables, self.token(role), &[]).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Straight at a subgraph, as the router calls it (with its credential).
    async fn direct(&self, kind: ServiceKind, role: Role, query: &str, variables: Value) -> Value {
        let (status, body) = self.e2e.subgraph(kind, query, variables, self.token(role), true).await;
        assert_eq!(status, 200, "{kind}: {body}");
        body
    }

    async fn build(app_env: &str) -> World {
        let e2e = e2e::start_in(app_env).await;
        let mut tokens = BTreeMap::from([(Anonymous, None)]);
        let mut ids = BTreeMap::new();
        for (role, email, name) in [
            (Other, "other@example.com", "Otto"),
            (Myself, "attendee@example.com", "Ana"),
            (Organizer, "organizer@example.com", "Oni"),
            (Staff, "staff@example.com", "Sam"),
            (Admin, "admin@example.com", "Ada"),
        ] {
            let (token, id) = e2e.sign_up(email, name).await;
            tokens.insert(role, Some(token));
            ids.insert(role, id);
        }
        // The admin, promoted as `auth-service promote` does, signs in again.
        let admin = sea_orm::Database::connect(e2e.stack.admin_url()).await.unwrap();
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            "UPDATE auth_schema.users SET role = 'ADMIN' WHERE email = 'admin@example.com'",
        )
        .await
        .unwrap();
        admin.close().await.unwrap();
        let login = json!({"email": "admin@example.com", "password": "securepass"});
        let (_, answer) = e2e.rest(Method::POST, Auth, "/auth/login", None, Some(login)).await;
        tokens.insert(Admin, Some(answer["token"].as_str().unwrap().to_owned()));
        let (elsewhere_token, _) = e2e.sign_up("elsewhere@example.com", "Eli").await;
        let (_, newcomer) = e2e.sign_up("newcomer@example.com", "Neo").await;

        let mut world = World {
            e2e,
            tokens,
            ids,
            event: String::new(),
            elsewhere: String::new(),
            attendee_row: String::new(),
            attendee_registration: String::new(),
            newcomer,
        };
        world.event = world.create_event(world.token(Organizer).unwrap().to_owned()).await;
        world.elsewhere = world.create_event(elsewhere_token).await;
        let added = world.staff_change(Organizer, "addCheckInStaff", world.id(Staff)).await;
        assert!(added["errors"].is_null(), "{added}");
        let register = "mutation($e: ID!) { registerForEvent(eventId: $e) { id status } }";
        let registered = world.router(Myself, register, json!({"e": world.event})).await;
        assert_eq!(registered["data"]["registerForEvent"]["status"], "CONFIRMED", "{registered}");
        world.attendee_registration = registered["data"]["registerForEvent"]["id"].as_str().unwrap().to_owned();
        let checked_in = world.check_in(Myself, &world.event.clone(), None).await;
        world.attendee_row = checked_in["data"]["checkIn"]["id"].as_str().expect("attendee's check-in").to_owned();
        for (role, event) in [(Myself, world.elsewhere.clone()), (Other, world.event.clone())] {
            let answer = world.check_in(role, &event, None).await;
            assert!(answer["errors"].is_null(), "{answer}");
        }
        world
    }

    async fn create_event(&self, token: String) -> String {
        let now = chrono::Utc::now();
        let input = json!({"title": "Door", "startTime": (now - chrono::Duration::minutes(30)).to_rfc3339(),
                           "endTime": (now + chrono::Duration::hours(2)).to_rfc3339()});
        let created = self
            .e2e
            .graphql(
                "mutation($i: CreateEventInput!) { createEvent(input: $i) { id } }",
                json!({"i": input}),
                Some(&token),
            )
            .await;
        created["data"]["createEvent"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned()
    }

    async fn check_in(&self, role: Role, event: &str, user: Option<&str>) -> Value {
        let query = "mutation($e: ID!, $u: ID) { checkIn(input: {eventId: $e, userId: $u}) { id } }";
        self.router(role, query, json!({"e": event, "u": user})).await
    }

    async fn staff_change(&self, role: Role, mutation: &str, user: &str) -> Value {
        let query = format!("mutation($e: ID!, $u: ID!) {{ {mutation}(eventId: $e, userId: $u) {{ id name }} }}");
        self.router(role, &query, json!({"e": self.event, "u": user})).await
    }
}

/// Asserts that `field` of `response` (a JSON pointer) holds a value exactly
/// for the roles in `shown`, and is null with the role's refusal code otherwise.
fn assert_shown(response: &Value, pointer: &str, role: Role, shown: &[Role], what: &str) {
    let value = response.pointer(pointer).unwrap_or(&Value::Null);
    if shown.contains(&role) {
        assert!(!value.is_null(), "{what}: {role:?} should see {pointer}: {response}");
    } else {
        assert!(value.is_null(), "{what}: {role:?} must not see {pointer}: {response}");
        assert!(
            codes(response).iter().any(|c| c == refusal(role)),
            "{what}: {role:?} gets {}: {response}",
            refusal(role)
        );
    }
}

/// The user ids of a list of nodes.
fn user_ids(nodes: &Value) -> Vec<String> {
    let mut ids: Vec<String> = nodes
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|n| n["userId"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

impl World {
    /// Whose check-ins at the event `role` may list: all for the organizer,
    /// staff and ADMINs, the reader's own for attendees, none for anyone else.
    fn door_list_for(&self, role: Role) -> Vec<String> {
        let mut ids: Vec<String> = match role {
            Anonymous => vec![],
            Other | Myself => vec![self.id(role).to_owned()],
            Organizer | Staff | Admin => vec![self.id(Myself).to_owned(), self.id(Other).to_owned()],
        };
        ids.sort();
        ids
    }
}

const PERSONAL: [Role; 3] = [Myself, Organizer, Admin];

#[tokio::test]
async fn personal_data_reaches_only_those_entitled_on_every_path_in_production() {
    let world = World::build("production").await;
    for role in ROLES {
        profiles(&world, role).await;
        door_list(&world, role).await;
        single_check_in(&world, role).await;
        user_attendances(&world, role).await;
        counts_and_staff(&world, role).await;
        staffed_events(&world, role).await;
        registrations(&world, role).await;
    }
    checking_a_stranger_in_reveals_nothing_registering_consents(&world).await;
}

/// The attendee's and the organizer's personal fields, on every path to a User.
async fn profiles(world: &World, role: Role) {
    let attendee = world.id(Myself).to_owned();
    // The attendee's email, role and sign-up date: user(id), through the router and at auth.
    let query = "query($id: ID!) { user(id: $id) { id name email role createdAt } }";
    for (path, response) in [
        ("router user(id)", world.router(role, query, json!({"id": attendee})).await),
        ("auth user(id)", world.direct(Auth, role, query, json!({"id": attendee})).await),
    ] {
        assert_eq!(response["data"]["user"]["name"], "Ana", "{path}: the name is public: {response}");
        for field in ["email", "role", "createdAt"] {
            assert_shown(&response, &format!("/data/user/{field}"), role, &PERSONAL, path);
        }
    }
    // The same person as an entity reference, straight at auth as the router sends it.
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";
    let response = world.direct(Auth, role, entities, json!({"r": [{"__typename": "User", "id": attendee}]})).await;
    assert_shown(&response, "/data/_entities/0/email", role, &PERSONAL, "auth _entities");

    // The organizer's email through Event.organizer: the same rule, about the organizer.
    let query = "query($e: ID!) { event(id: $e) { title organizer { id email } } }";
    let response = world.router(role, query, json!({"e": world.event})).await;
    assert_eq!(response["data"]["event"]["title"], "Door", "{response}");
    assert_shown(&response, "/data/event/organizer/email", role, &[Organizer, Admin], "Event.organizer");
}

/// The door list: through the router, at attendance, over REST.
async fn door_list(world: &World, role: Role) {
    let event_ref = json!([{"__typename": "Event", "id": world.event, "startTime": "2024-01-15T09:00:00Z"}]);
    let expected = world.door_list_for(role);
    let query = "query($e: ID!) { event(id: $e) { attendance { totalCount nodes { userId user { name email } } } }
                                  eventAttendance(eventId: $e) { totalCount nodes { userId } } }";
    let response = world.router(role, query, json!({"e": world.event})).await;
    for list in ["/data/event/attendance", "/data/eventAttendance"] {
        let list = response.pointer(list).unwrap_or_else(|| panic!("{role:?}: {response}"));
        assert_eq!(user_ids(&list["nodes"]), expected, "{role:?}: {response}");
        assert_eq!(list["totalCount"], expected.len(), "{role:?} counts what they see: {response}");
    }
    // Names for everyone who may list; emails only for those entitled.
    for (i, node) in response["data"]["event"]["attendance"]["nodes"].as_array().unwrap().iter().enumerate() {
        assert!(node["user"]["name"].is_string(), "{role:?}: {response}");
        let person = node["userId"].as_str().unwrap();
        // The organizer sees the email of people who registered, not of
        // people merely checked in.
        let registered = person == world.id(Myself);
        let entitled = role == Admin || world.id(role) == person || (role == Organizer && registered);
        let pointer = format!("/data/event/attendance/nodes/{i}/user/email");
        let shown = response.pointer(&pointer).is_some_and(|v| !v.is_null());
        assert_eq!(shown, entitled, "{role:?} reading {person}'s email: {response}");
    }
    let direct = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendance { totalCount nodes { userId } } } } }";
    let response = world.direct(Attendance, role, direct, json!({"r": event_ref})).await;
    assert_eq!(user_ids(&response["data"]["_entities"][0]["attendance"]["nodes"]), expected, "{role:?}: {response}");
    let root = "query($e: ID!) { eventAttendance(eventId: $e) { nodes { userId } } }";
    let response = world.direct(Attendance, role, root, json!({"e": world.event})).await;
    assert_eq!(user_ids(&response["data"]["eventAttendance"]["nodes"]), expected, "{role:?}: {response}");
    let path = format!("/attendance/event/{}", world.event);
    let (status, rows) = world.e2e.rest(Method::GET, Attendance, &path, world.token(role), None).await;
    if role == Anonymous {
        assert_eq!(status, 401, "production REST needs a token: {rows}");
    } else {
        assert_eq!(status, 200, "{rows}");
        assert_eq!(user_ids(&rows), expected, "{role:?} over REST: {rows}");
    }
}

/// One check-in by id: the person, the organizer, staff, ADMINs.
async fn single_check_in(world: &World, role: Role) {
    let query = "query($a: ID!) { attendance(id: $a) { id userId checkInTime } }";
    let door = [Myself, Organizer, Staff, Admin];
    let response = world.router(role, query, json!({"a": world.attendee_row})).await;
    assert_shown(&response, "/data/attendance", role, &door, "router attendance(id)");
    let response = world.direct(Attendance, role, query, json!({"a": world.attendee_row})).await;
    assert_shown(&response, "/data/attendance", role, &door, "attendance attendance(id)");
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Attendance { id userId } } }";
    let reference = json!({"r": [{"__typename": "Attendance", "id": world.attendee_row}]});
    let response = world.direct(Attendance, role, entities, reference).await;
    assert_shown(&response, "/data/_entities/0", role, &door, "attendance _entities");
}

/// A person's check-ins: all for themself and ADMINs, those at their events for an organizer.
async fn user_attendances(world: &World, role: Role) {
    let attendee = world.id(Myself).to_owned();
    let query = "query($id: ID!) { user(id: $id) { attendances { totalCount nodes { eventId } } } }";
    let seen: Vec<&str> = match role {
        Myself | Admin => vec![world.event.as_str(), world.elsewhere.as_str()],
        Organizer => vec![world.event.as_str()],
        Anonymous | Other | Staff => vec![],
    };
    let response = world.router(role, query, json!({"id": attendee})).await;
    let mut events: Vec<&str> = response["data"]["user"]["attendances"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{role:?}: {response}"))
        .iter()
        .map(|n| n["eventId"].as_str().unwrap())
        .collect();
    events.sort();
    let mut seen_sorted = seen.clone();
    seen_sorted.sort();
    assert_eq!(events, seen_sorted, "{role:?}: {response}");
    assert_eq!(response["data"]["user"]["attendances"]["totalCount"], seen.len(), "{response}");
    let direct =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { attendances { totalCount } } } }";
    let response = world.direct(Attendance, role, direct, json!({"r": [{"__typename": "User", "id": attendee}]})).await;
    assert_eq!(response["data"]["_entities"][0]["attendances"]["totalCount"], seen.len(), "{role:?}: {response}");
}

/// The attendee's registration and ticket: the registration for the
/// person, the organizer, staff and ADMINs; the ticket for the person, the
/// organizer and ADMINs; the event's list for its organizer, staff and
/// ADMINs (emails for the organizer and ADMINs only); counts for everyone.
async fn registrations(world: &World, role: Role) {
    let id = world.attendee_registration.as_str();
    let sees = [Myself, Organizer, Staff, Admin];
    let sees_ticket = [Myself, Organizer, Admin];
    let one = "query($id: ID!) { registration(id: $id) { id status ticketId ticket { id secret } } }";
    for (path, response) in [
        ("router registration(id)", world.router(role, one, json!({"id": id})).await),
        ("attendance registration(id)", world.direct(Attendance, role, one, json!({"id": id})).await),
    ] {
        assert_shown(&response, "/data/registration", role, &sees, path);
        let ticket = response.pointer("/data/registration/ticket/secret").is_some_and(Value::is_string);
        assert_eq!(ticket, sees_ticket.contains(&role), "{path} {role:?}: {response}");
        // The ticket's id (not its secret) goes with the registration to all who see it.
        let ticket_id = response.pointer("/data/registration/ticketId").is_some_and(Value::is_string);
        assert_eq!(ticket_id, sees.contains(&role), "{path} {role:?}: {response}");
    }
    let entities =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Registration { id ticket { id } } } }";
    let response =
        world.direct(Attendance, role, entities, json!({"r": [{"__typename": "Registration", "id": id}]})).await;
    assert_shown(&response, "/data/_entities/0", role, &sees, "attendance _entities Registration");
    // The event's list and counts, through the router.
    let list = "query($e: ID!) { event(id: $e) { registrationSummary { confirmed capacity }
                   registrationPolicy { mode requireTicket } revokedTickets { ticketId }
                   registrations { totalCount nodes { userId ticketId user { name email } ticket { id } } } } }";
    let response = world.router(role, list, json!({"e": world.event})).await;
    let event = &response["data"]["event"];
    assert_eq!(event["registrationSummary"], json!({"confirmed": 1, "capacity": null}), "{role:?}: {response}");
    assert_eq!(event["registrationPolicy"], json!({"mode": "OPEN", "requireTicket": false}), "{response}");
    assert_eq!(event["revokedTickets"], json!([]), "{response}");
    let lists = [Organizer, Staff, Admin].contains(&role);
    assert_eq!(event["registrations"]["totalCount"], i32::from(lists), "{role:?}: {response}");
    if lists {
        let node = &event["registrations"]["nodes"][0];
        assert_eq!(node["user"]["name"], "Ana", "{response}");
        let organizes = role == Organizer || role == Admin;
        assert_eq!(node["user"]["email"].is_string(), organizes, "{role:?} reads the registrant's email: {response}");
        assert_eq!(node["ticket"]["id"].is_string(), organizes, "{role:?} reads the ticket: {response}");
        assert!(node["ticketId"].is_string(), "{role:?} names the ticket's holder: {response}");
    }
    // A person's registrations: themself and ADMINs, through the router and at the subgraph.
    let mine = [Myself, Admin].contains(&role);
    let query = "query($id: ID!) { user(id: $id) { registrations { totalCount } } }";
    let response = world.router(role, query, json!({"id": world.id(Myself)})).await;
    assert_eq!(response["data"]["user"]["registrations"]["totalCount"], i32::from(mine), "{role:?}: {response}");
    let direct =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { registrations { totalCount } } } }";
    let response =
        world.direct(Attendance, role, direct, json!({"r": [{"__typename": "User", "id": world.id(Myself)}]})).await;
    assert_eq!(response["data"]["_entities"][0]["registrations"]["totalCount"], i32::from(mine), "{response}");
    // REST: the registration, its QR code, the event's list.
    let refused = if role == Anonymous { 401 } else { 403 };
    let path = format!("/attendance/registrations/{id}");
    let (status, body) = world.e2e.rest(Method::GET, Attendance, &path, world.token(role), None).await;
    assert_eq!(status.as_u16(), if sees.contains(&role) { 200 } else { refused }, "{role:?} REST: {body}");
    let (status, _) =
        world.e2e.rest(Method::GET, Attendance, &format!("{path}/ticket.svg"), world.token(role), None).await;
    assert_eq!(status.as_u16(), if sees_ticket.contains(&role) { 200 } else { refused }, "{role:?} ticket.svg");
    let path = format!("/attendance/event/{}/registrations", world.event);
    let (status, rows) = world.e2e.rest(Method::GET, Attendance, &path, world.token(role), None).await;
    if role == Anonymous {
        assert_eq!(status, 401, "{rows}");
    } else {
        assert_eq!(rows.as_array().map(Vec::len), Some(usize::from(lists)), "{role:?} REST list: {rows}");
    }
}

/// Checking a stranger in by id no longer shows the organizer their email
/// (the harvest path `docs/security.md` named): consent does, by registering.
async fn checking_a_stranger_in_reveals_nothing_registering_consents(world: &World) {
    let stranger = world.newcomer.clone();
    let checked_in = world.check_in(Organizer, &world.event, Some(&stranger)).await;
    assert!(checked_in["errors"].is_null(), "{checked_in}");
    let email = "query($u: ID!) { user(id: $u) { email } }";
    let response = world.router(Organizer, email, json!({"u": stranger})).await;
    assert_shown(&response, "/data/user/email", Organizer, &[], "a stranger checked in");
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }";
    let reference = json!({"r": [{"__typename": "User", "id": stranger}]});
    let response = world.direct(Auth, Organizer, entities, reference.clone()).await;
    assert_shown(&response, "/data/_entities/0/email", Organizer, &[], "auth _entities");
    // The stranger registers: now the organizer may write to them.
    let login = json!({"email": "newcomer@example.com", "password": "securepass"});
    let (_, answer) = world.e2e.rest(Method::POST, Auth, "/auth/login", None, Some(login)).await;
    let token = answer["token"].as_str().unwrap();
    let path = format!("/attendance/event/{}/registrations", world.event);
    let (status, _) = world.e2e.rest(Method::POST, Attendance, &path, Some(token), None).await;
    assert_eq!(status, 201);
    let response = world.router(Organizer, email, json!({"u": stranger})).await;
    assert_eq!(response["data"]["user"]["email"], "newcomer@example.com", "{response}");
    // The organizer of another event still sees nothing.
    let response = world.direct(Auth, Other, entities, reference).await;
    assert_shown(&response, "/data/_entities/0/email", Other, &[], "another user");
}

/// Aggregate counts are public; the staff list is the organizer's and ADMINs'.
async fn counts_and_staff(world: &World, role: Role) {
    let query = "query($e: ID!) { event(id: $e) { attendanceStats { totalAttendees } checkInStaff { id name } } }";
    let response = world.router(role, query, json!({"e": world.event})).await;
    assert_eq!(response["data"]["event"]["attendanceStats"]["totalAttendees"], 2, "{role:?}: {response}");
    let staff = &response["data"]["event"]["checkInStaff"];
    if role == Organizer || role == Admin {
        assert_eq!(staff, &json!([{"id": world.id(Staff), "name": "Sam"}]), "{response}");
    } else {
        assert_eq!(staff, &json!([]), "{role:?}: {response}");
    }
    let (status, stats) = world
        .e2e
        .rest(Method::GET, Attendance, &format!("/attendance/stats/{}", world.event), world.token(role), None)
        .await;
    assert_eq!((status, stats["totalAttendees"].clone()), (StatusCode::OK, json!(2)), "{role:?}: {stats}");
}

/// The events a person is check-in staff of (the door app's list): theirs
/// and ADMINs' to read, through the router and straight at attendance.
async fn staffed_events(world: &World, role: Role) {
    let expected = if role == Staff || role == Admin { json!([{"id": world.event}]) } else { json!([]) };
    let query = "query($u: ID!) { user(id: $u) { checkInStaffAt { id title } } }";
    let response = world.router(role, query, json!({"u": world.id(Staff)})).await;
    let listed = &response["data"]["user"]["checkInStaffAt"];
    let ids: Vec<Value> = listed.as_array().expect("a list").iter().map(|e| json!({"id": e["id"]})).collect();
    assert_eq!(Value::from(ids), expected, "{role:?} router: {response}");
    if role == Staff {
        assert_eq!(listed[0]["title"], "Door", "the title from the event subgraph: {response}");
    }
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { checkInStaffAt { id } } } }";
    let reps = json!({"r": [{"__typename": "User", "id": world.id(Staff)}]});
    let response = world.direct(Attendance, role, entities, reps).await;
    assert_eq!(response["data"]["_entities"][0]["checkInStaffAt"], expected, "{role:?} _entities: {response}");
}

#[tokio::test]
async fn in_production_only_the_router_and_the_services_pass_the_internal_doors() {
    let world = World::build("production").await;
    let attendee = world.id(Myself).to_owned();
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email } } }";
    let representations = json!({"r": [{"__typename": "User", "id": attendee}]});
    for kind in [Auth, Event, Attendance] {
        for role in ROLES {
            // No credential, or a wrong one: refused before anything is parsed, whoever the caller.
            let (status, body) =
                world.e2e.subgraph(kind, entities, representations.clone(), world.token(role), false).await;
            assert_eq!(status, 403, "{kind} without the credential: {body}");
            assert_eq!(body["error"]["code"], "FORBIDDEN", "{body}");
            let url = format!("{}/graphql", world.e2e.stack.service_url(kind));
            let forged = world
                .e2e
                .http
                .post(&url)
                .header(common::internal::HEADER, "guess")
                .json(&json!({"query": "{ __typename }"}));
            assert_eq!(forged.send().await.unwrap().status(), 403, "{kind} with a forged credential");
        }
        // A made-up `startTime` for `@requires` cannot be sent without the router either.
        let stats =
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { attendanceStats { onTime } } } }";
        let forged = json!({"r": [{"__typename": "Event", "id": world.event, "startTime": "2999-01-01T00:00:00Z"}]});
        let (status, _) = world.e2e.subgraph(Attendance, stats, forged, world.token(Organizer), false).await;
        assert_eq!(status, 403);
    }
    // Service-to-service endpoints: the credential, or nothing (and never an email).
    let path = format!("/internal/users/{attendee}");
    for role in ROLES {
        let (status, body) = world.e2e.rest(Method::GET, Auth, &path, world.token(role), None).await;
        assert_eq!(status, 403, "{role:?}: {body}");
        let ask = json!({"viewer": world.id(Organizer), "users": [attendee]});
        let (status, body) =
            world.e2e.rest(Method::POST, Attendance, "/internal/visible-profiles", world.token(role), Some(ask)).await;
        assert_eq!(status, 403, "{role:?}: {body}");
        // Nobody but the event service may say an event changed, or ask who exists.
        let changed = format!("/internal/events/{}/changed", world.event);
        let body = json!({"updatedAt": chrono::Utc::now().to_rfc3339()});
        let (status, _) = world.e2e.rest(Method::POST, Attendance, &changed, world.token(role), Some(body)).await;
        assert_eq!(status, 403, "{role:?} {changed}");
        let ask = json!({"ids": [attendee]});
        let (status, _) =
            world.e2e.rest(Method::POST, Auth, "/internal/users/existing", world.token(role), Some(ask)).await;
        assert_eq!(status, 403, "{role:?} /internal/users/existing");
    }
    let url = format!("{}{path}", world.e2e.stack.service_url(Auth));
    let found = world
        .e2e
        .http
        .get(&url)
        .header(common::internal::HEADER, world.e2e.stack.service_secret())
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    assert_eq!(found.json::<Value>().await.unwrap(), json!({"id": attendee}), "existence only, no email");
    // The REST shim stays public.
    let (status, _) = world.e2e.rest(Method::GET, Event, &format!("/events/{}", world.event), None, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn check_in_staff_are_named_by_the_organizer_and_lose_their_rights_at_once() {
    let world = World::build("production").await;
    let newcomer = world.newcomer.clone();
    // Who may name staff: the organizer and ADMINs; through the router and at the subgraph.
    for role in ROLES {
        let response = world.staff_change(role, "addCheckInStaff", &newcomer).await;
        match role {
            Organizer | Admin => assert!(response["errors"].is_null(), "{role:?}: {response}"),
            _ => assert_eq!(codes(&response), [refusal(role)], "{role:?}: {response}"),
        }
        let query = "mutation($e: ID!, $u: ID!) { removeCheckInStaff(eventId: $e, userId: $u) { id } }";
        let response = world.direct(Attendance, role, query, json!({"e": world.event, "u": newcomer})).await;
        match role {
            Organizer | Admin => {
                assert_eq!(response["data"]["removeCheckInStaff"], json!([{"id": world.id(Staff)}]), "{response}")
            }
            _ => assert_eq!(codes(&response), [refusal(role)], "{role:?}: {response}"),
        }
    }
    // Staff check others in at their event, and nowhere else.
    let at_event = world.check_in(Staff, &world.event, Some(&newcomer)).await;
    assert!(at_event["errors"].is_null(), "{at_event}");
    let elsewhere = world.check_in(Staff, &world.elsewhere, Some(&newcomer)).await;
    assert_eq!(codes(&elsewhere), ["FORBIDDEN"], "{elsewhere}");
    for role in [Other, Myself] {
        let response = world.check_in(role, &world.event, Some(world.id(Staff))).await;
        assert_eq!(codes(&response), ["FORBIDDEN"], "{role:?} checks in someone else: {response}");
    }
    // Revoked: the door list and the scanner rights end with the next request.
    let removed = world.staff_change(Organizer, "removeCheckInStaff", world.id(Staff)).await;
    assert_eq!(removed["data"]["removeCheckInStaff"], json!([]), "{removed}");
    let list = world
        .router(Staff, "query($e: ID!) { eventAttendance(eventId: $e) { totalCount } }", json!({"e": world.event}))
        .await;
    assert_eq!(list["data"]["eventAttendance"]["totalCount"], 0, "{list}");
    let (_, other) = world.e2e.sign_up("late@example.com", "Lee").await;
    let refused = world.check_in(Staff, &world.event, Some(&other)).await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    // Unknown people and bad ids are clear errors, nothing is written.
    let unknown = world.staff_change(Organizer, "addCheckInStaff", &uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(codes(&unknown), ["NOT_FOUND"], "{unknown}");
    let malformed = world.staff_change(Organizer, "addCheckInStaff", "not-an-id").await;
    assert_eq!(codes(&malformed), ["BAD_USER_INPUT"], "{malformed}");
}

#[tokio::test]
async fn development_keeps_the_guides_anonymous_list_with_ids_and_times_only() {
    let world = World::build("development").await;
    let path = format!("/attendance/event/{}", world.event);
    let (status, rows) = world.e2e.rest(Method::GET, Attendance, &path, None, None).await;
    assert_eq!(status, 200, "{rows}");
    assert_eq!(user_ids(&rows), world.door_list_for(Organizer), "{rows}");
    for row in rows.as_array().unwrap() {
        let mut keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["checkInTime", "eventId", "id", "userId"], "ids and times only: {row}");
    }
    // Everything else is as strict as in production: no email for anyone anonymous, on any path.
    let query = "query($e: ID!, $u: ID!) { user(id: $u) { email } event(id: $e) { organizer { email }
                   attendance { nodes { userId user { email } } } } }";
    let variables = json!({"e": world.event, "u": world.id(Myself)});
    let response = world.router(Anonymous, query, variables.clone()).await;
    assert!(response["data"]["user"]["email"].is_null(), "{response}");
    assert!(response["data"]["event"]["organizer"]["email"].is_null(), "{response}");
    assert_eq!(response["data"]["event"]["attendance"]["nodes"], json!([]), "{response}");
    assert!(codes(&response).iter().all(|c| c == "UNAUTHENTICATED"), "{response}");
    // Development subgraphs answer without the credential, by the same rules.
    let entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { email } } }";
    let reference = json!({"r": [{"__typename": "User", "id": world.id(Myself)}]});
    let (status, response) = world.e2e.subgraph(Auth, entities, reference.clone(), None, false).await;
    assert_eq!(status, 200);
    assert!(response["data"]["_entities"][0]["email"].is_null(), "{response}");
    assert_eq!(codes(&response), ["UNAUTHENTICATED"], "{response}");
    let (_, response) = world.e2e.subgraph(Auth, entities, reference, world.token(Organizer), false).await;
    assert_eq!(response["data"]["_entities"][0]["email"], "attendee@example.com", "{response}");
    // Registrations, tickets and staff assignments follow the same rules as in production.
    for role in ROLES {
        registrations(&world, role).await;
        staffed_events(&world, role).await;
    }
}

/// Door scanning's paths: the scan log (through the router, as an entity
/// straight at the attendance subgraph, REST), uploads, annulment and the
/// policy, for every role, in production.
#[tokio::test]
async fn scans_reach_only_the_events_scanners_on_every_path_in_production() {
    let world = World::build("production").await;
    let by_staff = world.check_in(Staff, &world.event, Some(&world.newcomer)).await;
    assert!(by_staff["errors"].is_null(), "{by_staff}");
    let scan_of_newcomer = world
        .router(
            Organizer,
            "query($e: ID!) { event(id: $e) { scanLog(first: 1) { nodes { id userId } } } }",
            json!({"e": world.event}),
        )
        .await["data"]["event"]["scanLog"]["nodes"][0]
        .clone();
    assert_eq!(scan_of_newcomer["userId"], world.newcomer.as_str());
    let scan_id = scan_of_newcomer["id"].as_str().unwrap().to_owned();
    let now = chrono::Utc::now().to_rfc3339();
    // Scans at the event: the attendee's, the other user's, the newcomer's (by staff), then each upload's.
    let mut logged = 3;
    for role in ROLES {
        let (log_size, may_scan, may_set) = match role {
            Organizer | Admin => (logged, true, true),
            Staff => (1, true, false),
            Anonymous | Other | Myself => (0, false, false),
        };
        scan_log(&world, role, log_size).await;
        if uploads(&world, role, may_scan, &now).await {
            logged += 1;
        }
        let policy =
            "mutation($e: ID!) { setCheckInPolicy(eventId: $e, input: {allowReentry: true}) { allowReentry } }";
        let set = world.router(role, policy, json!({"e": world.event})).await;
        assert_eq!(set["errors"].is_null(), may_set, "{role:?} setCheckInPolicy: {set}");

        live_updates(&world, role).await;
        let annul = "mutation($id: ID!) { annulScan(id: $id, reason: \"test\") { annulled } }";
        let annulled = world.router(role, annul, json!({"id": scan_id})).await;
        let may_annul = matches!(role, Organizer | Admin | Staff);
        assert_eq!(annulled["errors"].is_null(), may_annul, "{role:?} annulScan: {annulled}");
        if !may_annul {
            assert_eq!(codes(&annulled), [refusal(role)], "{role:?} annulScan: {annulled}");
        }
    }
}

/// An event's scan log through the router, as an entity straight at the
/// attendance subgraph, and over REST: `log_size` scans for `role`.
async fn scan_log(world: &World, role: Role, log_size: usize) {
    let log_query = "query($e: ID!) { event(id: $e) { scanLog { nodes { userId scannedBy { id } } } } }";
    let entity_query =
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Event { scanLog { nodes { userId } } } } }";
    let routed = world.router(role, log_query, json!({"e": world.event})).await;
    let nodes = &routed["data"]["event"]["scanLog"]["nodes"];
    assert_eq!(nodes.as_array().map(Vec::len), Some(log_size), "{role:?} through the router: {routed}");
    if role == Staff {
        assert_eq!(nodes[0]["scannedBy"]["id"], world.id(Staff), "{routed}");
    }
    let direct =
        world.direct(Attendance, role, entity_query, json!({"r": [{"__typename": "Event", "id": world.event}]})).await;
    let nodes = &direct["data"]["_entities"][0]["scanLog"]["nodes"];
    assert_eq!(nodes.as_array().map(Vec::len), Some(log_size), "{role:?} at the subgraph: {direct}");
    let path = format!("/attendance/event/{}/scans", world.event);
    let (status, rest) = world.e2e.rest(Method::GET, Attendance, &path, world.token(role), None).await;
    match role {
        Anonymous => assert_eq!(status, StatusCode::UNAUTHORIZED, "{rest}"),
        _ => assert_eq!((status, rest.as_array().map(Vec::len)), (StatusCode::OK, Some(log_size)), "{role:?} REST"),
    }
}

/// An upload through the router, then the same over REST; whether it was
/// the role's to make (and so added a scan).
async fn uploads(world: &World, role: Role, may_scan: bool, now: &str) -> bool {
    let upload = "mutation($e: ID!, $s: [ScanInput!]!) { syncScans(eventId: $e, scans: $s) { status } }";
    // The other user leaves (the first upload does it; later ones are told NOT_INSIDE).
    let scans =
        json!([{"nonce": format!("{role:?}"), "userId": world.id(Other), "direction": "EXIT", "scannedAt": now}]);
    let synced = world.router(role, upload, json!({"e": world.event, "s": scans})).await;
    if may_scan {
        assert!(synced["errors"].is_null(), "{role:?} syncScans: {synced}");
    } else {
        assert_eq!(codes(&synced), [refusal(role)], "{role:?} syncScans: {synced}");
    }
    // The same upload over REST: its nonce answers the scan just made, adding none.
    let body = json!({"eventId": world.event, "scans": scans});
    let (status, _) =
        world.e2e.rest(Method::POST, Attendance, "/attendance/scans", world.token(role), Some(body)).await;
    let expected = match (may_scan, role) {
        (true, _) => StatusCode::OK,
        (false, Anonymous) => StatusCode::UNAUTHORIZED,
        (false, _) => StatusCode::FORBIDDEN,
    };
    assert_eq!(status, expected, "{role:?} POST /attendance/scans");

    may_scan
}

/// Live updates, served by the attendance service itself (not the router):
/// Server-Sent Events and the subscription over WebSocket.
async fn live_updates(world: &World, role: Role) {
    let live = format!("{}/attendance/live/{}", world.e2e.stack.service_url(Attendance), world.event);
    let mut request = world.e2e.http.get(&live);
    if let Some(token) = world.token(role) {
        request = request.bearer_auth(token);
    }
    let status = request.send().await.unwrap().status();
    let expected = match role {
        Organizer | Staff | Admin => StatusCode::OK,
        Anonymous => StatusCode::UNAUTHORIZED,
        Other | Myself => StatusCode::FORBIDDEN,
    };
    assert_eq!(status, expected, "{role:?} GET /attendance/live/{{E}}");
    // The same updates as a subscription over WebSocket, the token in `connection_init`.
    let ws = format!("{}/graphql/ws", world.e2e.stack.service_url(Attendance).replacen("http", "ws", 1));
    let first = first_subscription_message(&ws, world.token(role), &world.event).await;
    if matches!(role, Organizer | Staff | Admin) {
        assert!(first["payload"]["errors"].is_null(), "{role:?} attendanceUpdates: {first}");
        assert!(first["payload"]["data"]["attendanceUpdates"]["stats"].is_object(), "{role:?}: {first}");
    } else {
        assert_eq!(codes(&first["payload"]), [refusal(role)], "{role:?} attendanceUpdates: {first}");
        assert_eq!(first["payload"]["data"], Value::Null, "{role:?} attendanceUpdates: {first}");
    }
}
