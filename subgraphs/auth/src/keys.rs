//! The auth service's Ed25519 signing keys: the only keys in the system that
//! can mint tokens. Their public halves are published as a JWKS. Where they
//! come from (PEM from the environment, or a development file) is
//! `common::keys`'.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use common::keys::{KeyError, KeySource};
use ed25519_dalek::{pkcs8::EncodePrivateKey, SigningKey};
use jsonwebtoken::{jwk::JwkSet, Algorithm, EncodingKey, Header};
use sha2::{Digest, Sha256};

struct KeyPair {
    kid: String,
    encoding: EncodingKey,
    public: [u8; 32],
}

pub struct SigningKeys {
    /// The first key signs; all are published.
    keys: Vec<KeyPair>,
}

impl SigningKeys {
    pub fn load(source: &KeySource) -> Result<Self, KeyError> {
        Ok(SigningKeys { keys: source.load()?.iter().map(Self::pair).collect() })
    }

    /// One or more concatenated PKCS#8 PEM keys (tests sign with them).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        Ok(SigningKeys { keys: common::keys::from_pem("JWT_PRIVATE_KEY", pem)?.iter().map(Self::pair).collect() })
    }

    /// A fresh key as PKCS#8 PEM, for `auth-service generate-key`.
    pub fn generate_pem() -> String {
        common::keys::generate_pem()
    }

    /// A fresh key, kept only in memory.
    pub fn generate() -> Self {
        SigningKeys { keys: vec![Self::pair(&SigningKey::generate(&mut rand::rngs::OsRng))] }
    }

    fn pair(key: &SigningKey) -> KeyPair {
        let public = key.verifying_key().to_bytes();
        let der = key.to_pkcs8_der().expect("an Ed25519 key always encodes as PKCS#8");
        KeyPair { kid: thumbprint(&public), encoding: EncodingKey::from_ed_der(der.as_bytes()), public }
    }

    /// Signs `claims` with the current key, naming it in the `kid` header.
    pub fn sign<T: serde::Serialize>(&self, claims: &T) -> Result<String, jsonwebtoken::errors::Error> {
        let current = &self.keys[0];
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(current.kid.clone());
        jsonwebtoken::encode(&header, claims, &current.encoding)
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        common::keys::jwk_set(self.keys.iter().map(|k| (&k.kid, k.public)))
    }
}

/// RFC 7638 JWK thumbprint: a stable key id derived from the public key.
fn thumbprint(public: &[u8; 32]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}
