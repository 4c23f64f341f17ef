// What the door keeps on the device (IndexedDB), so that it works without a
// network: per event, a *pack* (the tickets' public keys, the revoked
// tickets, the registrants' names, who this device let in) and the *queue*
// of scans made offline, each with its nonce. A scan leaves the queue only
// when the server has answered it: a reload mid-sync sends it again, and
// its nonce makes the server answer the first result without counting twice.
import { openDB } from "idb";
import { ATTENDANCE_URL, allPages, onForget, query } from "../api.js";
import { REGISTRANTS, REVOKED } from "../queries.js";
import { readTicket, signedByUs } from "./ticket.js";

const database = openDB("titiktemu-door", 1, {
  upgrade(db) {
    db.createObjectStore("packs", { keyPath: "eventId" });
    db.createObjectStore("queue", { keyPath: "nonce" }).createIndex("event", "eventId");
    db.createObjectStore("refused", { keyPath: "nonce" }).createIndex("event", "eventId");
  },
});

// What a door keeps is its user's: gone when they sign out or someone else signs in.
onForget(async () => {
  const db = await database;
  await Promise.all(["packs", "queue", "refused"].map((store) => db.clear(store)));
});

/** Scans waiting to be sent, for every event. */
export const waitingEverywhere = async () => (await database).count("queue");

/** The pack kept for `eventId`, or null. */
export const keptPack = async (eventId) => (await (await database).get("packs", eventId)) ?? null;
const keepPack = async (pack) => (await database).put("packs", pack);

/** Fetches (or tops up) the event's pack from the services and keeps it. */
export async function refreshPack(eventId, title) {
  // A door's queue must survive the browser's housekeeping: ask for storage that is not evicted.
  navigator.storage?.persist?.().catch(() => {});
  const old = await keptPack(eventId);
  const keys = await fetch(`${ATTENDANCE_URL}/.well-known/ticket-keys.json`).then((r) => {
    if (!r.ok) throw new Error(`ticket keys: ${r.status}`);
    return r.json();
  });
  const nodes = await allPages(async (after) => (await query(REGISTRANTS, { e: eventId, after })).event.registrations);
  const people = {};
  const names = {};
  for (const r of nodes) {
    names[r.userId] = r.user?.name ?? null;
    if (r.ticketId) people[r.ticketId] = { userId: r.userId, name: r.user?.name ?? null };
  }
  // Revocations only accumulate: ask for those after the newest kept, from a
  // few minutes earlier (a revocation committed late carries an earlier time;
  // the set drops the repeats).
  const revoked = new Set(old?.revoked ?? []);
  const overlap = (iso) => (iso ? new Date(new Date(iso).getTime() - 5 * 60000).toISOString() : null);
  let since = overlap(old?.revokedSince);
  for (;;) {
    const { event } = await query(REVOKED, { e: eventId, since });
    for (const t of event.revokedTickets) revoked.add(t.ticketId);
    if (event.revokedTickets.length) since = event.revokedTickets.at(-1).revokedAt;
    if (event.revokedTickets.length < 1000) break;
  }
  // Who this device let in may have changed while the network answered: the latest wins.
  const latest = await keptPack(eventId);
  const pack = {
    eventId,
    title: title ?? old?.title,
    keys,
    people,
    names,
    revoked: [...revoked],
    revokedSince: since,
    inside: latest?.inside ?? {},
    savedAt: new Date().toISOString(),
  };
  await keepPack(pack);
  return pack;
}

/** Remembers that this device saw `key` (a person's id, or a ticket's id when the pack has no holder) go in or out. */
export async function noteDirection(pack, key, direction) {
  pack.inside[key] = direction === "ENTRY";
  await keepPack(pack);
}

/**
 * The door's verdict without the server: the ticket's signature, event,
 * validity and revocation, and whether this device already let it in.
 * `{ code, name, key }`: code `OK` or the error code the server would answer.
 */
export async function offlineVerdict(pack, scanned, direction) {
  if (scanned.userId) {
    const key = scanned.userId;
    return insideVerdict(pack, key, direction, pack.names[key] ?? null);
  }
  const ticket = readTicket(scanned.ticket);
  if (!ticket || !(await signedByUs(ticket, pack.keys)) || ticket.validUntil < new Date()) return { code: "TICKET_INVALID" };
  const holder = pack.people[ticket.ticketId];
  const name = holder?.name ?? null;
  if (ticket.eventId !== pack.eventId) return { code: "TICKET_WRONG_EVENT", name };
  if (pack.revoked.includes(ticket.ticketId)) return { code: "TICKET_REVOKED", name };
  return insideVerdict(pack, holder?.userId ?? ticket.ticketId, direction, name);
}

function insideVerdict(pack, key, direction, name) {
  const inside = pack.inside[key] === true;
  if (direction === "ENTRY" && inside) return { code: "ALREADY_CHECKED_IN", name, key };
  if (direction === "EXIT" && !inside) return { code: "NOT_INSIDE", name, key };
  return { code: "OK", name, key };
}

/** Queues an offline scan: `{ nonce, eventId, ticket | userId, direction, scannedAt, localCode, name }`. */
export const queueScan = async (scan) => (await database).put("queue", scan);

/** The scans waiting for `eventId`, oldest first. */
export async function waiting(eventId) {
  const scans = await (await database).getAllFromIndex("queue", "event", eventId);
  return scans.sort((a, b) => a.scannedAt.localeCompare(b.scannedAt));
}

/** Scans the server refused although this device let them through. */
export const refusedOnSync = async (eventId) => (await database).getAllFromIndex("refused", "event", eventId);

/**
 * Uploads the waiting scans (`upload(batch)` answers the server's results in
 * order) and takes each answered one off the queue; those the server refused
 * although the device admitted them are kept to show. Answers how many were sent.
 */
export async function syncQueue(eventId, upload) {
  const scans = await waiting(eventId);
  for (let i = 0; i < scans.length; i += 500) {
    const batch = scans.slice(i, i + 500);
    const results = await upload(batch.map(({ nonce, ticket, userId, direction, scannedAt }) => ({ nonce, ticket, userId, direction, scannedAt })));
    const db = await database;
    const tx = db.transaction(["queue", "refused"], "readwrite");
    batch.forEach((scan, n) => {
      const status = results[n]?.status;
      if (status !== "OK" && scan.localCode === "OK") tx.objectStore("refused").put({ ...scan, status });
      tx.objectStore("queue").delete(scan.nonce);
    });
    await tx.done;
  }
  return scans.length;
}
