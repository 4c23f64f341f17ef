// The playground and the door app in a real Chromium (Debian's, driven by
// playwright-core), against the running stack; the door app once more against
// a stack with the production router configuration (PRODUCTION_ROUTER_URL,
// PRODUCTION_ATTENDANCE_WS_URL), where its refusals must still say why. Every
// request a page makes is recorded; any that leaves loopback fails the test.
// Screenshots go to SCREENSHOTS. Run by e2e/tests/browser.rs, which sets
// ROUTER_URL, ATTENDANCE_WS_URL, DOOR_DIST, SCREENSHOTS and CHROMIUM; prints
// one JSON line.
import assert from "node:assert/strict";
import { createReadStream, existsSync, mkdirSync, statSync } from "node:fs";
import http from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

const ROUTER = process.env.ROUTER_URL.replace(/\/$/, "");
const LIVE = process.env.ATTENDANCE_WS_URL;
const SHOTS = process.env.SCREENSHOTS;
mkdirSync(SHOTS, { recursive: true });

// --- data, through a router as any client would make it ---
async function graphql(router, query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${router}/`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  assert.ok(!body.errors, JSON.stringify(body.errors));
  return body.data;
}
const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { token user { id } } }`;
const stamp = Date.now();
const password = "door-password-1";
const title = `Browser Night ${stamp}`;
let nights = 0;
/// An organizer (signing in as `email`) with a live event, and an attendee,
/// on the stack behind `router`.
async function night(router) {
  const email = `door-${stamp}-${++nights}@example.com`;
  const organizer = await graphql(router, REGISTER, { i: { email, password, name: "Door Organizer" } });
  const attendee = await graphql(router, REGISTER, { i: { email: `guest-${stamp}-${nights}@example.com`, password, name: "Ada Guest" } });
  const start = new Date(Date.now() - 10 * 60 * 1000).toISOString();
  const end = new Date(Date.now() + 2 * 60 * 60 * 1000).toISOString();
  const created = await graphql(
    router,
    `mutation($i: CreateEventInput!) { createEvent(input: $i) { id } }`,
    { i: { title, startTime: start, endTime: end } },
    organizer.register.token,
  );
  return { email, organizer, attendee, eventId: created.createEvent.id };
}
const { organizer } = await night(ROUTER);

// --- the door app, from its own origin (a static server on another port) ---
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
const dist = process.env.DOOR_DIST;
const doorServer = http.createServer((request, response) => {
  const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
  let file = join(dist, path);
  if (!existsSync(file) || statSync(file).isDirectory()) file = join(dist, "index.html");
  response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(response);
});
await new Promise((resolve) => doorServer.listen(0, "127.0.0.1", resolve));
const DOOR = `http://127.0.0.1:${doorServer.address().port}`;

// --- the browser ---
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const requested = [];
const loopback = (url) => {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return true;
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
};
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.on("request", (r) => requested.push(r.url()));
  page.on("websocket", (ws) => requested.push(ws.url()));
  return page;
}

