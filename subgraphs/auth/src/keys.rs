//! The auth service's Ed25519 signing keys: the only keys in the system that
//! can mint tokens. Their public halves are published as a JWKS.

use std::path::Path;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{
    pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey},
    SigningKey,
};
use jsonwebtoken::{
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
        OctetKeyPairType, PublicKeyUse,
    },
    Algorithm, EncodingKey, Header,
};
use sha2::{Digest, Sha256};

use crate::config::SigningKeySource;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("JWT_PRIVATE_KEY holds no Ed25519 PKCS#8 PEM key")]
    NoKey,
    #[error("JWT_PRIVATE_KEY is not a valid Ed25519 PKCS#8 PEM key: {0}")]
    Invalid(String),
    #[error("cannot read or write the development signing key {path}: {source}")]
    DevFile { path: String, source: std::io::Error },
}

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
    pub fn load(source: &SigningKeySource) -> Result<Self, KeyError> {
        match source {
            SigningKeySource::Pem(pem) => Self::from_pem(pem),
            SigningKeySource::DevFile(path) => Self::dev_file(path),
        }
    }

    /// Parses one or more concatenated PKCS#8 PEM private keys.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        const END: &str = "-----END PRIVATE KEY-----";
        let keys = pem
            .split_inclusive(END)
            .filter(|block| block.contains("BEGIN PRIVATE KEY"))
            .map(|block| {
                SigningKey::from_pkcs8_pem(block.trim())
                    .map(|k| Self::pair(&k))
                    .map_err(|e| KeyError::Invalid(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(KeyError::NoKey);
        }
        Ok(SigningKeys { keys })
    }

    /// A fresh key as PKCS#8 PEM, for `auth-service generate-key`.
    pub fn generate_pem() -> String {
        SigningKey::generate(&mut rand::rngs::OsRng)
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes as PKCS#8")
            .to_string()
    }

    /// A fresh key, kept only in memory.
    pub fn generate() -> Self {
        SigningKeys { keys: vec![Self::pair(&SigningKey::generate(&mut rand::rngs::OsRng))] }
    }

    /// Development: the key in `path`, generated and saved (mode 0600) on first use.
    fn dev_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::DevFile { path: path.display().to_string(), source };
        if path.exists() {
            return Self::from_pem(&std::fs::read_to_string(path).map_err(io)?);
        }
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Invalid(e.to_string()))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Written whole under a private name, then linked into place: a
        // second process starting at the same moment either links first (and
        // this one uses its key) or finds the file complete, never half written.
        let staged = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
        write_private(&staged, pem.as_bytes()).map_err(io)?;
        let linked = std::fs::hard_link(&staged, path);
        let _ = std::fs::remove_file(&staged);
        match linked {
            Ok(()) => {
                tracing::info!(path = %path.display(), "generated a development JWT signing key");
                Ok(SigningKeys { keys: vec![Self::pair(&key)] })
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::from_pem(&std::fs::read_to_string(path).map_err(io)?)
            }
            Err(e) => Err(io(e)),
        }
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
        let keys = self
            .keys
            .iter()
            .map(|k| Jwk {
                common: CommonParameters {
                    public_key_use: Some(PublicKeyUse::Signature),
                    key_algorithm: Some(KeyAlgorithm::EdDSA),
                    key_id: Some(k.kid.clone()),
                    ..Default::default()
                },
                algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                    key_type: OctetKeyPairType::OctetKeyPair,
                    curve: EllipticCurve::Ed25519,
                    x: URL_SAFE_NO_PAD.encode(k.public),
                }),
            })
            .collect();
        JwkSet { keys }
    }
}

/// RFC 7638 JWK thumbprint: a stable key id derived from the public key.
fn thumbprint(public: &[u8; 32]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_starts_share_one_generated_development_key() {
        let dir = std::env::temp_dir().join(format!("titiktemu-keys-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("jwt-signing-key.pem");
        let kids: Vec<String> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| SigningKeys::dev_file(&path).expect("a key").keys[0].kid.clone()))
                .collect();
            starts.into_iter().map(|s| s.join().unwrap()).collect()
        });
        assert!(kids.iter().all(|kid| kid == &kids[0]), "{kids:?}");
        assert_eq!(SigningKeys::dev_file(&path).unwrap().keys[0].kid, kids[0], "later starts read it back");
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no staging files are left");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
