//! Signed tickets. A ticket's secret is what its QR code holds: a short
//! payload (the ticket's id, its event's id, until when it is valid; nothing
//! personal) signed with an Ed25519 key of the attendance service, so that a
//! scanner can check it without asking anyone (with the public keys of
//! `/.well-known/ticket-keys.json`), and the service checks it before any SQL.
//!
//! `TT1` + base32 (RFC 4648, no padding) of `payload ‖ signature`, where the
//! payload is 41 bytes: the format version (1), the signing key's id (4), the
//! ticket id (16), the event id (16), and the end of its validity in Unix
//! seconds (4, big-endian); the signature is Ed25519's 64 bytes over them.
//! 171 characters of QR code's alphanumeric set: version 7 at error
//! correction M holds them. Ed25519 signatures are deterministic, so a
//! ticket's secret is the same whenever it is made: only the payload's facts
//! are stored, and the secret is signed when it is shown. For the same
//! reason the service, which holds the keys, checks a secret by signing its
//! payload again and comparing the two signatures in constant time: half
//! the work of verifying one (a fixed-base multiplication instead of a
//! double one), and stricter (only the one signature the key makes is
//! taken). Scanners, which hold only the public keys, verify as Ed25519 does.

use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

const PREFIX: &str = "TT1";
const VERSION: u8 = 1;
const PAYLOAD_BYTES: usize = 41;
const SECRET_BYTES: usize = PAYLOAD_BYTES + 64;

/// A ticket key's id: the first four bytes of the SHA-256 of its public key,
/// written as eight hexadecimal digits (the JWKS `kid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 4]);

impl KeyId {
    fn of(public: &VerifyingKey) -> Self {
        let digest = Sha256::digest(public.as_bytes());
        KeyId([digest[0], digest[1], digest[2], digest[3]])
    }

    /// Parses the eight hexadecimal digits of [`std::fmt::Display`].
    pub fn parse(hex: &str) -> Option<Self> {
        if hex.len() != 8 {
            return None;
        }
        let mut bytes = [0u8; 4];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(KeyId(bytes))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// What a ticket's secret says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClaims {
    pub ticket_id: Uuid,
    pub event_id: Uuid,
    /// The last moment the ticket may be scanned (whole seconds).
    pub valid_until: DateTime<Utc>,
    pub key_id: KeyId,
}

/// Why a scanned secret is not a ticket (all of them `TICKET_INVALID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRefusal {
    /// Not a ticket secret at all (prefix, alphabet, length, version).
    Malformed,
    /// Signed by a key this service does not hold (never, or no longer).
    UnknownKey,
    /// The signature does not match (forged or altered).
    BadSignature,
    Expired,
    /// Well signed, but no ticket of ours has its id.
    Unknown,
}

impl std::fmt::Display for TicketRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TicketRefusal::Malformed => "this is not a ticket",
            TicketRefusal::UnknownKey => "this ticket was signed by a key that is not (or no longer) ours",
            TicketRefusal::BadSignature => "this ticket's signature does not match: it was forged or altered",
            TicketRefusal::Expired => "this ticket has expired",
            TicketRefusal::Unknown => "this ticket is not one of ours",
        })
    }
}

/// The attendance service's ticket keys: the first signs, all verify.
#[derive(Clone)]
pub struct TicketKeys {
    keys: Vec<(KeyId, SigningKey)>,
}

impl std::fmt::Debug for TicketKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.keys.iter().map(|(id, _)| id.to_string()).collect();
        write!(f, "TicketKeys({})", ids.join(", "))
    }
}

impl TicketKeys {
    /// `keys`, the signing one first (at least one).
    pub fn new(keys: Vec<SigningKey>) -> Option<Self> {
        let keys: Vec<(KeyId, SigningKey)> = keys.into_iter().map(|k| (KeyId::of(&k.verifying_key()), k)).collect();
        (!keys.is_empty()).then_some(TicketKeys { keys })
    }

    /// The key new tickets are signed with.
    pub fn signing_key_id(&self) -> KeyId {
        self.keys[0].0
    }

    /// Every key's id and public half, to publish.
    pub fn public_keys(&self) -> impl Iterator<Item = (KeyId, [u8; 32])> + '_ {
        self.keys.iter().map(|(id, key)| (*id, key.verifying_key().to_bytes()))
    }

    /// The secret of a ticket; `None` when its key is no longer held.
    pub fn secret(&self, claims: &TicketClaims) -> Option<String> {
        let (_, key) = self.keys.iter().find(|(id, _)| *id == claims.key_id)?;
        let payload = payload(claims);
        let mut bytes = Vec::with_capacity(SECRET_BYTES);
        bytes.extend_from_slice(&payload);
        bytes.extend_from_slice(&key.sign(&payload).to_bytes());
        Some(format!("{PREFIX}{}", data_encoding::BASE32_NOPAD.encode(&bytes)))
    }

    /// What a scanned `secret` says, if it is one of our tickets, valid at `now`.
    pub fn verify(&self, secret: &str, now: DateTime<Utc>) -> Result<TicketClaims, TicketRefusal> {
        // Scanners may hand over lower case; base32 is case-blind.
        let upper = secret.trim().to_ascii_uppercase();
        let encoded = upper.strip_prefix(PREFIX).ok_or(TicketRefusal::Malformed)?;
        let bytes = data_encoding::BASE32_NOPAD.decode(encoded.as_bytes()).map_err(|_| TicketRefusal::Malformed)?;
        if bytes.len() != SECRET_BYTES || bytes[0] != VERSION {
            return Err(TicketRefusal::Malformed);
        }
        let (payload, signature) = bytes.split_at(PAYLOAD_BYTES);
        let key_id = KeyId([payload[1], payload[2], payload[3], payload[4]]);
        let (_, key) = self.keys.iter().find(|(id, _)| *id == key_id).ok_or(TicketRefusal::UnknownKey)?;
        if !bool::from(key.sign(payload).to_bytes().as_slice().ct_eq(signature)) {
            return Err(TicketRefusal::BadSignature);
        }
        let uuid =
            |range: std::ops::Range<usize>| Uuid::from_slice(&payload[range]).map_err(|_| TicketRefusal::Malformed);
        let seconds = u32::from_be_bytes([payload[37], payload[38], payload[39], payload[40]]);
        let valid_until = DateTime::from_timestamp(i64::from(seconds), 0).ok_or(TicketRefusal::Malformed)?;
        if valid_until < now {
            return Err(TicketRefusal::Expired);
        }
        Ok(TicketClaims { ticket_id: uuid(5..21)?, event_id: uuid(21..37)?, valid_until, key_id })
    }
}

