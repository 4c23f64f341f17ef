// An event's details form, for a new event and for editing one.
import { fromLocalInput, h, toLocalInput } from "../dom.js";

/** The fields, filled from `event` (or empty). */
export function detailsForm(event) {
  const field = (label, name, attributes = {}) => h("label", {}, label, h("input", { name, ...attributes }));
  return [
    field("Title", "title", { required: true, maxlength: 200, value: event?.title ?? "" }),
    h("label", {}, "Description", h("textarea", { name: "description", rows: 3 }, event?.description ?? "")),
    h(
      "div",
      { class: "row" },
      field("Starts", "startTime", { type: "datetime-local", required: true, value: toLocalInput(event?.startTime) }),
      field("Ends", "endTime", { type: "datetime-local", required: true, value: toLocalInput(event?.endTime) }),
    ),
    field("Location", "location", { value: event?.location ?? "" }),
    h(
      "div",
      { class: "row" },
      field("Capacity (empty: no limit)", "capacity", { type: "number", min: 1, value: event?.capacity ?? "" }),
      field("Time zone", "timezone", { value: event?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone }),
    ),
  ];
}

/** The form's values as `CreateEventInput` / `UpdateEventInput`. */
export function eventInput(values) {
  return {
    title: values.title,
    description: values.description || null,
    startTime: fromLocalInput(values.startTime),
    endTime: fromLocalInput(values.endTime),
    location: values.location || null,
    timezone: values.timezone || null,
    capacity: values.capacity ? Number(values.capacity) : null,
  };
}
