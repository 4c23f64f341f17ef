use std::{net::IpAddr, sync::Arc, time::Duration};

use base64::Engine;
use chrono::Utc;
use common::{
    auth::{Claims, Role, TokenRules, TokenVerifier},
    db::Pool,
    time::Timestamp,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{
    password::{PasswordHasher, Verified},
    AuthError, Email, NewPassword,
};
use crate::{
    clients::ProfileRights,
    config::{AuthSettings, LoginThrottle},
    keys::SigningKeys,
    storage::{
        self,
        sessions::{NewRefreshToken, Rotation},
        throttle::{Bucket, Scope},
        NewUser,
    },
};

/// A user as the outside world sees it: never with the password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct AuthPayload {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: User,
    /// Trades for a new access token (and a new refresh token) at
    /// `refreshToken`; valid once.
    pub refresh_token: String,
    pub refresh_expires_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct TokenValidation {
    pub valid: bool,
    pub user: Option<User>,
    pub expires_at: Option<Timestamp>,
    pub error: Option<String>,
}

impl TokenValidation {
    /// The answer about a token that is not valid, saying why.
    pub fn invalid(error: String) -> Self {
        TokenValidation { valid: false, user: None, expires_at: None, error: Some(error) }
    }
}

#[derive(Clone)]
pub struct AuthService {
    db: Pool,
    hasher: PasswordHasher,
    keys: Arc<SigningKeys>,
    verifier: TokenVerifier,
    rules: TokenRules,
    token_ttl: Duration,
    refresh_ttl: Duration,
    throttle: LoginThrottle,
    profile_rights: ProfileRights,
    /// Registrations hashing at once: a flood of sign-ups may take only this
    /// share of the hashing queue, and logins keep the rest.
    registrations: Arc<tokio::sync::Semaphore>,
}

/// Registrations that may wait for or run a hash at once (a quarter of the
/// hashing queue).
const MAX_REGISTRATIONS_HASHING: usize = super::password::MAX_QUEUED / 4;

/// Who asks for people's personal fields (email, role, sign-up date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileViewer {
    pub user: Uuid,
    pub admin: bool,
}

impl ProfileViewer {
    pub fn of(caller: &common::auth::Caller) -> Option<Self> {
        caller.claims().map(|claims| ProfileViewer { user: claims.sub, admin: claims.role == Role::Admin })
    }
}

/// Refresh tokens longer than this are not ours (and are not worth hashing).
const MAX_REFRESH_TOKEN_LEN: usize = 128;

impl AuthService {
    pub fn new(db: Pool, keys: SigningKeys, settings: &AuthSettings) -> Self {
        let rules = settings.token_rules.clone();
        let verifier = TokenVerifier::from_jwks(&keys.jwks(), rules.clone());
        AuthService {
            db,
            hasher: PasswordHasher::new(),
            keys: Arc::new(keys),
            verifier,
            rules,
            token_ttl: settings.token_ttl,
            refresh_ttl: settings.refresh_ttl,
            throttle: settings.throttle,
            registrations: Arc::new(tokio::sync::Semaphore::new(MAX_REGISTRATIONS_HASHING)),
            profile_rights: ProfileRights::new(
                &settings.attendance_service_url,
                settings.service_timeout,
                settings.common.service_credential.clone(),
            ),
        }
    }

