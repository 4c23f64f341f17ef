// How an event takes registrations, and how its door works.
import { SET_CHECK_IN_POLICY, SET_REGISTRATION_POLICY } from "../queries.js";
import { mutate } from "../api.js";
import { fields, fromLocalInput, h, message, show, toLocalInput } from "../dom.js";

const check = (label, name, checked) => h("label", { class: "check" }, h("input", { type: "checkbox", name, checked }), label);

/** A form that saves with `save(values)` and says so. */
function settingsForm(id, title, children, save) {
  const status = message();
  const submit = async (e) => {
    e.preventDefault();
    try {
      await save(fields(e.target));
      show(status, "Saved.");
    } catch (refusal) {
      show(status, refusal.words);
    }
  };
  return h("form", { class: "card", id, onsubmit: submit }, h("h2", {}, title), children, h("button", { type: "submit" }, "Save"), status);
}

export function registrationPolicyForm(event) {
  const policy = event.registrationPolicy;
  const modes = [
    ["OPEN", "Open: places in arrival order"],
    ["APPROVAL", "Approval: I approve each request"],
    ["CLOSED", "Closed"],
  ];
  return settingsForm(
    "registration-policy",
    "Registration",
    [
      h("label", {}, "Mode", h("select", { name: "mode" }, modes.map(([v, label]) => h("option", { value: v, selected: v === policy.mode }, label)))),
      h("label", {}, "Places (empty: the event's capacity)", h("input", { name: "capacity", type: "number", min: 0, value: policy.capacity ?? "" })),
      check("Keep a waitlist when full", "waitlist", policy.waitlist),
      check("Admit ticket holders only", "requireTicket", policy.requireTicket),
    ],
    (v) =>
      mutate(SET_REGISTRATION_POLICY, {
        e: event.id,
        input: { mode: v.mode, capacity: v.capacity === "" ? null : Number(v.capacity), waitlist: v.waitlist, requireTicket: v.requireTicket },
      }),
  );
}

export function checkInPolicyForm(event) {
  const policy = event.checkInPolicy;
  return settingsForm(
    "check-in-policy",
    "Door",
    [
      check("Let people back in after they leave", "allowReentry", policy.allowReentry),
      check("Let people in again while inside", "allowMultipleEntries", policy.allowMultipleEntries),
      h("label", {}, "Everyone out at (empty: never)", h("input", { name: "exitAllAt", type: "datetime-local", value: toLocalInput(policy.exitAllAt) })),
    ],
    (v) =>
      mutate(SET_CHECK_IN_POLICY, {
        e: event.id,
        input: { allowReentry: v.allowReentry, allowMultipleEntries: v.allowMultipleEntries, exitAllAt: fromLocalInput(v.exitAllAt) },
      }),
  );
}
