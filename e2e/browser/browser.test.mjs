// The playground and the web app in a real Chromium (Debian's, driven by
// playwright-core), against the running stack: an organizer creates and
// sets up an event; an attendee registers and keeps a QR ticket (offline
// too); a staff member's door reads that QR code from Chromium's fake
// camera, admits once and refuses the second entry; the door scans offline
// (a revoked ticket refused locally), reloads mid-queue and mid-sync, and the
// server's counts and scan log match exactly; the organizer's live counts and
// charts move with a scan made elsewhere, and the CSV downloads hold the
// right rows. Then the door once more against the production router. Every
// request a page makes is recorded; any that leaves loopback fails the test.
// Screenshots (phone and laptop) go to SCREENSHOTS. Run by
// e2e/tests/browser.rs (ROUTER_URL, ATTENDANCE_WS_URL, WEB_DIST, SCREENSHOTS,
// CHROMIUM, PRODUCTION_*); prints one JSON line.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { qrVideo } from "./camera.mjs";
import { LAPTOP, PHONE, graphql, launch, newPage, offLoopback, pageErrors, person, requested, serveApp, signIn } from "./lib.mjs";

const ROUTER = process.env.ROUTER_URL.replace(/\/$/, "");
const LIVE = process.env.ATTENDANCE_WS_URL;
const SHOTS = process.env.SCREENSHOTS;
const CHROMIUM = process.env.CHROMIUM;
mkdirSync(SHOTS, { recursive: true });
const stamp = Date.now();
const password = "door-password-1";
const title = `Browser Night ${stamp}`;
const app = await serveApp(process.env.WEB_DIST);
const at = (router, live, hash) => `${app.origin}/?router=${encodeURIComponent(`${router}/`)}&live=${encodeURIComponent(live)}#/${hash}`;
const browsers = [];

