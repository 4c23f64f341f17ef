//! Who is calling: bearer tokens issued by the auth service, verified against
//! its public keys (JWKS). Only the auth service holds a signing key; every
//! service, auth included, verifies through [`TokenVerifier`].

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::http::{header::AUTHORIZATION, HeaderMap};
use jsonwebtoken::{
    jwk::{Jwk, JwkSet},
    Algorithm, DecodingKey, Validation,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use uuid::Uuid;

use crate::error::ApiError;

/// Default issuer and audience of TitikTemu tokens.
pub const DEFAULT_ISSUER: &str = "titiktemu-auth";
pub const DEFAULT_AUDIENCE: &str = "titiktemu";

/// Only asymmetric algorithms: a token signed with HMAC (or `none`) is refused
/// before any key is looked at, which rules out algorithm-confusion attacks.
pub const ALLOWED_ALGORITHMS: [Algorithm; 2] = [Algorithm::EdDSA, Algorithm::ES256];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, async_graphql::Enum, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "USER",
            Role::Admin => "ADMIN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "USER" => Some(Role::User),
            "ADMIN" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The claims of a TitikTemu access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub email: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub iss: String,
    pub aud: String,
    pub jti: String,
}

/// The verified identity behind a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    Anonymous,
    User(Claims),
}

impl Caller {
    pub fn claims(&self) -> Option<&Claims> {
        match self {
            Caller::Anonymous => None,
            Caller::User(claims) => Some(claims),
        }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        self.claims().map(|c| c.sub)
    }

    pub fn is_admin(&self) -> bool {
        self.claims().is_some_and(|c| c.role == Role::Admin)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the Authorization header must be `Bearer <token>`")]
    BadHeader,
    #[error("the token is malformed")]
    Malformed,
    #[error("tokens signed with {0} are not accepted")]
    AlgorithmNotAllowed(String),
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("the token was issued by an unknown issuer")]
    WrongIssuer,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token is invalid")]
    Invalid,
    #[error("the signing keys cannot be fetched right now")]
    KeysUnavailable,
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::KeysUnavailable => ApiError::unavailable(err.to_string()),
            _ => ApiError::unauthenticated(err.to_string()),
        }
    }
}

/// What a valid token must say besides its signature.
#[derive(Debug, Clone)]
pub struct TokenRules {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

impl Default for TokenRules {
    fn default() -> Self {
        TokenRules { issuer: DEFAULT_ISSUER.into(), audience: DEFAULT_AUDIENCE.into(), leeway: Duration::from_secs(30) }
    }
}

enum KeySource {
    /// Keys known up front (the auth service verifying its own tokens).
    Static,
    /// Keys fetched from the auth service's JWKS endpoint and cached.
    Remote { url: String, http: reqwest::Client, min_refresh: Duration },
}

struct KeyCache {
    keys: HashMap<String, (Algorithm, DecodingKey)>,
    fetched_at: Option<Instant>,
}

/// Verifies access tokens against a JWKS, cached and refreshed on unknown `kid`
/// (at most once per `min_refresh`, so forged `kid`s cannot flood the auth service).
#[derive(Clone)]
pub struct TokenVerifier {
    rules: Arc<TokenRules>,
    source: Arc<KeySource>,
    cache: Arc<RwLock<KeyCache>>,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier").field("rules", &self.rules).finish_non_exhaustive()
    }
}

impl TokenVerifier {
    pub fn from_jwks(jwks: &JwkSet, rules: TokenRules) -> Self {
        TokenVerifier {
            rules: Arc::new(rules),
            source: Arc::new(KeySource::Static),
            cache: Arc::new(RwLock::new(KeyCache { keys: decode_jwks(jwks), fetched_at: Some(Instant::now()) })),
        }
    }

    pub fn remote(jwks_url: impl Into<String>, rules: TokenRules) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_secs(2))
            .build()
            .expect("a reqwest client with only timeouts set always builds");
        TokenVerifier {
            rules: Arc::new(rules),
            source: Arc::new(KeySource::Remote { url: jwks_url.into(), http, min_refresh: Duration::from_secs(10) }),
            cache: Arc::new(RwLock::new(KeyCache { keys: HashMap::new(), fetched_at: None })),
        }
    }

    /// Reads the bearer token of a request, if any, and verifies it.
    pub async fn caller_from_headers(&self, headers: &HeaderMap) -> Result<Caller, TokenError> {
        match bearer_token(headers)? {
            None => Ok(Caller::Anonymous),
            Some(token) => self.verify(token).await.map(Caller::User),
        }
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => AlgorithmNotAllowedName::from_token(token),
            _ => TokenError::Malformed,
        })?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(TokenError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let (alg, key) = self.key(&kid).await?;
        if alg != header.alg {
            return Err(TokenError::AlgorithmNotAllowed(format!("{:?}", header.alg)));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = self.rules.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.rules.issuer]);
        validation.set_audience(&[&self.rules.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => TokenError::Expired,
                K::ImmatureSignature => TokenError::NotYetValid,
                K::InvalidAudience => TokenError::WrongAudience,
                K::InvalidIssuer => TokenError::WrongIssuer,
                K::InvalidSignature => TokenError::BadSignature,
                K::InvalidToken | K::Base64(_) | K::Json(_) | K::Utf8(_) => TokenError::Malformed,
                _ => TokenError::Invalid,
            }
        })
    }

    async fn key(&self, kid: &str) -> Result<(Algorithm, DecodingKey), TokenError> {
        if let Some(found) = self.cache.read().await.keys.get(kid) {
            return Ok(found.clone());
        }
        let KeySource::Remote { url, http, min_refresh } = &*self.source else {
            return Err(TokenError::UnknownKey);
        };
        let mut cache = self.cache.write().await;
        // Another request may have refreshed while we waited for the lock.
        if let Some(found) = cache.keys.get(kid) {
            return Ok(found.clone());
        }
        if cache.fetched_at.is_some_and(|at| at.elapsed() < *min_refresh) {
            return Err(TokenError::UnknownKey);
        }
        let jwks = fetch_jwks(http, url).await;
        cache.fetched_at = Some(Instant::now());
        match jwks {
            Ok(jwks) => cache.keys = decode_jwks(&jwks),
            Err(e) => {
                tracing::warn!(error = %e, url, "cannot fetch JWKS");
                if cache.keys.is_empty() {
                    // Try again on the next request instead of waiting out `min_refresh`.
                    cache.fetched_at = None;
                    return Err(TokenError::KeysUnavailable);
                }
            }
        }
        cache.keys.get(kid).cloned().ok_or(TokenError::UnknownKey)
    }
}

