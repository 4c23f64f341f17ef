// A frontend's view of the router, as a browser app using Apollo Client would
// see it: a CORS preflight, then a mutation and a query with a bearer token.
// Then the live count, as a door app follows it: a subscription over
// graphql-ws straight to the attendance service (the router carries no
// subscriptions), beside queries and mutations through the router.
// Run by e2e/tests/apollo_client.rs with ROUTER_URL and ATTENDANCE_WS_URL
// set; prints one JSON line.
import assert from "node:assert/strict";
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const url = process.env.ROUTER_URL;
const origin = "http://localhost:5173"; // a Vite dev server
assert.ok(url, "ROUTER_URL is not set");

// 1. The browser's preflight for a cross-origin POST with credentials.
const preflight = await fetch(url, {
  method: "OPTIONS",
  headers: {
    Origin: origin,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,authorization",
  },
});
assert.ok(preflight.status === 200 || preflight.status === 204, `preflight status ${preflight.status}`);
assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
assert.equal(preflight.headers.get("access-control-allow-credentials"), "true");
const allowedHeaders = (preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase();
assert.ok(allowedHeaders.includes("authorization"), `allowed headers: ${allowedHeaders}`);

// An origin that is not allowed gets no CORS grant.
const foreign = await fetch(url, {
  method: "OPTIONS",
  headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
});
assert.notEqual(foreign.headers.get("access-control-allow-origin"), "https://evil.example");

// 2. Apollo Client, sending what a browser sends and checking what it checks.
let token = null;
const browserFetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set("Origin", origin);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(input, { ...init, headers });
  assert.equal(response.headers.get("access-control-allow-origin"), origin, "response lacks the CORS grant");
  return response;
};
const client = new ApolloClient({
  link: new HttpLink({ uri: url, credentials: "include", fetch: browserFetch }),
  cache: new InMemoryCache(),
});

const email = `frontend-${Date.now()}@example.com`;
const registered = await client.mutate({
  mutation: gql`
    mutation Register($input: RegisterInput!) {
      register(input: $input) { token expiresAt user { id email role } }
    }
  `,
  variables: { input: { email, password: "securepass", name: "Frontend" } },
});
token = registered.data.register.token;
assert.equal(registered.data.register.user.email, email);

const start = new Date(Date.now() - 10 * 60 * 1000).toISOString();
const end = new Date(Date.now() + 60 * 60 * 1000).toISOString();
const created = await client.mutate({
  mutation: gql`
    mutation Create($input: CreateEventInput!) {
      createEvent(input: $input) { id title organizer { id email } }
    }
  `,
  variables: { input: { title: "Frontend Meetup", startTime: start, endTime: end } },
});
assert.equal(created.data.createEvent.organizer.email, email);

const { data } = await client.query({
  query: gql`
    query Home {
      me { email }
      events(first: 10) { totalCount nodes { title organizer { email } attendanceStats { totalAttendees } } }
    }
  `,
});
assert.equal(data.me.email, email);
assert.equal(data.events.nodes[0].title, "Frontend Meetup");
assert.equal(data.events.nodes[0].attendanceStats.totalAttendees, 0);

// 3. The live count: the subscription over WebSocket (token in connection_init),
// everything else through the router, one Apollo Client for both.
const wsClient = createClient({
  url: process.env.ATTENDANCE_WS_URL,
  webSocketImpl: WebSocket,
  connectionParams: () => ({ authorization: `Bearer ${token}` }),
});
const live = new ApolloClient({
  link: ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    new GraphQLWsLink(wsClient),
    new HttpLink({ uri: url, fetch: browserFetch }),
  ),
  cache: new InMemoryCache(),
});
const eventId = created.data.createEvent.id;
const updates = [];
const seen = new Promise((resolve, reject) => {
  const subscription = live
    .subscribe({
      query: gql`
        subscription Door($e: ID!) {
          attendanceUpdates(eventId: $e) { stats { totalAttendees insideNow } scan { direction } }
        }
      `,
      variables: { e: eventId },
    })
    .subscribe({
      next: ({ data, error }) => {
        if (error) return reject(error);
        updates.push(data.attendanceUpdates);
        if (updates.length === 1) {
          // The current state first; then the organizer checks themself in through the router.
          live
            .mutate({
              mutation: gql`mutation In($e: ID!) { checkIn(input: { eventId: $e }) { id } }`,
              variables: { e: eventId },
            })
            .catch(reject);
        } else {
          subscription.unsubscribe();
          resolve();
        }
      },
      error: reject,
    });
  setTimeout(() => reject(new Error(`no live update in 15 s: ${JSON.stringify(updates)}`)), 15000);
});
await seen;
assert.deepEqual(updates[0], { __typename: "AttendanceUpdate", stats: { __typename: "AttendanceStats", totalAttendees: 0, insideNow: 0 }, scan: null });
assert.equal(updates[1].stats.totalAttendees, 1);
assert.equal(updates[1].stats.insideNow, 1);
assert.equal(updates[1].scan.direction, "ENTRY");

// 4. Refusals, as a door app tells them apart: each error carries its code
// (in production too, where the router hides only what was not meant for
// clients), and the live socket takes subscriptions only.
const codeOf = async (operation) => {
  try {
    await operation();
  } catch (error) {
    return error.graphQLErrors?.[0]?.extensions?.code ?? error.errors?.[0]?.extensions?.code ?? `no code: ${error}`;
  }
  return "no error";
};
const checkIn = gql`mutation Again($e: ID!) { checkIn(input: { eventId: $e }) { id } }`;
assert.equal(await codeOf(() => client.mutate({ mutation: checkIn, variables: { e: eventId } })), "ALREADY_CHECKED_IN");
const nowhere = "00000000-0000-0000-0000-000000000000";
assert.equal(await codeOf(() => client.mutate({ mutation: checkIn, variables: { e: nowhere } })), "NOT_FOUND");
const wrongLogin = gql`mutation Wrong($email: String!) { login(input: { email: $email, password: "wrong-wrong" }) { token } }`;
assert.equal(await codeOf(() => client.mutate({ mutation: wrongLogin, variables: { email } })), "UNAUTHENTICATED");
const overSocket = await new Promise((resolve) => {
  wsClient.subscribe({ query: "{ me { email } }" }, {
    next: (result) => resolve(result.errors?.[0]?.extensions?.code ?? "answered"),
    error: (error) => resolve(`failed: ${error}`),
    complete: () => resolve("completed without an answer"),
  });
});
assert.equal(overSocket, "BAD_USER_INPUT", "the live socket serves subscriptions only");
await wsClient.dispose();

console.log(JSON.stringify({ ok: true, events: data.events.totalCount, live: updates.length }));
