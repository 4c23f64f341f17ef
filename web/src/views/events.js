// Upcoming events (search, paging) and one event's page, where a person
// registers, sees where their registration stands, and cancels.
import { CANCEL_REGISTRATION, EVENT_PAGE, MY_REGISTRATIONS, REGISTER_FOR_EVENT, UPCOMING } from "../queries.js";
import { Refused, currentSession, mutate, query } from "../api.js";
import { h, message, show, when } from "../dom.js";
import { keepTickets } from "./tickets.js";

/** The list of upcoming events, 12 a page, searchable by title. */
export async function eventsScreen() {
  const list = h("div", { class: "grid", id: "event-list" });
  const more = h("button", { class: "secondary", hidden: true }, "More events");
  const status = message();
  let search = "";
  let after = null;
  const load = async (append) => {
    try {
      const filter = { from: new Date().toISOString(), status: "SCHEDULED", search: search || null };
      const { events } = await query(UPCOMING, { filter, after: append ? after : null });
      const cards = events.nodes.map(eventCard);
      if (append) list.append(...cards);
      else show(list, cards.length ? cards : h("p", {}, "No upcoming events match."));
      after = events.pageInfo.endCursor;
      more.hidden = !events.pageInfo.hasNextPage;
      show(status, "");
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  more.addEventListener("click", () => load(true));
  let typing = null;
  const input = h("input", {
    type: "search",
    id: "search",
    placeholder: "Search events",
    "aria-label": "Search events",
    oninput: (e) => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        search = e.target.value.trim();
        load(false);
      }, 250);
    },
  });
  await load(false);
  return { element: h("section", {}, h("div", { class: "row spread" }, h("h1", {}, "Upcoming events"), input), status, list, more) };
}

function eventCard(event) {
  const left = event.registrationSummary?.remaining;
  return h(
    "a",
    { class: "card event", href: `#/events/${event.id}`, dataset: { event: event.id } },
    h("h2", {}, event.title),
    h("p", { class: "when" }, when(event.startTime)),
    event.location && h("p", {}, event.location),
    left != null && h("p", { class: left > 0 ? "ok" : "warn" }, left > 0 ? `${left} places left` : "Full"),
  );
}

const STANDING = {
  CONFIRMED: "You are registered: your ticket is under My tickets.",
  WAITLISTED: "You are on the waitlist",
  PENDING_APPROVAL: "Your request waits for the organizer's approval.",
  DECLINED: "The organizer declined your request.",
  CANCELLED: "You cancelled this registration.",
};

/** One event: what, when, where, places left, and the reader's registration. */
export async function eventScreen(id) {
  const status = message();
  const mine = h("div", { id: "my-registration" });
  let data;
  try {
    data = await query(EVENT_PAGE, { id });
  } catch (refusal) {
    return { element: h("section", { class: "card" }, message(refusal)) };
  }
  const event = data.event;
  if (!event) return { element: h("section", { class: "card" }, h("p", {}, "No such event.")) };
  const summary = h("p", { id: "places" });
  const showSummary = (s) =>
    show(
      summary,
      s.remaining == null ? `${s.confirmed} registered` : `${s.remaining} of ${s.capacity} places left`,
      s.waitlisted ? ` · ${s.waitlisted} waiting` : "",
    );
  showSummary(event.registrationSummary);

  const showMine = (registration) => {
    const actions = [];
    const open = event.registrationPolicy.mode !== "CLOSED" && event.status === "SCHEDULED";
    if (!registration || registration.status === "CANCELLED" || registration.status === "DECLINED") {
      if (open) actions.push(h("button", { id: "register", onclick: register }, event.registrationPolicy.mode === "APPROVAL" ? "Ask to attend" : "Register"));
      else actions.push(h("p", {}, "Registration is closed."));
    } else {
      actions.push(h("button", { class: "secondary", id: "cancel", onclick: () => cancel(registration) }, "Cancel my registration"));
    }
    if (registration?.status === "CONFIRMED") actions.unshift(h("a", { class: "button", href: "#/tickets" }, "Show my ticket"));
    let standing = registration ? STANDING[registration.status] : null;
    if (registration?.status === "WAITLISTED") standing += `: number ${registration.waitlistPosition} in line.`;
    show(mine, standing && h("p", { class: "standing", dataset: { status: registration.status } }, standing), h("div", { class: "row" }, actions));
  };
  const refresh = async () => {
    if (!currentSession()) return show(mine, h("a", { class: "button", href: "#/account" }, "Sign in to register"));
    const { me } = await query(MY_REGISTRATIONS);
    keepTickets(me.registrations.nodes);
    showMine(me.registrations.nodes.find((r) => r.eventId === id));
    const { event: fresh } = await query(EVENT_PAGE, { id });
    showSummary(fresh.registrationSummary);
  };
  const act = async (work) => {
    show(status, "");
    try {
      await work();
      await refresh();
    } catch (refusal) {
      if (!(refusal instanceof Refused)) throw refusal;
      show(status, refusal.words);
    }
  };
  const register = () => act(() => mutate(REGISTER_FOR_EVENT, { e: id }));
  const cancel = (registration) => act(() => mutate(CANCEL_REGISTRATION, { id: registration.id }));
  await refresh().catch((refusal) => show(status, refusal.words));
  return {
    element: h(
      "section",
      { class: "card", id: "event-page" },
      h("h1", {}, event.title),
      h("p", { class: "when" }, `${when(event.startTime)} – ${when(event.endTime)}`),
      event.location && h("p", {}, event.location),
      event.organizer && h("p", {}, `Organized by ${event.organizer.name ?? "someone"}`),
      event.description && h("p", { class: "description" }, event.description),
      event.status === "CANCELLED" && h("p", { class: "warn" }, "This event was cancelled."),
      summary,
      mine,
      status,
    ),
  };
}
