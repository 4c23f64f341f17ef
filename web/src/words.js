// The API's error codes (`extensions.code`), in words a person reads.
const WORDS = {
  UNAUTHENTICATED: "You are signed out: sign in again.",
  FORBIDDEN: "You may not do that here: ask the event's organizer.",
  BAD_USER_INPUT: null, // the service's own message says what was wrong
  NOT_FOUND: "Not found.",
  EMAIL_TAKEN: "That email already has an account: sign in instead.",
  ALREADY_CHECKED_IN: "Already inside.",
  NOT_INSIDE: "Not inside, so they cannot leave.",
  EVENT_FULL: "Full: no places left.",
  EVENT_CANCELLED: "The event was cancelled.",
  CHECKIN_CLOSED: "The door is not open for this event (yet, or any more).",
  TICKET_INVALID: "Not a valid ticket.",
  TICKET_REVOKED: "Revoked ticket: it was cancelled or replaced.",
  TICKET_WRONG_EVENT: "Ticket for another event.",
  NOT_REGISTERED: "Not registered for this event.",
  REGISTRATION_CLOSED: "Registration is closed.",
  TOO_MANY_REQUESTS: "Too many tries: wait a moment.",
  SERVICE_UNAVAILABLE: "The service is busy: try again in a moment.",
  QUERY_TOO_COMPLEX: "The request was too large.",
  INTERNAL_SERVER_ERROR: "Something went wrong on our side: try again.",
  NETWORK: "The server cannot be reached: check the connection.",
};

/** A code in words (the service's message where the code alone says too little). */
export const inWords = (code, message) => WORDS[code] ?? message ?? code;