    /// Verifies tokens with this service's own public keys (no HTTP round trip).
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.keys.jwks()
    }

    /// A new account and its first session. Registrations are counted per
    /// client address (`REGISTER_MAX_PER_ADDRESS`), and at most a quarter of
    /// the hashing queue may be theirs, so a flood of sign-ups neither grows
    /// without bound nor keeps real users from logging in.
    pub async fn register(
        &self,
        email: &str,
        password: String,
        name: Option<String>,
        client: Option<IpAddr>,
    ) -> Result<AuthPayload, AuthError> {
        let legacy = Email::legacy_form(email);
        let email = Email::parse(email)?;
        let password = NewPassword::parse(password)?;
        let name = normalize_name(name)?;
        if let Some(legacy) = legacy {
            if storage::find_by_email(&self.db, &legacy).await?.is_some() {
                return Err(AuthError::EmailTaken);
            }
        }
        if let Some(address) = client.map(address_key) {
            let t = self.throttle;
            let bucket = [Bucket { scope: Scope::Register, key: &address, limit: t.max_registrations_per_address }];
            let window = t.registration_window;
            if let Some(wait) = storage::throttle::reserve(&self.db, &bucket, None, window, window).await? {
                metrics::counter!(common::telemetry::metrics::THROTTLE_BLOCKS, "throttle" => "sign_up").increment(1);
                return Err(AuthError::RegistrationsThrottled(wait));
            }
        }
        let hash = {
            let _hashing = self.registrations.try_acquire().map_err(|_| AuthError::RegistrationsBusy)?;
            self.hasher.hash(password.expose()).await?
        };
        let refresh = self.new_refresh_token()?;
        let id = Uuid::now_v7();
        let row = storage::insert_user_with_session(
            &self.db,
            NewUser { id, email: email.as_str(), password_hash: &hash, name: name.as_deref() },
            new_session(id, &refresh),
        )
        .await
        .map_err(|e| {
            if e.is_unique_violation(storage::EMAIL_UNIQUE) {
                AuthError::EmailTaken
            } else {
                e.into()
            }
        })?;
        let user_id = row.id;
        let payload = self.payload(row.into(), refresh)?;
        tracing::info!(%user_id, "user registered");
        Ok(payload)
    }

    /// Checks the password of `email`. Attempts are counted per account and
    /// client address (a hard block after `LOGIN_MAX_FAILURES_PER_EMAIL`), per
    /// address (any accounts), and per account from anywhere (a soft lock that
    /// holds only addresses that never signed in to the account, so strangers
    /// cannot lock its owner out). Each attempt is taken from those buckets
    /// before its password is hashed, so that however many arrive at once, a
    /// bucket lets no more through than its limit; past a limit, attempts are
    /// refused with `Throttled` and nothing is hashed. A success gives its
    /// attempt back and forgets only its own account-and-address count: one's
    /// own login does not wipe an address's failures on other accounts.
    pub async fn login(&self, email: &str, password: &str, client: Option<IpAddr>) -> Result<AuthPayload, AuthError> {
        let t = self.throttle;
        let email_key = throttle_key(email);
        let address = client.map(address_key);
        let pair_key = address.as_ref().map(|address| format!("{email_key}|{address}"));
        let mut buckets = vec![Bucket { scope: Scope::Email, key: &email_key, limit: t.soft_lock_failures_per_email }];
        if let (Some(address), Some(pair)) = (&address, &pair_key) {
            buckets.push(Bucket { scope: Scope::Address, key: address, limit: t.max_failures_per_address });
            buckets.push(Bucket { scope: Scope::Pair, key: pair, limit: t.max_failures_per_email });
        }
        if let Some(wait) =
            storage::throttle::reserve(&self.db, &buckets, address.as_deref(), t.window, t.lockout).await?
        {
            metrics::counter!(common::telemetry::metrics::THROTTLE_BLOCKS, "throttle" => "login").increment(1);
            return Err(AuthError::Throttled(wait));
        }
        // An email that cannot exist is treated like an unknown one: same error, same work.
        let row = match Email::parse(email) {
            Ok(normal) => storage::find_by_email(&self.db, normal.as_str()).await?,
            Err(_) => None,
        };
        // Accounts made before the normal form are found as they were stored
        // (also those whose address it now refuses, e.g. mixed scripts).
        let row = match (row, Email::legacy_form(email)) {
            (None, Some(legacy)) => storage::find_by_email(&self.db, &legacy).await?,
            (row, _) => row,
        };
        let password = if password.len() > super::credentials::MAX_PASSWORD_BYTES { "" } else { password };
        let verified = self.hasher.verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
        let row = match (verified, row) {
            // The attempt stays counted: it was a failure.
            (Verified::No, _) | (_, None) => return Err(AuthError::InvalidCredentials),
            (Verified::YesRehashed(new_hash), Some(row)) => {
                storage::update_password_hash(&self.db, row.id, &new_hash).await?;
                tracing::info!(user_id = %row.id, "password rehashed with current parameters");
                row
            }
            (Verified::Yes, Some(row)) => row,
        };
        buckets.retain(|bucket| bucket.scope != Scope::Pair);
        storage::throttle::refund(&self.db, &buckets).await?;
        if let (Some(address), Some(pair)) = (&address, &pair_key) {
            storage::throttle::reset(&self.db, &[(Scope::Pair, pair.as_str())]).await?;
            storage::throttle::remember_address(&self.db, &email_key, address).await?;
        }
        self.start_session(row.into()).await
    }

    /// Trades a refresh token for a new access token and a new refresh token.
    /// A token used twice revokes every session of its login.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthPayload, AuthError> {
        if refresh_token.len() > MAX_REFRESH_TOKEN_LEN {
            return Err(AuthError::InvalidRefreshToken);
        }
        let next = self.new_refresh_token()?;
        match storage::sessions::rotate(&self.db, &hash_token(refresh_token), &next.hash, next.expires_at).await? {
            Rotation::Rotated { user_id } => {
                let user = self.user(user_id).await?.ok_or(AuthError::InvalidRefreshToken)?;
                self.payload(user, next)
            }
            Rotation::Reused => {
                tracing::warn!("a used refresh token was presented again; its session family is revoked");
                Err(AuthError::RefreshTokenReused)
            }
            Rotation::Invalid => Err(AuthError::InvalidRefreshToken),
        }
    }

    /// Ends the session the refresh token belongs to (every token of its
    /// family). Unknown tokens are ignored: logging out twice is fine.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AuthError> {
        if refresh_token.len() <= MAX_REFRESH_TOKEN_LEN {
            storage::sessions::revoke_family_of(&self.db, &hash_token(refresh_token)).await?;
        }
        Ok(())
    }

    /// Checks a token and that its user still exists.
    pub async fn validate(&self, token: &str) -> Result<(User, Timestamp), AuthError> {
        let claims = self.verifier.verify(token).await?;
        let user = self.user(claims.sub).await?.ok_or(AuthError::UserNotFound)?;
        let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_default();
        Ok((user, expires_at.into()))
    }

    /// [`Self::validate`], as the contract's `TokenValidation` value.
    pub async fn validation(&self, token: &str) -> Result<TokenValidation, AuthError> {
        match self.validate(token).await {
            Ok((user, expires_at)) => {
                Ok(TokenValidation { valid: true, user: Some(user), expires_at: Some(expires_at), error: None })
            }
            Err(AuthError::InvalidToken(e)) => Ok(TokenValidation::invalid(e.to_string())),
            Err(AuthError::UserNotFound) => Ok(TokenValidation::invalid("the token's user no longer exists".into())),
            Err(other) => Err(other),
        }
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>, AuthError> {
        Ok(storage::find_by_id(&self.db, id).await?.map(User::from))
    }

    /// Of `users`, those whose personal fields `viewer` may see: their own,
    /// everyone's for an ADMIN, and for anyone else the people checked in to
    /// an event the viewer organizes. That fact belongs to the attendance
    /// service, which is asked once for the whole batch (and only about
    /// others), however the references reached this service.
    pub async fn profiles_visible_to(
        &self,
        viewer: ProfileViewer,
        users: &[Uuid],
    ) -> Result<std::collections::HashSet<Uuid>, AuthError> {
        if viewer.admin {
            return Ok(users.iter().copied().collect());
        }
        let (own, others): (Vec<Uuid>, Vec<Uuid>) = users.iter().partition(|u| **u == viewer.user);
        let mut visible: std::collections::HashSet<Uuid> = own.into_iter().collect();
        if !others.is_empty() {
            visible.extend(self.profile_rights.checked_in_with(viewer.user, &others).await?);
        }
        Ok(visible)
    }

    /// Users by id as `viewer` sees them: each with whether its personal
    /// fields are theirs to read (`None` while the attendance service, which
    /// knows, cannot answer: the public fields still resolve). The rows and
    /// the question to the attendance service go out at the same time.
    pub async fn users_seen_by(
        &self,
        viewer: Option<ProfileViewer>,
        ids: &[Uuid],
    ) -> Result<Vec<(User, Option<bool>)>, AuthError> {
        let visible = async {
            match viewer {
                Some(viewer) => self.profiles_visible_to(viewer, ids).await,
                None => Ok(Default::default()),
            }
        };
        let (users, visible) = tokio::join!(self.users(ids), visible);
        let visible = match visible {
            Ok(visible) => Some(visible),
            Err(AuthError::Unavailable(e)) => {
                tracing::warn!(error = %e, "personal fields withheld: cannot ask who may see them");
                None
            }
            Err(e) => return Err(e),
        };
        Ok(users?
            .into_iter()
            .map(|user| {
                let shown = visible.as_ref().map(|visible| visible.contains(&user.id));
                (user, shown)
            })
            .collect())
    }

    /// Many users in one query (entity references are batched into this).
    pub async fn users(&self, ids: &[Uuid]) -> Result<Vec<User>, AuthError> {
        Ok(storage::find_by_ids(&self.db, ids).await?.into_iter().map(User::from).collect())
    }

    /// Makes a user ADMIN. Only reachable from the command line, never the API.
    pub async fn promote(&self, email: &str) -> Result<(), AuthError> {
        let email = Email::parse(email)?;
        if storage::set_role(&self.db, email.as_str(), Role::Admin.as_str()).await? {
            Ok(())
        } else {
            Err(AuthError::UserNotFound)
        }
    }

    /// A new session (refresh token family) for `user`, with its first tokens.
    async fn start_session(&self, user: User) -> Result<AuthPayload, AuthError> {
        let refresh = self.new_refresh_token()?;
        storage::sessions::insert(&self.db, new_session(user.id, &refresh)).await?;
        self.payload(user, refresh)
    }

    /// 256 random bits, URL-safe, with the SHA-256 that is stored in its
    /// place and when it expires.
    fn new_refresh_token(&self) -> Result<RefreshToken, AuthError> {
        let ttl = chrono::Duration::from_std(self.refresh_ttl).map_err(|e| AuthError::Signing(e.to_string()))?;
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Ok(RefreshToken { hash: hash_token(&token), token, expires_at: Utc::now() + ttl })
    }

    /// What login, registration and refresh return: a new access token for
    /// `user`, and `refresh`.
    fn payload(&self, user: User, refresh: RefreshToken) -> Result<AuthPayload, AuthError> {
        let (token, expires_at) = self.access_token(&user)?;
        Ok(AuthPayload {
            token,
            expires_at,
            user,
            refresh_token: refresh.token,
            refresh_expires_at: whole_seconds(refresh.expires_at),
        })
    }

    /// A signed access token for `user` and when it expires.
    fn access_token(&self, user: &User) -> Result<(String, Timestamp), AuthError> {
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.token_ttl).map_err(|e| AuthError::Signing(e.to_string()))?;
        let expires_at = now + ttl;
        let claims = Claims {
            sub: user.id,
            email: user.email.clone(),
            role: user.role,
            iat: now.timestamp(),
            nbf: None,
            exp: expires_at.timestamp(),
            iss: self.rules.issuer.clone(),
            aud: self.rules.audience.clone(),
            jti: Uuid::new_v4().to_string(),
        };
        let token = self.keys.sign(&claims).map_err(|e| AuthError::Signing(e.to_string()))?;
        Ok((token, whole_seconds(expires_at)))
    }
}