/// The door app against the stack behind `router` (live updates from `live`):
/// signs in (a wrong password first), checks the attendee in, sees the count
/// and the door list, and a second scan of the same person refused in words.
async function doorNight(router, live, shot) {
  const { email, attendee, eventId } = await night(router);
  const door = await newPage();
  await door.goto(`${DOOR}/?router=${encodeURIComponent(`${router}/`)}&live=${encodeURIComponent(live)}`);
  await door.fill('#sign-in input[name="email"]', email);
  await door.fill('#sign-in input[name="password"]', "wrong-password");
  await door.click('#sign-in button[type="submit"]');
  await door.waitForFunction(() => document.querySelector("#sign-in-message").textContent.length > 0);
  const wrong = await door.textContent("#sign-in-message");
  await door.fill('#sign-in input[name="password"]', password);
  await door.click('#sign-in button[type="submit"]');
  await door.waitForSelector("#door:not([hidden])");
  await door.waitForSelector(`#event option[value="${eventId}"]`, { state: "attached" });
  await door.selectOption("#event", eventId);
  await door.waitForFunction(() => document.querySelector("#live-state").textContent === "live", null, { timeout: 15000 });
  assert.equal(await door.textContent("#total"), "0");
  await door.fill("#attendee", attendee.register.user.id);
  await door.click('#scan button[type="submit"]');
  await door.waitForFunction(() => document.querySelector("#result").textContent.includes("is in"));
  assert.equal(await door.textContent("#result"), "Ada Guest is in.");
  await door.waitForFunction(() => document.querySelector("#total").textContent === "1", null, { timeout: 15000 });
  assert.equal(await door.textContent("#inside-now"), "1");
  await door.waitForFunction(() => document.querySelector("#door-list").textContent.includes("Ada Guest"));
  // The same person again: refused, with the reason in words.
  await door.fill("#attendee", attendee.register.user.id);
  await door.click('#scan button[type="submit"]');
  await door.waitForFunction(() => document.querySelector("#result").textContent.startsWith("Refused"));
  const refused = await door.textContent("#result");
  assert.equal(refused, "Refused: Already checked in. (ALREADY_CHECKED_IN)");
  await door.screenshot({ path: join(SHOTS, shot) });
  return { wrong, refused };
}

try {
  // 1. The playground at the router's root: GraphiQL from local files.
  const playground = await newPage();
  const opened = await playground.goto(`${ROUTER}/`);
  assert.equal(opened.status(), 200);
  await playground.waitForSelector(".graphiql-container", { timeout: 20000 });
  // The schema arrives (introspection through the router), then docs and history are offered.
  await playground.waitForSelector('[aria-label="Show Documentation Explorer"]', { timeout: 20000 });
  await playground.waitForSelector('[aria-label="Show History"]');
  const tools = await playground.textContent(".graphiql-editor-tools");
  assert.match(tools, /Headers/, "the Authorization header editor is there");
  // Signed in through the headers editor (a CodeMirror), run the default query:
  // events (event subgraph) with their organizers (auth subgraph).
  const headers = JSON.stringify({ Authorization: `Bearer ${organizer.register.token}` });
  await playground.locator(".graphiql-editor-tool .CodeMirror:visible").click();
  await playground.keyboard.insertText(headers);
  const sent = playground.waitForRequest((r) => r.method() === "POST" && r.postData()?.includes("UpcomingEvents"));
  await playground.click(".graphiql-execute-button");
  const authorization = (await sent).headers().authorization;
  assert.equal(authorization, `Bearer ${organizer.register.token}`, "the headers editor's header was sent");
  await playground.waitForFunction(
    (expected) => document.querySelector(".result-window")?.textContent.includes(expected),
    title,
    { timeout: 20000 },
  );
  const result = await playground.textContent(".result-window");
  assert.match(result, /"organizer"/, "a federated field came back");
  assert.match(result, /Door Organizer/, "the organizer's name came from the auth subgraph");
  await playground.screenshot({ path: join(SHOTS, "playground.png") });

  // 2. The door app: sign in, pick the event, scan, see the count; a refused
  // scan says why, in development and with the production router alike.
  const { wrong, refused } = await doorNight(ROUTER, LIVE, "door.png");
  let production = null;
  if (process.env.PRODUCTION_ROUTER_URL) {
    const router = process.env.PRODUCTION_ROUTER_URL.replace(/\/$/, "");
    production = await doorNight(router, process.env.PRODUCTION_ATTENDANCE_WS_URL, "door-production.png");
  }

  const away = requested.filter((url) => !loopback(url));
  assert.deepEqual(away, [], "every request stays on loopback");
  console.log(JSON.stringify({ ok: true, requests: requested.length, wrongPassword: wrong, refused, production }));
} catch (error) {
  // What each page showed when it failed, for the test's artifacts.
  let n = 0;
  for (const context of browser.contexts()) {
    for (const page of context.pages()) {
      await page.screenshot({ path: join(SHOTS, `failure-${++n}.png`) }).catch(() => {});
    }
  }
  console.error(`requests: ${JSON.stringify(requested)}`);
  throw error;
} finally {
  await browser.close();
  doorServer.close();
}
