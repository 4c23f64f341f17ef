//! Tokens as the auth service signs them, made by tests and the benchmark
//! from a real one: its claims changed, signed again with auth's key.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::Value;

/// Signs tokens like `template` (a token auth issued) with auth's key
/// (`key_pem`, published as `kid`), their claims changed.
pub struct Minter {
    claims: Value,
    header: Header,
    key: EncodingKey,
}

impl Minter {
    pub fn new(template: &str, kid: Option<String>, key_pem: &str) -> Self {
        let payload = template.split('.').nth(1).expect("a JWT");
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("payload")).expect("claims");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = kid;
        Minter { claims, header, key: EncodingKey::from_ed_pem(key_pem.as_bytes()).expect("an Ed25519 key") }
    }

    /// A token with the template's claims, changed by `change`.
    pub fn mint(&self, change: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.claims.clone();
        change(&mut claims);
        encode(&self.header, &claims, &self.key).expect("a token")
    }

    /// A token of `user` (a fresh `jti`), as a login of theirs would give.
    pub fn for_user(&self, user: &str) -> String {
        self.mint(|claims| {
            claims["sub"] = Value::from(user);
            claims["jti"] = Value::from(uuid::Uuid::new_v4().to_string());
        })
    }
}
