// The night, live: counts and charts that move with every scan (the
// attendance subscription), and the scan log with annul and CSV.
import { ANNUL, LIVE, SCAN_LOG } from "../queries.js";
import { allPages, mutate, query, subscribe } from "../api.js";
import { h, message, show, time, when } from "../dom.js";
import { inWords } from "../words.js";
import { arrivalsChart, insideChart } from "./chart.js";
import { download, toCsv } from "./csv.js";

/** Counts and charts; `scans` hears of each scan (the scan log refreshes). */
export function liveSection(event, scans) {
  const numbers = {};
  const counts = ["insideNow", "entries", "exits", "totalAttendees"].map((name) => {
    numbers[name] = h("span", { class: "number", id: `live-${name}` }, "–");
    const label = { insideNow: "inside now", entries: "entries", exits: "exits", totalAttendees: "people came" }[name];
    return h("div", {}, numbers[name], ` ${label}`);
  });
  const state = h("span", { class: "state", id: "live-state" }, "connecting…");
  const charts = h("div", { class: "charts" });
  const kept = `titiktemu.inside.${event.id}`;
  const samples = JSON.parse(sessionStorage.getItem(kept) ?? "[]");
  const draw = (stats) => {
    for (const [name, element] of Object.entries(numbers)) show(element, String(stats[name]));
    if (samples.at(-1)?.inside !== stats.insideNow) samples.push({ at: new Date().toISOString(), inside: stats.insideNow });
    sessionStorage.setItem(kept, JSON.stringify(samples.slice(-500)));
    show(
      charts,
      h("figure", {}, h("figcaption", {}, "Arrivals per 15 minutes"), arrivalsChart(stats.byInterval)),
      h("figure", {}, h("figcaption", {}, "Inside over time (since this page opened)"), insideChart(samples)),
    );
  };
  draw(event.attendanceStats);
  const watching = subscribe(
    LIVE,
    { e: event.id },
    ({ attendanceUpdates }) => {
      show(state, "live");
      state.className = "state ok";
      draw(attendanceUpdates.stats);
      if (attendanceUpdates.scan) scans?.dispatchEvent(new Event("scan"));
    },
    (refusal) => {
      show(state, `not live: ${refusal.words}`);
      state.className = "state bad";
    },
  );
  return {
    element: h("div", { class: "card live" }, h("div", { class: "row spread" }, h("h2", {}, "Live"), state), h("div", { class: "counts" }, counts), charts),
    stop: () => watching.unsubscribe(),
  };
}

const SCAN_HEADER = ["scanned at", "received at", "name", "user id", "direction", "status", "annulled", "annul reason", "scanned by"];
const scanRow = (s) => [s.scannedAt, s.receivedAt, s.user?.name, s.userId, s.direction, s.status, s.annulled, s.annulReason, s.scannedBy?.name];

/** The newest scans, refused ones too, each annullable; the whole log as CSV. */
export function scanLogSection(event, scans) {
  const body = h("tbody", { id: "scan-log" });
  const status = message();
  const annul = async (scan) => {
    const reason = window.prompt("Why annul this scan?", "scanned by mistake");
    if (reason === null) return;
    try {
      await mutate(ANNUL, { id: scan.id, reason: reason || null });
      await load();
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  const row = (s) =>
    h(
      "tr",
      { class: s.annulled ? "annulled" : s.status === "OK" ? "" : "refused", dataset: { scan: s.id, status: s.status } },
      h("td", {}, time(s.scannedAt)),
      h("td", {}, s.user?.name ?? s.userId),
      h("td", {}, s.direction === "ENTRY" ? "in" : "out"),
      h("td", {}, s.status === "OK" ? "OK" : inWords(s.status)),
      h("td", {}, s.scannedBy?.name ?? ""),
      h("td", {}, s.annulled ? `annulled${s.annulReason ? `: ${s.annulReason}` : ""}` : s.status === "OK" && h("button", { class: "small secondary", onclick: () => annul(s) }, "Annul")),
    );
  const load = async () => {
    try {
      const log = (await query(SCAN_LOG, { e: event.id, first: 50, after: null })).event.scanLog;
      show(body, log.nodes.map(row));
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  const csv = async () => {
    try {
      const all = await allPages(async (after) => (await query(SCAN_LOG, { e: event.id, first: 1000, after })).event.scanLog);
      download(`scan-log-${event.id}.csv`, toCsv(SCAN_HEADER, all.map(scanRow)));
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  let soon = null;
  scans?.addEventListener("scan", () => {
    clearTimeout(soon);
    soon = setTimeout(load, 300);
  });
  load();
  return h(
    "div",
    { class: "card" },
    h("div", { class: "row spread" }, h("h2", {}, "Scan log"), h("button", { class: "secondary", id: "scan-log-csv", onclick: csv }, "Download CSV")),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Who", "Way", "Result", "By", ""].map((t) => h("th", {}, t)))), body)),
    status,
    h("p", { class: "hint" }, `Newest first; the download holds the whole log.`),
  );
}
