// The people of an event: requests to approve, check-in staff, and the
// registrations (with emails: the organizer's to see), downloadable as CSV.
import { ADD_STAFF, APPROVE, DECLINE, REGISTRATIONS, REMOVE_STAFF } from "../queries.js";
import { allPages, mutate, query } from "../api.js";
import { h, message, show, when } from "../dom.js";
import { download, toCsv } from "./csv.js";

export function requestsSection(event) {
  const list = h("ul", { class: "people", id: "requests" });
  const status = message();
  const decide = async (mutation, registration, row) => {
    try {
      await mutate(mutation, { id: registration.id });
      row.remove();
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  show(
    list,
    event.pending.nodes.map((r) => {
      const row = h("li", {}, `${r.user?.name ?? "someone"} <${r.user?.email ?? "?"}> `, h("span", { class: "when" }, when(r.createdAt)));
      row.append(
        h("button", { class: "small", onclick: () => decide(APPROVE, r, row) }, "Approve"),
        h("button", { class: "small secondary", onclick: () => decide(DECLINE, r, row) }, "Decline"),
      );
      return row;
    }),
  );
  return h("div", { class: "card" }, h("h2", {}, "Requests"), event.pending.nodes.length ? list : h("p", {}, "No requests waiting."), status);
}

export function staffSection(event) {
  const list = h("ul", { class: "people", id: "staff" });
  const status = message();
  const showStaff = (staff) =>
    show(list, staff.map((u) => h("li", {}, u.name ?? u.id, " ", h("button", { class: "small secondary", onclick: () => change(REMOVE_STAFF, u.id) }, "Remove"))));
  const change = async (mutation, userId) => {
    try {
      const data = await mutate(mutation, { e: event.id, u: userId });
      showStaff(data.addCheckInStaff ?? data.removeCheckInStaff);
      show(status, "");
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  showStaff(event.checkInStaff);
  const add = (e) => {
    e.preventDefault();
    const input = e.target.elements.userId;
    change(ADD_STAFF, input.value.trim()).then(() => (input.value = ""));
  };
  return h(
    "div",
    { class: "card" },
    h("h2", {}, "Check-in staff"),
    list,
    h(
      "form",
      { class: "row", id: "add-staff", onsubmit: add },
      h("input", { name: "userId", placeholder: "Their user id (they find it under their name, top right)", required: true }),
      h("button", { type: "submit" }, "Add"),
    ),
    status,
  );
}

const REGISTRATION_HEADER = ["name", "email", "status", "registered at", "waitlist position", "ticket id"];
const registrationRow = (r) => [r.user?.name, r.user?.email, r.status, r.createdAt, r.waitlistPosition, r.ticketId];

export function registrationsSection(event) {
  const body = h("tbody", { id: "registrations" });
  const total = h("span", {}, "");
  const status = message();
  const fetchAll = () => allPages(async (after) => (await query(REGISTRATIONS, { e: event.id, after })).event.registrations);
  const load = async () => {
    try {
      const { registrations } = (await query(REGISTRATIONS, { e: event.id, after: null })).event;
      show(total, ` (${registrations.totalCount})`);
      show(body, registrations.nodes.map((r) => h("tr", {}, registrationRow(r).slice(0, 4).map((v, i) => h("td", {}, i === 3 ? when(v) : (v ?? ""))))));
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  const csv = async () => {
    try {
      download(`registrations-${event.id}.csv`, toCsv(REGISTRATION_HEADER, (await fetchAll()).map(registrationRow)));
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  load();
  return h(
    "div",
    { class: "card" },
    h("div", { class: "row spread" }, h("h2", {}, "Registrations", total), h("button", { class: "secondary", id: "registrations-csv", onclick: csv }, "Download CSV")),
    h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["Name", "Email", "Status", "Registered"].map((t) => h("th", {}, t)))), body)),
    status,
  );
}