/** Screenshots of what `page` shows, at phone and at laptop size. */
async function shots(page, name) {
  for (const [size, viewport] of [["phone", PHONE], ["laptop", LAPTOP]]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`) });
  }
}
const text = (page, selector) => page.textContent(selector).then((t) => t.trim());
const waitText = (page, selector, expected, timeout = 15000) =>
  page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent.trim() === e, [selector, expected], { timeout });
const localInput = (date) => new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

async function stats(token, eventId) {
  const q = `query($e: ID!) { attendanceStats(eventId: $e) { totalAttendees insideNow entries exits byInterval { count } } }`;
  return (await graphql(ROUTER, q, { e: eventId }, token)).attendanceStats;
}
async function scanLog(token, eventId) {
  const q = `query($e: ID!) { event(id: $e) { scanLog(first: 1000) { nodes { userId direction status } } } }`;
  return (await graphql(ROUTER, q, { e: eventId }, token)).event.scanLog.nodes;
}
async function registerWithTicket(router, who, eventId) {
  const q = `mutation($e: ID!) { registerForEvent(eventId: $e) { id status ticket { secret } } }`;
  return (await graphql(router, q, { e: eventId }, who.token)).registerForEvent;
}

try {
  const browser = await launch(CHROMIUM);
  browsers.push(browser);
  const organizer = await person(ROUTER, `organizer-${stamp}@example.com`, "Oni Organizer", password);
  const staff = await person(ROUTER, `staff-${stamp}@example.com`, "Sam Staff", password);

  // 1. The playground at the router's root: GraphiQL from local files, a federated query.
  const playground = await newPage(browser);
  assert.equal((await playground.goto(`${ROUTER}/`)).status(), 200);
  await playground.waitForSelector(".graphiql-container", { timeout: 20000 });
  await playground.waitForSelector('[aria-label="Show Documentation Explorer"]', { timeout: 20000 });
  const headers = JSON.stringify({ Authorization: `Bearer ${organizer.token}` });
  await playground.locator(".graphiql-editor-tool .CodeMirror:visible").click();
  await playground.keyboard.insertText(headers);
  const sent = playground.waitForRequest((r) => r.method() === "POST" && r.postData()?.includes("UpcomingEvents"));
  await playground.click(".graphiql-execute-button");
  assert.equal((await sent).headers().authorization, `Bearer ${organizer.token}`);
  await playground.waitForFunction(() => document.querySelector(".result-window")?.textContent.includes('"events"'), null, { timeout: 20000 });
  await playground.screenshot({ path: join(SHOTS, "playground.png") });
  await playground.context().close();

  // 2. The organizer creates the event, names the staff member and keeps a waitlist.
  const desk = await newPage(browser, LAPTOP);
  await desk.goto(at(ROUTER, LIVE, "organize"));
  await signIn(desk, organizer.email, password);
  await desk.waitForSelector("#new-event");
  await desk.fill('#new-event input[name="title"]', title);
  await desk.fill('#new-event input[name="startTime"]', localInput(new Date(Date.now() - 10 * 60000)));
  await desk.fill('#new-event input[name="endTime"]', localInput(new Date(Date.now() + 3 * 3600000)));
  await desk.fill('#new-event input[name="location"]', "Hall A");
  await desk.fill('#new-event input[name="capacity"]', "50");
  await desk.click('#new-event button[type="submit"]');
  await desk.waitForSelector("#manage");
  const eventId = decodeURIComponent(new URL(desk.url()).hash.split("/")[2]);
  await desk.fill('#add-staff input[name="userId"]', staff.id);
  await desk.click('#add-staff button[type="submit"]');
  await desk.waitForFunction(() => document.querySelector("#staff").textContent.includes("Sam Staff"));
  await desk.check('#registration-policy input[name="waitlist"]');
  await desk.click('#registration-policy button[type="submit"]');
  await desk.waitForFunction(() => document.querySelector("#registration-policy .message").textContent === "Saved.");
  const setUp = await graphql(
    ROUTER,
    `query($e: ID!) { event(id: $e) { title location capacity registrationPolicy { waitlist } checkInStaff { id } } }`,
    { e: eventId },
    organizer.token,
  );
  assert.deepEqual(setUp.event, { title, location: "Hall A", capacity: 50, registrationPolicy: { waitlist: true }, checkInStaff: [{ id: staff.id }] });

  // 3. An attendee signs up on a phone, finds the event, registers, sees the QR code; offline it stays.
  const phone = await newPage(browser, PHONE);
  await phone.goto(at(ROUTER, LIVE, "account"));
  const ada = { email: `ada-${stamp}@example.com`, name: "Ada Guest" };
  await phone.fill('#sign-in input[name="email"]', ada.email);
  await phone.fill('#sign-in input[name="password"]', password);
  await phone.fill('#sign-in input[name="name"]', ada.name);
  await phone.click('#sign-in button[value="sign-up"]');
  await phone.waitForSelector("#event-list");
  await phone.fill("#search", title);
  await phone.waitForSelector(`#event-list [data-event="${eventId}"]`);
  await shots(phone, "events");
  await phone.click(`#event-list [data-event="${eventId}"]`);
  await phone.click("#register");
  await phone.waitForSelector('[data-status="CONFIRMED"]');
  await shots(phone, "event");
  await phone.goto(at(ROUTER, LIVE, "tickets"));
  await phone.waitForSelector(".qr svg");
  await shots(phone, "ticket");
  await phone.context().setOffline(true);
  await phone.reload();
  await phone.waitForSelector("#tickets-offline");
  await phone.waitForSelector(".qr svg");
  await phone.context().setOffline(false);
  // Signing out forgets the tickets this device kept.
  await phone.click("#sign-out");
  await phone.waitForSelector('#account a[href="#/account"]');
  assert.deepEqual(await phone.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("titiktemu.tickets"))), []);
  const adaLogin = await graphql(ROUTER, `mutation($i: LoginInput!) { login(input: $i) { token user { id } } }`, { i: { email: ada.email, password } });
  const adaTicket = (await graphql(ROUTER, `{ me { registrations { nodes { eventId ticket { secret } } } } }`, {}, adaLogin.login.token)).me.registrations.nodes.find(
    (r) => r.eventId === eventId,
  ).ticket.secret;

  // 4. The door (staff, a second Chromium whose camera shows Ada's QR code): admitted once, then refused.
  const video = join(SHOTS, "ticket.y4m");
  qrVideo(video, adaTicket);
  const doorBrowser = await launch(CHROMIUM, video);
  browsers.push(doorBrowser);
  const door = await newPage(doorBrowser, PHONE);
  await door.goto(at(ROUTER, LIVE, "door"));
  await signIn(door, staff.email, password);
  await door.click(`a[data-event="${eventId}"]`);
  await door.waitForFunction(() => document.querySelector("#pack-state")?.textContent.startsWith("Ready offline"));
  await door.click("#camera-toggle");
  await door.waitForSelector('#verdict[data-code="OK"]:not([hidden])', { timeout: 20000 });
  const admitted = await text(door, "#verdict");
  assert.match(admitted, /Admitted\s*Ada Guest/);
  await shots(door, "door-admitted");
  await door.waitForSelector('#verdict[data-code="ALREADY_CHECKED_IN"]:not([hidden])', { timeout: 20000 });
  const second = await text(door, "#verdict");
  assert.match(second, /Already inside/);
  await door.click("#camera-toggle");
  assert.equal((await stats(organizer.token, eventId)).totalAttendees, 1);

  // 5. Offline: three tickets, one revoked before the cut; a reload mid-queue.
  const guests = [];
  for (const n of [1, 2, 3]) {
    const guest = await person(ROUTER, `guest-${n}-${stamp}@example.com`, `Guest ${n}`, password);
    guests.push({ ...guest, registration: await registerWithTicket(ROUTER, guest, eventId) });
  }
  await graphql(ROUTER, `mutation($id: ID!) { cancelRegistration(id: $id) { status } }`, { id: guests[2].registration.id }, guests[2].token);
  await door.reload();
  await door.waitForFunction(() => / 1 revoked/.test(document.querySelector("#pack-state")?.textContent ?? ""));
  await door.waitForFunction(() => document.querySelector("#verdict").hidden);
  // How long each scan takes to answer, from the key press to the full-screen verdict (reported, not judged).
  const answerMs = [];
  const scanTicket = async (secret, code) => {
    await door.waitForFunction(() => document.querySelector("#verdict").hidden);
    await door.fill("#ticket-code", secret);
    const pressed = Date.now();
    await door.press("#ticket-code", "Enter");
    await door.waitForSelector(`#verdict[data-code="${code}"]:not([hidden])`);
    answerMs.push(Date.now() - pressed);
    return text(door, "#verdict");
  };
  await door.context().setOffline(true);
  await waitText(door, "#door-state", "Offline, 0 scans waiting");
  assert.match(await scanTicket(guests[0].registration.ticket.secret, "OK"), /Admitted\s*Guest 1\s*checked offline/);
  assert.match(await scanTicket(guests[2].registration.ticket.secret, "TICKET_REVOKED"), /Revoked\s*checked offline/);
  await door.reload();
  await waitText(door, "#door-state", "Offline, 2 scans waiting");
  // The counts the server last gave still show, with their time.
  assert.equal(await text(door, "#inside-now"), "1");
  assert.match(await text(door, "#counts-at"), /^as of .*before this device's offline scans$/);
  await scanTicket(guests[1].registration.ticket.secret, "OK");
  await waitText(door, "#door-state", "Offline, 3 scans waiting");
  await door.waitForFunction(() => document.querySelector("#verdict").hidden);
  await shots(door, "door-offline");
  await door.context().setOffline(false);
  await waitText(door, "#door-state", "Online", 20000);
  let counts = await stats(organizer.token, eventId);
  assert.deepEqual([counts.totalAttendees, counts.insideNow], [3, 3]);
  const statuses = (log) => log.map((s) => `${s.userId === adaLogin.login.user.id ? "ada" : guests.findIndex((g) => g.id === s.userId) + 1}:${s.direction}:${s.status}`).sort();
  const expectedLog = ["1:ENTRY:OK", "2:ENTRY:OK", "3:ENTRY:TICKET_REVOKED", "ada:ENTRY:ALREADY_CHECKED_IN", "ada:ENTRY:OK"];
  assert.deepEqual(statuses(await scanLog(organizer.token, eventId)), expectedLog);

  // 6. A reload mid-sync: the server applied the upload, the page never heard; sent again, counted once.
  await door.context().setOffline(true);
  await door.click('[data-direction="EXIT"]');
  assert.match(await scanTicket(guests[0].registration.ticket.secret, "OK"), /Left\s*Guest 1/);
  let applied = false;
  await door.route(`${ROUTER}/`, async (route) => {
    if (!route.request().postData()?.includes("SyncScans")) return route.continue();
    await route.fetch(); // reaches the server, which applies it; the page gets no answer
    applied = true;
  });
  await door.context().setOffline(false);
  await door.waitForFunction(() => true);
  for (let i = 0; i < 100 && !applied; i++) await door.waitForTimeout(100);
  assert.ok(applied, "the upload reached the server");
  await door.unrouteAll({ behavior: "ignoreErrors" });
  await door.reload();
  await waitText(door, "#door-state", "Online", 20000);
  counts = await stats(organizer.token, eventId);
  assert.deepEqual([counts.insideNow, counts.exits], [2, 1]);
  assert.deepEqual(statuses(await scanLog(organizer.token, eventId)), ["1:EXIT:OK", ...expectedLog].sort());
  assert.equal(await door.getAttribute('[data-direction="EXIT"]', "class"), "switch on", "the way through the door outlives a reload");
  // Found by name (no ticket at hand): Guest 2 leaves too.
  await door.fill("#find-name", "guest 2");
  await door.click('#found button:text("Guest 2")');
  await door.waitForSelector('#verdict[data-code="OK"]:not([hidden])');
  assert.match(await text(door, "#verdict"), /Left\s*Guest 2/);
  await door.click('[data-direction="ENTRY"]');
  await door.waitForFunction(() => document.querySelector("#verdict").hidden);
  await shots(door, "door");

  // 7. The organizer edits the event, takes requests for approval and approves one; the
  // live view moves with a scan made elsewhere; the CSV downloads.
  await desk.reload();
  await desk.waitForSelector("#event-details");
  await desk.fill('#event-details input[name="location"]', "Hall B");
  await desk.click('#event-details button[type="submit"]');
  await desk.waitForFunction(() => document.querySelector("#event-details .message").textContent === "Saved.");
  await desk.selectOption('#registration-policy select[name="mode"]', "APPROVAL");
  await desk.click('#registration-policy button[type="submit"]');
  await desk.waitForFunction(() => document.querySelector("#registration-policy .message").textContent === "Saved.");
  const asker = await person(ROUTER, `asker-${stamp}@example.com`, "Asa Asker", password);
  assert.equal((await registerWithTicket(ROUTER, asker, eventId)).status, "PENDING_APPROVAL");
  await desk.reload();
  await desk.waitForFunction(() => document.querySelector("#requests")?.textContent.includes("Asa Asker"));
  await desk.click('#requests button:text("Approve")');
  await desk.waitForFunction(() => !document.querySelector("#requests")?.textContent.includes("Asa Asker"));
  const approved = await graphql(ROUTER, `{ me { registrations { nodes { eventId status } } } }`, {}, asker.token);
  assert.deepEqual(approved.me.registrations.nodes, [{ eventId, status: "CONFIRMED" }]);
  const edited = await graphql(ROUTER, `query($e: ID!) { event(id: $e) { location registrationPolicy { mode } } }`, { e: eventId });
  assert.deepEqual(edited.event, { location: "Hall B", registrationPolicy: { mode: "APPROVAL" } });
  await waitText(desk, "#live-insideNow", "1");
  await waitText(desk, "#live-state", "live");
  const before = Number(await desk.getAttribute("#arrivals-chart", "data-total"));
  const walkIn = await person(ROUTER, `walk-in-${stamp}@example.com`, "Walk In", password);
  await graphql(ROUTER, `mutation($e: ID!, $u: ID!) { checkIn(input: { eventId: $e, userId: $u }) { id } }`, { e: eventId, u: walkIn.id }, organizer.token);
  await waitText(desk, "#live-insideNow", "2");
  await desk.waitForFunction((n) => Number(document.querySelector("#arrivals-chart").dataset.total) === n, before + 1);
  await desk.waitForFunction(() => document.querySelector("#inside-chart").dataset.last === "2");
  await desk.waitForFunction(() => document.querySelector("#scan-log").textContent.includes("Walk In"));
  await shots(desk, "organizer");
  const csv = async (button) => {
    const download = desk.waitForEvent("download");
    await desk.click(button);
    return readFileSync(await (await download).path(), "utf8").trim().split("\r\n");
  };
  const registrations = await csv("#registrations-csv");
  assert.equal(registrations[0], "name,email,status,registered at,waitlist position,ticket id");
  assert.deepEqual(registrations.slice(1).map((row) => row.split(",").slice(0, 3).join(",")), [
    `Ada Guest,${ada.email},CONFIRMED`,
    `Guest 1,${guests[0].email},CONFIRMED`,
    `Guest 2,${guests[1].email},CONFIRMED`,
    `Guest 3,${guests[2].email},CANCELLED`,
    `Asa Asker,${asker.email},CONFIRMED`,
  ]);
  const log = await csv("#scan-log-csv");
  assert.equal(log.length - 1, (await scanLog(organizer.token, eventId)).length);
  assert.ok(log.some((row) => row.includes("Guest 3") && row.includes("TICKET_REVOKED")), log.join("\n"));

  // 8. The door against the production router: the same answers, in words.
  let production = null;
  if (process.env.PRODUCTION_ROUTER_URL) {
    const router = process.env.PRODUCTION_ROUTER_URL.replace(/\/$/, "");
    const live = process.env.PRODUCTION_ATTENDANCE_WS_URL;
    const boss = await person(router, `boss-${stamp}@example.com`, "Boss", password);
    const guest = await person(router, `guest-prod-${stamp}@example.com`, "Ada Guest", password);
    const start = new Date(Date.now() - 10 * 60000).toISOString();
    const end = new Date(Date.now() + 7200000).toISOString();
    const created = await graphql(router, `mutation($i: CreateEventInput!) { createEvent(input: $i) { id } }`, { i: { title, startTime: start, endTime: end } }, boss.token);
    const id = created.createEvent.id;
    const secret = (await registerWithTicket(router, guest, id)).ticket.secret;
    const prod = await newPage(browser, PHONE);
    await prod.goto(at(router, live, `door/${id}`));
    await signIn(prod, boss.email, password);
    await prod.waitForSelector("#door");
    for (const code of ["OK", "ALREADY_CHECKED_IN"]) {
      await prod.waitForFunction(() => document.querySelector("#verdict").hidden);
      await prod.fill("#ticket-code", secret);
      await prod.press("#ticket-code", "Enter");
      await prod.waitForSelector(`#verdict[data-code="${code}"]:not([hidden])`);
    }
    production = { refused: await text(prod, "#verdict") };
    await prod.screenshot({ path: join(SHOTS, "door-production.png") });
  }

  assert.deepEqual(offLoopback(), [], "every request stays on loopback");
  assert.deepEqual(pageErrors, [], "no page threw, and the Content-Security-Policy refused nothing");
  console.log(JSON.stringify({ ok: true, requests: requested.length, admitted, second, answerMs, production }));
} catch (error) {
  let n = 0;
  for (const browser of browsers) {
    for (const context of browser.contexts()) {
      for (const page of context.pages()) await page.screenshot({ path: join(SHOTS, `failure-${++n}.png`) }).catch(() => {});
    }
  }
  console.error(`requests: ${JSON.stringify(requested.slice(-40))}`);
  throw error;
} finally {
  for (const browser of browsers) await browser.close();
  app.close();
}
