// One Apollo Client for the whole app: queries and mutations through the
// router, live updates over graphql-ws straight to the attendance service
// (the router carries no subscriptions). The session (token and who) lives
// in localStorage so that a reload, or a phone without a network, keeps it.
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import { inWords } from "./words.js";

// Where the API is: as built (`VITE_ROUTER_URL`, `VITE_LIVE_URL`), else this
// host's development ports; `?router=…&live=…` may move it to other ports of
// this same host only (a link must not send the token anywhere else).
const params = new URLSearchParams(window.location.search);
const host = window.location.hostname;
const sameHost = (url) => {
  try {
    return new URL(url).hostname === host ? url : null;
  } catch {
    return null;
  }
};
/** The router (GraphQL for everything but subscriptions). */
export const ROUTER_URL =
  sameHost(params.get("router")) ?? import.meta.env.VITE_ROUTER_URL ?? `http://${host}:4000/`;
/** The attendance service: live updates and the tickets' public keys. */
export const LIVE_URL =
  sameHost(params.get("live")) ?? import.meta.env.VITE_LIVE_URL ?? `ws://${host}:3004/graphql/ws`;
/** How long a request may take before the app treats the network as gone (the door then works offline). */
const REQUEST_TIMEOUT_MS = 8000;
export const ATTENDANCE_URL = LIVE_URL.replace(/^ws/, "http").replace(/\/graphql\/ws$/, "");

const SESSION = "titiktemu.session";
let session = JSON.parse(localStorage.getItem(SESSION) ?? "null");
const listeners = new Set();

/** `{ token, user: { id, name, email } }`, or null when signed out. */
export const currentSession = () => session;
const OWNER = "titiktemu.owner";
const forgetters = [];
/** `forget()` runs when this device's kept data must go (sign-out, another person signs in). */
export const onForget = (forget) => forgetters.push(forget);
/** Forgets everything kept for the person who used this device: tickets, door packs, queues. */
export async function forgetDevice() {
  for (const key of Object.keys(localStorage)) if (key.startsWith("titiktemu.") && key !== SESSION) localStorage.removeItem(key);
  for (const forget of forgetters) await forget();
}
export async function setSession(value) {
  // Another person on this device: what the last one kept is not theirs.
  const owner = localStorage.getItem(OWNER);
  if (value && owner && owner !== value.user.id) await forgetDevice();
  if (value) localStorage.setItem(OWNER, value.user.id);
  session = value;
  if (value) localStorage.setItem(SESSION, JSON.stringify(value));
  else localStorage.removeItem(SESSION);
  wsClient.terminate(); // the next subscription signs in afresh
  listeners.forEach((listener) => listener(session));
}
export const onSession = (listener) => listeners.add(listener);

const http = new HttpLink({
  uri: ROUTER_URL,
  fetch: (input, init) => {
    const headers = new Headers(init?.headers);
    if (session?.token) headers.set("Authorization", `Bearer ${session.token}`);
    return fetch(input, { ...init, headers, signal: init?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  },
});
const wsClient = createClient({
  url: LIVE_URL,
  lazy: true,
  retryAttempts: Infinity,
  shouldRetry: () => true,
  connectionParams: () => (session?.token ? { authorization: `Bearer ${session.token}` } : {}),
});
const isSubscription = ({ query }) => {
  const definition = getMainDefinition(query);
  return definition.kind === "OperationDefinition" && definition.operation === "subscription";
};
export const client = new ApolloClient({
  link: ApolloLink.split(isSubscription, new GraphQLWsLink(wsClient), http),
  cache: new InMemoryCache(),
  defaultOptions: { query: { fetchPolicy: "network-only" }, watchQuery: { fetchPolicy: "network-only" } },
});

/** A refusal or failure, in words a person reads, with the API's code. */
export class Refused extends Error {
  constructor(code, words) {
    super(words);
    this.code = code;
    this.words = words;
  }
}

function refused(error) {
  const first = CombinedGraphQLErrors.is(error) ? error.errors[0] : null;
  const code = first?.extensions?.code ?? (first ? "INTERNAL_SERVER_ERROR" : "NETWORK");
  if (code === "UNAUTHENTICATED" && session) setSession(null);
  return new Refused(code, inWords(code, first?.message));
}

/** An operation's data, or `Refused`. */
const answered = (operation) =>
  operation.then(
    ({ data }) => data,
    (error) => Promise.reject(refused(error)),
  );

/** Runs a query; its data, or throws `Refused`. */
export const query = (document, variables) => answered(client.query({ query: document, variables }));

/** Runs a mutation; its data, or throws `Refused`. */
export const mutate = (document, variables) => answered(client.mutate({ mutation: document, variables }));

/** Subscribes; `next(data)` per message, `failed(refusal)` when it ends in error. */
export function subscribe(document, variables, next, failed) {
  return client.subscribe({ query: document, variables }).subscribe({
    next: ({ data, error }) => (error ? failed(refused(error)) : next(data)),
    error: (error) => failed(refused(error)),
  });
}

/** Every page of a connection: `page(after)` answers `{ nodes, pageInfo }`. */
export async function allPages(page) {
  const nodes = [];
  let after = null;
  for (;;) {
    const connection = await page(after);
    nodes.push(...connection.nodes);
    if (!connection.pageInfo.hasNextPage) return nodes;
    after = connection.pageInfo.endCursor;
  }
}
