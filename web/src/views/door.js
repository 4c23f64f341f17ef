// The door: pick an event you run, then scan tickets with the camera (or a
// handheld scanner typing into the ticket field), or find people by name.
// Each scan answers full screen in a colour and words. Without a network the
// door checks tickets itself from what it kept, queues the scans and sends
// them with `syncScans` when the network is back.
import { CHECK_IN, DOOR_EVENT, LIVE, MY_DOORS, SYNC_SCANS } from "../queries.js";
import { Refused, currentSession, mutate, query, subscribe } from "../api.js";
import { h, message, show, time, when } from "../dom.js";
import { inWords } from "../words.js";
import { keepLoadedFiles } from "../keep.js";
import { keptPack, noteDirection, offlineVerdict, queueScan, refreshPack, refusedOnSync, syncQueue, waiting } from "../door/offline.js";
import { readTicket } from "../door/ticket.js";

/** How each answer looks: colour, headline. */
const LOOKS = {
  OK: ["ok", "Admitted"],
  EXIT_OK: ["ok", "Left"],
  ALREADY_CHECKED_IN: ["warn", "Already inside"],
  NOT_INSIDE: ["warn", "Not inside"],
  TICKET_REVOKED: ["bad", "Revoked"],
  TICKET_WRONG_EVENT: ["bad", "Wrong event"],
  NOT_REGISTERED: ["bad", "Not registered"],
  EVENT_FULL: ["bad", "Full"],
  TICKET_INVALID: ["bad", "Not a ticket"],
};
const SHOWN_FOR_MS = 1800;

export async function doorScreen(eventId) {
  return eventId ? door(eventId) : chooseDoor();
}

/** The events the signed-in person organizes or staffs. */
async function chooseDoor() {
  const me = currentSession().user.id;
  try {
    const data = await query(MY_DOORS, { me });
    const events = [...data.organized.nodes, ...data.me.checkInStaffAt].filter((e) => new Date(e.endTime) > Date.now() - 86400000);
    const items = events.map((e) => h("li", {}, h("a", { href: `#/door/${e.id}`, dataset: { event: e.id } }, e.title), " ", h("span", { class: "when" }, when(e.startTime))));
    return { element: h("section", { class: "card" }, h("h1", {}, "Which door?"), items.length ? h("ul", { class: "doors" }, items) : h("p", {}, "You organize or staff no current event.")) };
  } catch (refusal) {
    return { element: h("section", { class: "card" }, message(refusal)) };
  }
}

