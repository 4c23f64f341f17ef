// A frontend's view of the router, as a browser app using Apollo Client would
// see it: a CORS preflight, then a mutation and a query with a bearer token.
// Run by e2e/tests/apollo_client.rs with ROUTER_URL set; prints one JSON line.
import assert from "node:assert/strict";
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

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

console.log(JSON.stringify({ ok: true, events: data.events.totalCount }));
