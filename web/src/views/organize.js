// The organizer's screens: their events and a new one; one event's page
// with its settings, people, live view and logs.
import { CREATE_EVENT, MANAGE, MY_EVENTS, UPDATE_EVENT } from "../queries.js";
import { Refused, currentSession, mutate, query } from "../api.js";
import { fields, h, message, show, when } from "../dom.js";
import { detailsForm, eventInput } from "../organize/details.js";
import { checkInPolicyForm, registrationPolicyForm } from "../organize/policies.js";
import { registrationsSection, requestsSection, staffSection } from "../organize/people.js";
import { liveSection, scanLogSection } from "../organize/live.js";

export async function organizeScreen(eventId) {
  return eventId ? manage(eventId) : myEvents();
}

async function myEvents() {
  const status = message();
  let events = [];
  try {
    events = (await query(MY_EVENTS, { me: currentSession().user.id })).events.nodes;
  } catch (refusal) {
    show(status, refusal.words);
  }
  const create = async (e) => {
    e.preventDefault();
    const values = fields(e.target);
    try {
      const input = eventInput(values);
      if (!input.title || !input.startTime || !input.endTime) throw new Refused("BAD_USER_INPUT", "A title, a start and an end, please.");
      const { createEvent } = await mutate(CREATE_EVENT, { input });
      window.location.hash = `#/organize/${createEvent.id}`;
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  const list = events.map((e) =>
    h("li", {}, h("a", { href: `#/organize/${e.id}`, dataset: { event: e.id } }, e.title), " ", h("span", { class: "when" }, when(e.startTime)), e.status === "CANCELLED" && h("span", { class: "warn" }, " cancelled")),
  );
  return {
    element: h(
      "section",
      { class: "columns" },
      h("div", { class: "card" }, h("h1", {}, "My events"), list.length ? h("ul", { class: "doors" }, list) : h("p", {}, "None yet: create one.")),
      h("form", { class: "card", id: "new-event", onsubmit: create }, h("h2", {}, "New event"), detailsForm(null), h("button", { type: "submit" }, "Create event"), status),
    ),
  };
}

async function manage(eventId) {
  let event;
  try {
    event = (await query(MANAGE, { e: eventId })).event;
  } catch (refusal) {
    return { element: h("section", { class: "card" }, message(refusal)) };
  }
  if (!event) return { element: h("section", { class: "card" }, h("p", {}, "No such event.")) };
  const scans = new EventTarget(); // the live view tells the scan log of each scan
  const live = liveSection(event, scans);
  const element = h(
    "section",
    { class: "manage", id: "manage" },
    h("div", { class: "row spread" }, h("h1", {}, event.title), h("a", { class: "button", href: `#/door/${event.id}` }, "Open the door")),
    live.element,
    h("div", { class: "columns" }, detailsCard(event), registrationPolicyForm(event), checkInPolicyForm(event)),
    h("div", { class: "columns" }, requestsSection(event), staffSection(event)),
    registrationsSection(event),
    scanLogSection(event, scans),
  );
  return { element, stop: live.stop };
}

function detailsCard(event) {
  const status = message();
  const save = async (e) => {
    e.preventDefault();
    try {
      await mutate(UPDATE_EVENT, { id: event.id, input: eventInput(fields(e.target)) });
      show(status, "Saved.");
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  return h("form", { class: "card", id: "event-details", onsubmit: save }, h("h2", {}, "Details"), detailsForm(event), h("button", { type: "submit" }, "Save"), status);
}