async function door(eventId) {
  // The way through the door outlives a reload (a door is either an entrance or an exit).
  let direction = sessionStorage.getItem("titiktemu.direction") ?? "ENTRY";
  let pack = await keptPack(eventId);
  let stopCamera = null;
  let watching = null;
  let syncing = false;
  let answerTimer = null;
  let lastSeen = { text: null, at: 0 };

  const title = h("h1", {}, pack?.title ?? "Door");
  const inside = h("span", { class: "number", id: "inside-now" }, "–");
  const total = h("span", { class: "number", id: "total" }, "–");
  const countsAt = h("span", { class: "hint", id: "counts-at", hidden: true });
  const state = h("p", { class: "state", id: "door-state" });
  const ready = h("p", { class: "hint", id: "pack-state" });
  const problems = h("ul", { class: "problems", id: "sync-refused" });
  const answer = h("div", { class: "verdict", id: "verdict", hidden: true, onclick: () => (answer.hidden = true) });
  const video = h("video", { id: "camera", muted: true, playsinline: true });
  const cameraButton = h("button", { id: "camera-toggle", onclick: () => toggleCamera() }, "Start camera");
  const ticketInput = h("input", { id: "ticket-code", placeholder: "Ticket code (a handheld scanner types here)", autocomplete: "off" });
  const nameInput = h("input", { id: "find-name", type: "search", placeholder: "Find by name", autocomplete: "off", oninput: () => findByName() });
  const found = h("ul", { class: "found", id: "found" });
  const status = message();
  const switches = ["ENTRY", "EXIT"].map((d) =>
    h("button", { class: d === direction ? "switch on" : "switch", dataset: { direction: d }, onclick: () => setDirection(d) }, d === "ENTRY" ? "Entry" : "Exit"),
  );

  function setDirection(d) {
    direction = d;
    sessionStorage.setItem("titiktemu.direction", d);
    switches.forEach((b) => b.classList.toggle("on", b.dataset.direction === d));
  }

  function showAnswer(code, name, offline) {
    const [look, headline] = LOOKS[code === "OK" && direction === "EXIT" ? "EXIT_OK" : code] ?? ["bad", inWords(code)];
    answer.className = `verdict ${look}`;
    answer.dataset.code = code;
    show(answer, h("strong", {}, headline), name && h("span", { class: "name" }, name), offline && h("small", {}, "checked offline"));
    answer.hidden = false;
    clearTimeout(answerTimer);
    answerTimer = setTimeout(() => (answer.hidden = true), SHOWN_FOR_MS);
  }

  // The last counts the server gave, kept so that an offline door still shows them (and when).
  const keptCounts = `titiktemu.counts.${eventId}`;
  function showCounts(stats) {
    show(inside, String(stats.insideNow));
    show(total, String(stats.totalAttendees));
    countsAt.hidden = true;
    localStorage.setItem(keptCounts, JSON.stringify({ insideNow: stats.insideNow, totalAttendees: stats.totalAttendees, at: new Date().toISOString() }));
  }
  function showKeptCounts() {
    const kept = JSON.parse(localStorage.getItem(keptCounts) ?? "null");
    if (!kept) return;
    show(inside, String(kept.insideNow));
    show(total, String(kept.totalAttendees));
    show(countsAt, `as of ${time(kept.at)}, before this device's offline scans`);
    countsAt.hidden = false;
  }

  async function showState() {
    const queued = (await waiting(eventId)).length;
    const online = navigator.onLine;
    if (!online) showKeptCounts();
    state.className = `state ${online ? (queued ? "warn" : "ok") : "bad"}`;
    show(state, online ? (queued ? `Online, sending ${queued} scans…` : "Online") : `Offline, ${queued} scans waiting`);
    state.dataset.waiting = String(queued);
    show(ready, pack ? `Ready offline: ${Object.keys(pack.names).length} registrants, ${pack.revoked.length} revoked tickets, kept at ${time(pack.savedAt)}.` : "Not ready offline yet.");
    const refused = await refusedOnSync(eventId);
    show(problems, refused.map((s) => h("li", {}, `${time(s.scannedAt)} ${s.name ?? "someone"}: the server refused (${inWords(s.status)})`)));
  }

  /** One scan: a ticket's text or a person picked by name. */
  async function scan(scanned) {
    const nonce = crypto.randomUUID();
    const scannedAt = new Date().toISOString();
    if (navigator.onLine) {
      try {
        const input = { eventId, direction, nonce, ...(scanned.ticket ? { ticket: scanned.ticket } : { userId: scanned.userId }) };
        const { checkIn } = await mutate(CHECK_IN, { input });
        const name = checkIn.user?.name ?? nameOf(scanned);
        if (pack) await noteDirection(pack, checkIn.userId, direction);
        return showAnswer("OK", name, false);
      } catch (refusal) {
        if (!(refusal instanceof Refused)) throw refusal;
        if (refusal.code !== "NETWORK") return showAnswer(refusal.code, nameOf(scanned), false);
      }
    }
    // No network: the device decides, and the server hears of it later.
    if (!pack) return showAnswer("NETWORK", null, true);
    const verdict = await offlineVerdict(pack, scanned, direction);
    await queueScan({ nonce, eventId, ...scanned, direction, scannedAt, localCode: verdict.code, name: verdict.name });
    if (verdict.code === "OK") await noteDirection(pack, verdict.key, direction);
    showAnswer(verdict.code, verdict.name, true);
    await showState();
  }

  const nameOf = (scanned) => {
    if (!pack) return null;
    if (scanned.userId) return pack.names[scanned.userId] ?? null;
    const ticket = readTicket(scanned.ticket);
    return (ticket && pack.people[ticket.ticketId]?.name) ?? null;
  };

  async function seen(text) {
    // The camera sees a code many times a second: once per code while its answer shows.
    const now = Date.now();
    if (!answer.hidden || (text === lastSeen.text && now - lastSeen.at < SHOWN_FOR_MS + 1200)) return;
    lastSeen = { text, at: now };
    await scan({ ticket: text.trim() });
  }

  async function toggleCamera() {
    if (stopCamera) {
      stopCamera();
      stopCamera = null;
      show(cameraButton, "Start camera");
      return;
    }
    try {
      // The QR reader is loaded only when a camera starts.
      const { startCamera } = await import("../door/scanner.js");
      const started = await startCamera(video, seen);
      if (left) return started(); // the person went elsewhere while the camera was asked for
      stopCamera = started;
      show(cameraButton, "Stop camera");
    } catch (error) {
      show(status, `The camera cannot start: ${error.message}`);
    }
  }

  function findByName() {
    const wanted = nameInput.value.trim().toLowerCase();
    if (!pack || wanted.length < 2) return show(found);
    const people = Object.entries(pack.names).filter(([, name]) => name?.toLowerCase().includes(wanted)).slice(0, 8);
    show(
      found,
      people.map(([userId, name]) =>
        h("li", {}, h("button", { class: "secondary", onclick: () => scan({ userId }).then(() => show(found, (nameInput.value = ""))) }, name)),
      ),
    );
  }

  /** Sends the waiting scans, then (unless just fetched) tops the pack up. */
  async function sync({ refresh = true } = {}) {
    if (syncing || !navigator.onLine) return showState();
    syncing = true;
    try {
      await syncQueue(eventId, async (scans) => (await mutate(SYNC_SCANS, { e: eventId, scans })).syncScans);
      if (refresh || !pack) pack = await refreshPack(eventId, title.textContent);
    } catch (refusal) {
      if (refusal.code !== "NETWORK") show(status, refusal.words ?? String(refusal));
    } finally {
      syncing = false;
      await showState();
    }
  }

  function watch() {
    watching?.unsubscribe();
    if (!navigator.onLine) return;
    watching = subscribe(
      LIVE,
      { e: eventId },
      ({ attendanceUpdates }) => {
        showCounts(attendanceUpdates.stats);
      },
      (refusal) => show(status, `Not live: ${refusal.words}`),
    );
  }

  ticketInput.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !ticketInput.value.trim()) return;
    const text = ticketInput.value.trim();
    ticketInput.value = "";
    scan({ ticket: text });
  });
  const online = () => {
    sync();
    watch();
  };
  const offline = () => {
    watching?.unsubscribe();
    showState();
  };
  window.addEventListener("online", online);
  window.addEventListener("offline", offline);
  const every = setInterval(() => sync(), 30000);
  let left = false; // the screen was left: a camera that starts late stops at once
  const stop = () => {
    left = true;
    stopCamera?.();
    watching?.unsubscribe();
    clearInterval(every);
    window.removeEventListener("online", online);
    window.removeEventListener("offline", offline);
  };

  // The camera's code and its QR reader, fetched now so that they are kept for offline reloads.
  import("../door/scanner.js")
    .then(({ prepareReader }) => navigator.onLine && prepareReader())
    .then(keepLoadedFiles, () => {});
  if (navigator.onLine) {
    try {
      const { event } = await query(DOOR_EVENT, { e: eventId });
      if (!event) return { element: h("section", { class: "card" }, h("p", {}, "No such event.")), stop };
      show(title, event.title);
      showCounts(event.attendanceStats);
      pack = await refreshPack(eventId, event.title);
    } catch (refusal) {
      if (refusal.code !== "NETWORK") show(status, refusal.words ?? String(refusal));
    }
  }
  await sync({ refresh: false });
  watch();

  const element = h(
    "section",
    { class: "door", id: "door" },
    h("div", { class: "row spread" }, title, h("div", { class: "switches", role: "group", "aria-label": "Direction" }, switches)),
    h("div", { class: "counts" }, h("div", {}, inside, " inside now"), h("div", {}, total, " checked in"), countsAt),
    state,
    h("div", { class: "camera" }, video, cameraButton),
    ticketInput,
    nameInput,
    found,
    status,
    problems,
    ready,
    answer,
  );
  return { element, stop };
}
