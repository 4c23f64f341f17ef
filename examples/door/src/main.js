import { CHECK_IN, DOOR, LOGIN, MY_EVENTS, UPDATES, client, setToken } from "./api.js";
import { inWords } from "./errors.js";

const $ = (id) => document.getElementById(id);
let watching = null; // the live subscription of the chosen event
let eventId = null;

$("sign-in").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  $("sign-in-message").textContent = "";
  try {
    const { data } = await client.mutate({
      mutation: LOGIN,
      variables: { input: { email: form.get("email"), password: form.get("password") } },
    });
    setToken(data.login.token);
    $("who").textContent = data.login.user.name ?? data.login.user.email;
    $("sign-in").hidden = true;
    $("door").hidden = false;
    await listEvents(data.login.user.id);
  } catch (error) {
    const { code, words } = inWords(error);
    $("sign-in-message").textContent = code === "UNAUTHENTICATED" ? "Wrong email or password." : words;
  }
});

async function listEvents(me) {
  const { data } = await client.query({ query: MY_EVENTS, variables: { me }, fetchPolicy: "network-only" });
  for (const event of data.events.nodes) {
    const option = document.createElement("option");
    option.value = event.id;
    option.textContent = `${event.title} (${new Date(event.startTime).toLocaleString()})`;
    $("event").append(option);
  }
}

$("event").addEventListener("change", (e) => choose(e.target.value));
$("event-id").addEventListener("change", (e) => choose(e.target.value.trim()));

function choose(id) {
  watching?.unsubscribe();
  eventId = id || null;
  showCounts(null);
  $("door-list").replaceChildren();
  $("result").textContent = "";
  if (!eventId) return;
  refreshDoor();
  // The first message is the current state; then one per change.
  $("live-state").textContent = "connecting…";
  watching = client.subscribe({ query: UPDATES, variables: { e: eventId } }).subscribe({
    next: ({ data, error }) => {
      if (error) return watchFailed(error);
      $("live-state").textContent = "live";
      showCounts(data.attendanceUpdates.stats);
      if (data.attendanceUpdates.scan) refreshDoor();
    },
    error: watchFailed,
  });
}

function watchFailed(error) {
  $("live-state").textContent = `not live: ${inWords(error).words}`;
}

async function refreshDoor() {
  try {
    const { data } = await client.query({ query: DOOR, variables: { e: eventId }, fetchPolicy: "network-only" });
    showCounts(data.attendanceStats);
    $("door-list").replaceChildren(
      ...data.eventAttendance.nodes.map((a) => {
        const row = document.createElement("tr");
        const who = document.createElement("td");
        who.textContent = a.user?.name ?? a.userId;
        const when = document.createElement("td");
        when.textContent = new Date(a.checkInTime).toLocaleTimeString();
        row.append(who, when);
        return row;
      }),
    );
  } catch (error) {
    showResult(false, inWords(error));
  }
}

function showCounts(stats) {
  $("inside-now").textContent = stats?.insideNow ?? "–";
  $("total").textContent = stats?.totalAttendees ?? "–";
}

function showResult(ok, text) {
  $("result").className = `result ${ok ? "ok" : "refused"}`;
  $("result").textContent = ok ? text : `Refused: ${text.words} (${text.code})`;
}

$("scan").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!eventId) return showResult(false, { words: "Choose an event first.", code: "NO_EVENT" });
  const userId = $("attendee").value.trim();
  const direction = $("direction").value;
  try {
    const { data } = await client.mutate({ mutation: CHECK_IN, variables: { input: { eventId, userId, direction } } });
    const who = data.checkIn.user?.name ?? data.checkIn.userId;
    showResult(true, direction === "EXIT" ? `${who} left.` : `${who} is in.`);
    $("attendee").value = "";
    refreshDoor();
  } catch (error) {
    showResult(false, inWords(error));
  }
});
