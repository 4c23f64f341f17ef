// What the browser tests share: calls to the API as any client makes them,
// a static server for the web app (its own origin), Chromium, and the
// record of every request a page makes (any off loopback fails the run).
import assert from "node:assert/strict";
import { createReadStream, existsSync, statSync } from "node:fs";
import http from "node:http";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";

/** A GraphQL call through `router`; its data (errors fail the test). */
export async function graphql(router, query, variables, token) {
  const body = await graphqlRaw(router, query, variables, token);
  assert.ok(!body.errors, JSON.stringify(body.errors));
  return body.data;
}

export async function graphqlRaw(router, query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${router.replace(/\/$/, "")}/`, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

const REGISTER = `mutation($i: RegisterInput!) { register(input: $i) { token user { id name } } }`;
/** A new person: `{ token, id, email }`. */
export async function person(router, email, name, password) {
  const { register } = await graphql(router, REGISTER, { i: { email, password, name } });
  return { token: register.token, id: register.user.id, email, name };
}

/** Serves `dist` (the built web app) on a free loopback port; its origin. */
export async function serveApp(dist) {
  const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
  const server = http.createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(dist, path);
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(dist, "index.html");
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Chromium (the machine's), with a fake camera showing `video` when given. */
export function launch(executablePath, video) {
  const camera = video ? ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", `--use-file-for-fake-video-capture=${video}`] : [];
  return chromium.launch({ executablePath, headless: true, args: [...FLAGS, ...camera] });
}

export const PHONE = { width: 390, height: 844 };
export const LAPTOP = { width: 1280, height: 860 };

/** Every URL pages asked for. */
export const requested = [];
export const offLoopback = () =>
  requested.filter((url) => {
    const { protocol, hostname } = new URL(url);
    if (["data:", "blob:", "about:", "chrome-extension:"].includes(protocol)) return false;
    return !["127.0.0.1", "localhost", "[::1]"].includes(hostname);
  });

/** What went wrong in pages: uncaught errors and anything the Content-Security-Policy refused. */
export const pageErrors = [];

/** A new page in its own context (its own storage), recording its requests and errors. */
export async function newPage(browser, viewport = LAPTOP, options = {}) {
  const context = await browser.newContext({ viewport, acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.on("request", (r) => requested.push(r.url()));
  page.on("websocket", (ws) => requested.push(ws.url()));
  page.on("pageerror", (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) pageErrors.push(`${page.url()}: ${m.text()}`);
  });
  return page;
}

/** Signs in through the app's account screen (the page is on it). */
export async function signIn(page, email, password) {
  await page.waitForSelector("#sign-in");
  await page.fill('#sign-in input[name="email"]', email);
  await page.fill('#sign-in input[name="password"]', password);
  await page.click('#sign-in button[value="sign-in"]');
  await page.waitForSelector("#sign-out");
}
