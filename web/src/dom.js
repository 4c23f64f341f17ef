// A few lines instead of a framework: elements from tags, attributes and children.

/** `h("button", { onclick, class: "big" }, "Go")`: an element (strings become text). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value == null) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c != null && c !== false));
  return element;
}

/** Replaces what `parent` shows. */
export const show = (parent, ...children) => parent.replaceChildren(...children.flat().filter(Boolean));

/** A form's fields as an object of strings (checkboxes as booleans). */
export function fields(form) {
  const values = {};
  for (const element of form.elements) {
    if (!element.name) continue;
    values[element.name] = element.type === "checkbox" ? element.checked : element.value.trim();
  }
  return values;
}

/** A line saying what went wrong (or nothing). */
export const message = (refusal) => h("p", { class: "message", role: "alert" }, refusal ? refusal.words : "");

/** A date-time input's value for an ISO instant (local time), and back. */
export const toLocalInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};
export const fromLocalInput = (value) => (value ? new Date(value).toISOString() : null);
export const when = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "");
export const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "");
