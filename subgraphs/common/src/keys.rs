//! Ed25519 key sets from the environment: one or more PKCS#8 PEM private keys,
//! the first of which signs while all of them verify and are published (so a
//! key can be rotated in before the old one is retired), or in development a
//! key generated once into a file. The auth service signs tokens with one set,
//! the attendance service tickets with another; neither can sign the other's.

use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{
    pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePrivateKey},
    SigningKey,
};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters,
    OctetKeyPairType, PublicKeyUse,
};

use crate::config::{AppEnv, ConfigError, Env};

/// Where a key set comes from.
#[derive(Clone)]
pub enum KeySource {
    /// PKCS#8 PEM text, from the variable it was read from; several keys may
    /// follow each other.
    Pem { var: &'static str, pem: String },
    /// Development only: read from this file, generated there if absent.
    DevFile(PathBuf),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Pem { var, .. } => write!(f, "Pem({var}: ***)"),
            KeySource::DevFile(path) => f.debug_tuple("DevFile").field(path).finish(),
        }
    }
}

impl KeySource {
    /// The keys in `var` (or the file `var_FILE` names); without them, in
    /// development the file `dev_var` names (default `dev_default`), and in
    /// production an error: production never generates a key.
    pub fn from_env(
        env: &Env,
        app_env: AppEnv,
        var: &'static str,
        dev_var: &str,
        dev_default: &str,
    ) -> Result<Self, ConfigError> {
        match env.secret(var)? {
            Some(pem) => Ok(KeySource::Pem { var, pem: pem.replace("\\n", "\n") }),
            None if app_env.is_production() => Err(ConfigError::missing(
                var,
                &format!("or {var}_FILE: Ed25519 PKCS#8 PEM keys; production never generates one"),
            )),
            None => Ok(KeySource::DevFile(env.get(dev_var).map_or_else(|| PathBuf::from(dev_default), PathBuf::from))),
        }
    }

    /// The keys, the signing one first.
    pub fn load(&self) -> Result<Vec<SigningKey>, KeyError> {
        match self {
            KeySource::Pem { var, pem } => from_pem(var, pem),
            KeySource::DevFile(path) => dev_file(path),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} holds no Ed25519 PKCS#8 PEM key")]
    NoKey(String),
    #[error("{0} is not a valid Ed25519 PKCS#8 PEM key: {1}")]
    Invalid(String, String),
    #[error("cannot read or write the development signing key {path}: {source}")]
    DevFile { path: String, source: std::io::Error },
}

/// One or more concatenated PKCS#8 PEM private keys; `what` names them in errors.
pub fn from_pem(what: &str, pem: &str) -> Result<Vec<SigningKey>, KeyError> {
    const END: &str = "-----END PRIVATE KEY-----";
    let keys = pem
        .split_inclusive(END)
        .filter(|block| block.contains("BEGIN PRIVATE KEY"))
        .map(|block| {
            SigningKey::from_pkcs8_pem(block.trim()).map_err(|e| KeyError::Invalid(what.into(), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err(KeyError::NoKey(what.into()));
    }
    Ok(keys)
}

/// A fresh key as PKCS#8 PEM (`generate-key` commands).
pub fn generate_pem() -> String {
    to_pem(&SigningKey::generate(&mut rand::rngs::OsRng))
}

/// A key as PKCS#8 PEM.
pub fn to_pem(key: &SigningKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF).expect("an Ed25519 key always encodes as PKCS#8").to_string()
}

/// Development: the key in `path`, generated and saved (mode 0600) on first use.
fn dev_file(path: &Path) -> Result<Vec<SigningKey>, KeyError> {
    let io = |source| KeyError::DevFile { path: path.display().to_string(), source };
    let what = path.display().to_string();
    if path.exists() {
        return from_pem(&what, &std::fs::read_to_string(path).map_err(io)?);
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // Written whole under a private name, then linked into place: a second
    // process starting at the same moment either links first (and this one
    // uses its key) or finds the file complete, never half written.
    let staged = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    write_private(&staged, to_pem(&key).as_bytes()).map_err(io)?;
    let linked = std::fs::hard_link(&staged, path);
    let _ = std::fs::remove_file(&staged);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a development signing key");
            Ok(vec![key])
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            from_pem(&what, &std::fs::read_to_string(path).map_err(io)?)
        }
        Err(e) => Err(io(e)),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents)
}

/// How [`jwk_set`]'s answer reads, for OpenAPI documents (jsonwebtoken's
/// `JwkSet` renders it; schemathesis checks the two agree).
#[derive(utoipa::ToSchema)]
#[schema(as = JwkSet)]
#[allow(dead_code)] // a description, never built
pub struct Jwks {
    keys: Vec<PublicJwk>,
}

/// One Ed25519 public key.
#[derive(utoipa::ToSchema)]
#[schema(as = Jwk)]
#[allow(dead_code)]
struct PublicJwk {
    #[schema(example = "OKP")]
    kty: String,
    #[schema(example = "Ed25519")]
    crv: String,
    /// The public key, base64url without padding.
    x: String,
    kid: String,
    #[schema(example = "EdDSA")]
    alg: String,
    #[schema(example = "sig")]
    r#use: String,
}

/// Public keys as a JWKS, from their ids and public halves.
pub fn jwk_set<K: AsRef<str>>(keys: impl IntoIterator<Item = (K, [u8; 32])>) -> JwkSet {
    JwkSet { keys: keys.into_iter().map(|(kid, public)| jwk(kid.as_ref(), &public)).collect() }
}

/// A public key as a JWK (`OKP`, `Ed25519`, for `EdDSA` signatures).
pub fn jwk(kid: &str, public: &[u8; 32]) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::EdDSA),
            key_id: Some(kid.to_owned()),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: URL_SAFE_NO_PAD.encode(public),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_starts_share_one_generated_development_key() {
        let dir = std::env::temp_dir().join(format!("titiktemu-keys-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("signing-key.pem");
        let publics: Vec<[u8; 32]> = std::thread::scope(|scope| {
            let starts: Vec<_> =
                (0..8).map(|_| scope.spawn(|| dev_file(&path).expect("a key")[0].verifying_key().to_bytes())).collect();
            starts.into_iter().map(|s| s.join().expect("a start")).collect()
        });
        assert!(publics.iter().all(|p| p == &publics[0]));
        assert_eq!(dev_file(&path).expect("read back")[0].verifying_key().to_bytes(), publics[0]);
        assert_eq!(std::fs::read_dir(&dir).expect("the dir").count(), 1, "no staging files are left");
        std::fs::remove_dir_all(dir).expect("removed");
    }

    #[test]
    fn several_keys_load_in_order_and_garbage_is_named() {
        let (a, b) = (generate_pem(), generate_pem());
        let keys = from_pem("KEYS", &format!("{a}\n{b}")).expect("two keys");
        assert_eq!(keys.len(), 2);
        assert_eq!(to_pem(&keys[0]), a);
        assert!(from_pem("KEYS", "nothing").unwrap_err().to_string().contains("KEYS"));
        let broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        assert!(matches!(from_pem("KEYS", broken), Err(KeyError::Invalid(..))));
    }
}
