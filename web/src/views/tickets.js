// The attendee's tickets: each confirmed registration's QR code, big and on
// white, kept on the device after the first view so that it still shows at
// a door without a network.
import QRCode from "qrcode";
import { MY_REGISTRATIONS } from "../queries.js";
import { currentSession, query } from "../api.js";
import { h, message, show, when } from "../dom.js";

const kept = () => `titiktemu.tickets.${currentSession()?.user.id}`;

/** Keeps the signed-in person's registrations (with their tickets) on this device. */
export function keepTickets(registrations) {
  localStorage.setItem(kept(), JSON.stringify({ savedAt: new Date().toISOString(), registrations }));
}

export async function ticketsScreen() {
  let registrations;
  let note = null;
  try {
    const { me } = await query(MY_REGISTRATIONS);
    registrations = me.registrations.nodes;
    keepTickets(registrations);
  } catch (refusal) {
    const saved = JSON.parse(localStorage.getItem(kept()) ?? "null");
    if (refusal.code !== "NETWORK" || !saved) return { element: h("section", { class: "card" }, message(refusal)) };
    registrations = saved.registrations;
    note = h("p", { class: "warn", id: "tickets-offline" }, `Offline: tickets as saved on this device at ${when(saved.savedAt)}.`);
  }
  const live = registrations.filter((r) => ["CONFIRMED", "WAITLISTED", "PENDING_APPROVAL"].includes(r.status));
  const cards = await Promise.all(live.map(ticketCard));
  return {
    element: h(
      "section",
      {},
      h("h1", {}, "My tickets"),
      note,
      cards.length ? h("div", { class: "tickets" }, cards) : h("p", {}, "No registrations yet: find an event under Events."),
    ),
  };
}

async function ticketCard(registration) {
  const event = registration.event ?? {};
  const head = [h("h2", {}, event.title ?? "An event"), h("p", { class: "when" }, when(event.startTime)), event.location && h("p", {}, event.location)];
  if (registration.status !== "CONFIRMED" || !registration.ticket) {
    const words = registration.status === "WAITLISTED" ? `Waitlisted: number ${registration.waitlistPosition} in line.` : "Waiting for the organizer's approval.";
    return h("article", { class: "card ticket", dataset: { registration: registration.id } }, head, h("p", { class: "standing" }, words));
  }
  const svg = await QRCode.toString(registration.ticket.secret, { type: "svg", errorCorrectionLevel: "M", margin: 3, color: { dark: "#000", light: "#fff" } });
  const code = h("div", { class: "qr", role: "img", "aria-label": "Ticket QR code", dataset: { ticket: registration.ticket.id } });
  code.innerHTML = svg; // produced by the qrcode library from the ticket's secret, not from user input
  return h(
    "article",
    { class: "card ticket", dataset: { registration: registration.id } },
    head,
    code,
    h("p", { class: "hint" }, "Show this at the door. Turn the screen's brightness up."),
  );
}