fn payload(claims: &TicketClaims) -> [u8; PAYLOAD_BYTES] {
    let mut payload = [0u8; PAYLOAD_BYTES];
    payload[0] = VERSION;
    payload[1..5].copy_from_slice(&claims.key_id.0);
    payload[5..21].copy_from_slice(claims.ticket_id.as_bytes());
    payload[21..37].copy_from_slice(claims.event_id.as_bytes());
    let seconds = u32::try_from(claims.valid_until.timestamp().max(0)).unwrap_or(u32::MAX);
    payload[37..41].copy_from_slice(&seconds.to_be_bytes());
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::generate(&mut rand::rngs::OsRng)
    }

    fn claims(keys: &TicketKeys) -> TicketClaims {
        TicketClaims {
            ticket_id: Uuid::now_v7(),
            event_id: Uuid::now_v7(),
            valid_until: DateTime::from_timestamp(2_000_000_000, 0).expect("a time"),
            key_id: keys.signing_key_id(),
        }
    }

    #[test]
    fn a_secret_says_what_was_signed_and_nothing_else_passes() {
        let keys = TicketKeys::new(vec![key()]).expect("a key");
        let claims = claims(&keys);
        let secret = keys.secret(&claims).expect("our key");
        assert_eq!(secret.len(), 171);
        assert!(secret.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()), "{secret}");
        assert_eq!(keys.secret(&claims), Some(secret.clone()), "deterministic");
        let now = DateTime::from_timestamp(1_900_000_000, 0).expect("a time");
        assert_eq!(keys.verify(&secret, now), Ok(claims.clone()));
        assert_eq!(keys.verify(&secret.to_lowercase(), now), Ok(claims.clone()));
        let later = DateTime::from_timestamp(2_000_000_001, 0).expect("a time");
        assert_eq!(keys.verify(&secret, later), Err(TicketRefusal::Expired));
        // Any character changed, the signature fails (or the text is no ticket).
        for at in [3, 10, 60, 120, 170] {
            let mut altered: Vec<char> = secret.chars().collect();
            altered[at] = if altered[at] == 'A' { 'B' } else { 'A' };
            let altered: String = altered.into_iter().collect();
            assert!(keys.verify(&altered, now).is_err(), "{at}");
        }
        for garbage in ["", "TT1", "hello", &secret[..100], &format!("{secret}AA"), "XX1AAAA"] {
            assert_eq!(keys.verify(garbage, now), Err(TicketRefusal::Malformed), "{garbage:?}");
        }
        let stranger = TicketKeys::new(vec![key()]).expect("a key");
        assert_eq!(stranger.verify(&secret, now), Err(TicketRefusal::UnknownKey));
        // What a scanner does with the published key.
        use ed25519_dalek::{Signature, Verifier};
        let bytes = data_encoding::BASE32_NOPAD.decode(&secret.as_bytes()[3..]).expect("base32");
        let (payload, signature) = bytes.split_at(PAYLOAD_BYTES);
        let public = VerifyingKey::from_bytes(&keys.public_keys().next().expect("a key").1).expect("a public key");
        assert!(public.verify(payload, &Signature::from_slice(signature).expect("64 bytes")).is_ok());
    }

    #[test]
    fn rotated_keys_keep_old_tickets_until_retired() {
        let (old, new) = (key(), key());
        let before = TicketKeys::new(vec![old.clone()]).expect("a key");
        let old_ticket = before.secret(&claims(&before)).expect("signed");
        let rotated = TicketKeys::new(vec![new.clone(), old]).expect("keys");
        let now = Utc::now();
        assert!(rotated.verify(&old_ticket, now).is_ok(), "still held");
        assert_ne!(rotated.signing_key_id(), before.signing_key_id(), "new tickets use the new key");
        let retired = TicketKeys::new(vec![new]).expect("a key");
        assert_eq!(retired.verify(&old_ticket, now), Err(TicketRefusal::UnknownKey));
        assert_eq!(KeyId::parse(&rotated.signing_key_id().to_string()), Some(rotated.signing_key_id()));
    }
}
