// A ticket's secret, read as the attendance service writes it
// (`subgraphs/attendance/src/domain/tickets.rs`): `TT1` + base32 (RFC 4648,
// no padding) of a 41-byte payload and its 64-byte Ed25519 signature. The
// payload: format version (1), signing key id (4), ticket id (16), event id
// (16), valid until in Unix seconds (4, big-endian). Nothing personal.
const PREFIX = "TT1";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const PAYLOAD_BYTES = 41;
const SECRET_BYTES = PAYLOAD_BYTES + 64;

function base32(text) {
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return null;
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 0xff);
    }
  }
  return Uint8Array.from(bytes);
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const uuid = (bytes) => {
  const x = hex(bytes);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
};

/** The ticket a scanned text holds, or null when it is not one. */
export function readTicket(text) {
  // As the service reads it: any case, exactly 105 bytes (168 base32 characters).
  const trimmed = text.trim().toUpperCase();
  if (!trimmed.startsWith(PREFIX) || trimmed.length !== PREFIX.length + (SECRET_BYTES * 8) / 5) return null;
  const bytes = base32(trimmed.slice(PREFIX.length));
  if (!bytes || bytes.length !== SECRET_BYTES || bytes[0] !== 1) return null;
  const payload = bytes.slice(0, PAYLOAD_BYTES);
  const seconds = new DataView(payload.buffer).getUint32(37);
  return {
    secret: trimmed,
    keyId: hex(payload.slice(1, 5)),
    ticketId: uuid(payload.slice(5, 21)),
    eventId: uuid(payload.slice(21, 37)),
    validUntil: new Date(seconds * 1000),
    payload,
    signature: bytes.slice(PAYLOAD_BYTES),
  };
}

/** Whether a ticket's signature checks out with one of the published keys (JWKS). */
export async function signedByUs(ticket, jwks) {
  const jwk = jwks?.keys?.find((key) => key.kid === ticket.keyId);
  if (!jwk) return false;
  try {
    const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, ticket.signature, ticket.payload);
  } catch {
    return false;
  }
}
