// Sign in and sign up: one form, two buttons.
import { LOGIN, REGISTER } from "../queries.js";
import { Refused, mutate, setSession } from "../api.js";
import { fields, h, message, show } from "../dom.js";

/** The account screen; after signing in, goes to `next` (a hash) or the events. */
export function accountScreen(next = "#/events") {
  const status = message();
  const submit = async (event) => {
    event.preventDefault();
    const signUp = event.submitter?.value === "sign-up";
    const { email, password, name } = fields(event.target);
    show(status, "");
    try {
      const data = signUp
        ? await mutate(REGISTER, { input: { email, password, name: name || null } })
        : await mutate(LOGIN, { input: { email, password } });
      const { token, user } = signUp ? data.register : data.login;
      if (window.location.hash !== next) window.location.hash = next;
      setSession({ token, user });
    } catch (refusal) {
      if (!(refusal instanceof Refused)) throw refusal;
      const words = !signUp && refusal.code === "UNAUTHENTICATED" ? "Wrong email or password." : refusal.words;
      show(status, words);
    }
  };
  const element = h(
    "form",
    { class: "card narrow", id: "sign-in", onsubmit: submit },
    h("h1", {}, "Sign in or sign up"),
    h("label", {}, "Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    h(
      "label",
      {},
      "Password (8 characters or more)",
      h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, minlength: 8 }),
    ),
    h("label", {}, "Name (to sign up; shown to organizers and at the door)", h("input", { name: "name", autocomplete: "name" })),
    h(
      "div",
      { class: "row" },
      h("button", { type: "submit", value: "sign-in" }, "Sign in"),
      h("button", { type: "submit", value: "sign-up", class: "secondary" }, "Sign up"),
    ),
    status,
  );
  return { element };
}
