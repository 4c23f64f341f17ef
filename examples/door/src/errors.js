// The API's error codes (`extensions.code`), in words a door volunteer reads.
const WORDS = {
  UNAUTHENTICATED: "You are signed out: sign in again.",
  FORBIDDEN: "You may not scan at this event: ask its organizer to add you as staff.",
  BAD_USER_INPUT: "That does not look like an attendee id.",
  NOT_FOUND: "No such attendee or event.",
  ALREADY_CHECKED_IN: "Already checked in.",
  NOT_INSIDE: "Not inside, so they cannot leave.",
  EVENT_FULL: "The event is full.",
  EVENT_CANCELLED: "The event was cancelled.",
  CHECKIN_CLOSED: "Check-in is not open for this event (yet, or any more).",
  TOO_MANY_REQUESTS: "Too many tries: wait a moment.",
  SERVICE_UNAVAILABLE: "The service is busy: try again in a moment.",
  QUERY_TOO_COMPLEX: "The request was too large.",
  INTERNAL_SERVER_ERROR: "Something went wrong on our side: try again.",
};

/** The first GraphQL error's code, in words (and the code, for support). */
export function inWords(error) {
  const graphqlErrors = error?.errors ?? [];
  const first = graphqlErrors[0];
  const code = first?.extensions?.code;
  if (code) return { code, words: WORDS[code] ?? first.message };
  return { code: "NETWORK", words: "The server cannot be reached: check the connection." };
}