/// Whole seconds, as in a token's `exp`.
fn whole_seconds(at: chrono::DateTime<Utc>) -> Timestamp {
    chrono::DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at).into()
}

/// A refresh token as handed out once, before only its hash is kept.
struct RefreshToken {
    token: String,
    hash: Vec<u8>,
    expires_at: chrono::DateTime<Utc>,
}

fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The throttling key of a client address. An IPv6 client holds a whole /64
/// (its temporary addresses change within it), so it is counted by its /64.
fn address_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The throttling key of an email as typed: folded like stored emails (the
/// same key for every spelling of one address), then hashed, so that the
/// table holds no addresses (or passwords typed into the email field).
fn throttle_key(email: &str) -> String {
    let digest = Sha256::digest(super::credentials::fold(email.trim()).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A display name: trimmed, blank is none, and nothing that misleads the
/// reader (only invisible characters, bidirectional controls).
fn normalize_name(name: Option<String>) -> Result<Option<String>, AuthError> {
    match name {
        Some(name) => common::text::display_text("name", &name, 200).map_err(AuthError::InvalidInput),
        None => Ok(None),
    }
}

/// The stored row of a new session (refresh token family) of `user_id`.
fn new_session(user_id: Uuid, refresh: &RefreshToken) -> NewRefreshToken<'_> {
    NewRefreshToken {
        id: Uuid::now_v7(),
        family_id: Uuid::new_v4(),
        user_id,
        token_hash: &refresh.hash,
        expires_at: refresh.expires_at,
    }
}
