// The app's shell: one page, screens by the address's hash, so any screen
// can be bookmarked and a reload lands where it was.
import { currentSession, forgetDevice, onSession, setSession } from "./api.js";
import { waitingEverywhere } from "./door/offline.js";
import { h, show } from "./dom.js";
import { keepLoadedFiles } from "./keep.js";
import { accountScreen } from "./views/account.js";
import { doorScreen } from "./views/door.js";
import { eventScreen, eventsScreen } from "./views/events.js";
import { organizeScreen } from "./views/organize.js";
import { ticketsScreen } from "./views/tickets.js";

const view = document.getElementById("view");
let leave = null; // what the current screen stops when we go elsewhere (subscriptions, camera)
let shown = 0; // the latest screen asked for: a slower earlier one is dropped

/** Screens by the hash's first part; those marked signed-in ask for an account first. */
const SCREENS = {
  events: { render: (id) => (id ? eventScreen(id) : eventsScreen()) },
  tickets: { render: () => ticketsScreen(), signedIn: true },
  door: { render: (id) => doorScreen(id), signedIn: true },
  organize: { render: (id) => organizeScreen(id), signedIn: true },
  account: { render: () => accountScreen() },
};

async function route() {
  const [name, id] = window.location.hash.replace(/^#\/?/, "").split("/");
  const screen = SCREENS[name] ?? SCREENS.events;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("here", link.getAttribute("href") === `#/${name}`);
  }
  leave?.();
  leave = null;
  if (screen.signedIn && !currentSession()) {
    show(view, accountScreen(window.location.hash).element);
    return;
  }
  const asked = ++shown;
  const { element, stop } = await screen.render(id ? decodeURIComponent(id) : null);
  if (asked !== shown) return stop?.();
  show(view, element);
  leave = stop ?? null;
}

function showAccount(session) {
  const account = document.getElementById("account");
  if (!session) return show(account, h("a", { href: "#/account" }, "Sign in"));
  show(
    account,
    h("span", { class: "who", title: `Your id: ${session.user.id}` }, session.user.name ?? session.user.email),
    h("button", { class: "link", id: "sign-out", onclick: signOut }, "Sign out"),
  );
}

/** Signs out and forgets what this device kept (after asking, if scans have not been sent). */
async function signOut() {
  const waiting = await waitingEverywhere();
  if (waiting && !window.confirm(`${waiting} scans have not reached the server: signing out forgets them. Sign out?`)) return;
  await forgetDevice();
  setSession(null);
}

function showNetwork() {
  document.getElementById("network").hidden = navigator.onLine;
}

onSession((session) => {
  showAccount(session);
  route();
});
window.addEventListener("hashchange", route);
window.addEventListener("online", showNetwork);
window.addEventListener("offline", showNetwork);
showAccount(currentSession());
showNetwork();
route();

// The built app keeps its own files for offline reloads (not in `npm run dev`).
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  navigator.serviceWorker
    .register("./sw.js")
    .then(() => navigator.serviceWorker.ready)
    .then(keepLoadedFiles)
    .catch(() => {});
}