/// Names the algorithm of a token whose header `alg` jsonwebtoken does not know
/// (such as `none`), for a clearer error than "malformed".
struct AlgorithmNotAllowedName;

impl AlgorithmNotAllowedName {
    fn from_token(token: &str) -> TokenError {
        use base64::Engine;
        let alg = token
            .split('.')
            .next()
            .and_then(|h| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).ok())
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|v| v.get("alg").and_then(|a| a.as_str()).map(str::to_owned));
        match alg {
            Some(alg) => TokenError::AlgorithmNotAllowed(alg.chars().take(16).collect()),
            None => TokenError::Malformed,
        }
    }
}

async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<JwkSet, reqwest::Error> {
    http.get(url).send().await?.error_for_status()?.json::<JwkSet>().await
}

fn decode_jwks(jwks: &JwkSet) -> HashMap<String, (Algorithm, DecodingKey)> {
    jwks.keys.iter().filter_map(|jwk| Some((jwk.common.key_id.clone()?, decode_jwk(jwk)?))).collect()
}

fn decode_jwk(jwk: &Jwk) -> Option<(Algorithm, DecodingKey)> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    let alg = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => Algorithm::EdDSA,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        // Symmetric or other keys are never trusted for verification.
        _ => return None,
    };
    DecodingKey::from_jwk(jwk).ok().map(|key| (alg, key))
}

/// `Ok(None)` without an Authorization header; an error for any other scheme.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, TokenError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| TokenError::BadHeader)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(TokenError::BadHeader)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(TokenError::BadHeader);
    }
    Ok(Some(token))
}

/// The contract's rule for writes: in production every write needs a valid
/// token; in development anonymous writes are allowed so the guide's curl
/// calls work verbatim. (An invalid token never gets this far.)
pub fn require_writer(caller: &Caller, app_env: crate::config::AppEnv) -> Result<(), TokenRequired> {
    if app_env.is_production() && matches!(caller, Caller::Anonymous) {
        return Err(TokenRequired);
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a valid bearer token is required")]
pub struct TokenRequired;

impl From<TokenRequired> for ApiError {
    fn from(err: TokenRequired) -> Self {
        ApiError::unauthenticated(err.to_string())
    }
}

/// Services whose state can verify tokens; lets [`Caller`] be an axum extractor.
pub trait HasVerifier {
    fn verifier(&self) -> &TokenVerifier;
}

/// The state of a service's REST router: its domain service, and the
/// verifier the [`Caller`] extractor asks.
pub struct RestState<S> {
    pub service: S,
    pub verifier: TokenVerifier,
}

impl<S> HasVerifier for RestState<S> {
    fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }
}

/// REST states are shared behind an `Arc`: axum clones the state for every
/// request, and one reference count is cheaper than cloning each handle in it.
impl<T: HasVerifier> HasVerifier for std::sync::Arc<T> {
    fn verifier(&self) -> &TokenVerifier {
        (**self).verifier()
    }
}

impl<S> axum::extract::FromRequestParts<S> for Caller
where
    S: HasVerifier + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        state.verifier().caller_from_headers(&parts.headers).await.map_err(ApiError::from)
    }
}

impl TokenRules {
    /// `JWT_ISSUER` / `JWT_AUDIENCE`, defaulting to TitikTemu's own.
    pub fn from_env(env: &crate::config::Env) -> Self {
        let defaults = TokenRules::default();
        TokenRules {
            issuer: env.get("JWT_ISSUER").map(str::to_owned).unwrap_or(defaults.issuer),
            audience: env.get("JWT_AUDIENCE").map(str::to_owned).unwrap_or(defaults.audience),
            leeway: defaults.leeway,
        }
    }
}

/// A verifier for services other than auth: the auth service's JWKS from
/// `AUTH_JWKS_URL` (default: auth on localhost), and the token rules.
pub fn remote_verifier_from_env(env: &crate::config::Env) -> Result<TokenVerifier, crate::config::ConfigError> {
    let url = env.get("AUTH_JWKS_URL").unwrap_or("http://localhost:3001/.well-known/jwks.json");
    url::Url::parse(url).map_err(|e| crate::config::ConfigError::invalid("AUTH_JWKS_URL", e.to_string()))?;
    Ok(TokenVerifier::remote(url, TokenRules::from_env(env)))
}
