// One Apollo Client: queries and mutations through the router, the live
// subscription over graphql-ws straight to the attendance service (the
// router carries no subscriptions). The token goes in the Authorization
// header and in `connection_init`.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";

const params = new URLSearchParams(window.location.search);
export const ROUTER_URL = params.get("router") ?? `http://${window.location.hostname}:4000/`;
export const LIVE_URL = params.get("live") ?? `ws://${window.location.hostname}:3004/graphql/ws`;

let token = null;
export const setToken = (value) => {
  token = value;
};

const http = new HttpLink({
  uri: ROUTER_URL,
  fetch: (input, init) => {
    const headers = new Headers(init?.headers);
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  },
});
const live = new GraphQLWsLink(
  createClient({ url: LIVE_URL, lazy: true, connectionParams: () => ({ authorization: `Bearer ${token}` }) }),
);
const isSubscription = ({ query }) => {
  const definition = getMainDefinition(query);
  return definition.kind === "OperationDefinition" && definition.operation === "subscription";
};
export const client = new ApolloClient({ link: ApolloLink.split(isSubscription, live, http), cache: new InMemoryCache() });

export const LOGIN = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) { token user { id name email } }
  }
`;
export const MY_EVENTS = gql`
  query MyEvents($me: ID!) {
    events(filter: { organizerId: $me }, first: 50) { nodes { id title startTime } }
  }
`;
export const DOOR = gql`
  query Door($e: ID!) {
    attendanceStats(eventId: $e) { totalAttendees insideNow }
    eventAttendance(eventId: $e, first: 20) { totalCount nodes { id userId checkInTime user { name } } }
  }
`;
export const CHECK_IN = gql`
  mutation Scan($input: CheckInInput!) {
    checkIn(input: $input) { id userId checkInTime user { name } }
  }
`;
export const UPDATES = gql`
  subscription Live($e: ID!) {
    attendanceUpdates(eventId: $e) { stats { totalAttendees insideNow } scan { userId direction } }
  }
`;
