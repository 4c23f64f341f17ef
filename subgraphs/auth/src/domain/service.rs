use std::{sync::Arc, time::Duration};

use chrono::Utc;
use common::{
    auth::{Claims, Role, TokenRules, TokenVerifier},
    db,
    time::Timestamp,
};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use uuid::Uuid;

use super::{
    password::{PasswordHasher, Verified},
    AuthError, Email, NewPassword,
};
use crate::{
    keys::SigningKeys,
    storage::{self, NewUser, UserRow},
};

/// A user as the outside world sees it: never with the password hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub created_at: Timestamp,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            name: row.name,
            // The CHECK constraint allows only USER and ADMIN.
            role: Role::parse(&row.role).unwrap_or(Role::User),
            created_at: row.created_at.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthPayload {
    pub token: String,
    pub expires_at: Timestamp,
    pub user: User,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenValidation {
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone)]
pub struct AuthService {
    db: DatabaseConnection,
    hasher: PasswordHasher,
    keys: Arc<SigningKeys>,
    verifier: TokenVerifier,
    rules: TokenRules,
    token_ttl: Duration,
}

impl AuthService {
    pub fn new(db: DatabaseConnection, keys: SigningKeys, rules: TokenRules, token_ttl: Duration) -> Self {
        let verifier = TokenVerifier::from_jwks(&keys.jwks(), rules.clone());
        AuthService { db, hasher: PasswordHasher::new(), keys: Arc::new(keys), verifier, rules, token_ttl }
    }

    /// Verifies tokens with this service's own public keys (no HTTP round trip).
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    pub fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        self.keys.jwks()
    }

    pub async fn register(
        &self,
        email: &str,
        password: String,
        name: Option<String>,
    ) -> Result<AuthPayload, AuthError> {
        let email = Email::parse(email)?;
        let password = NewPassword::parse(password)?;
        let name = normalize_name(name)?;
        let hash = self.hasher.hash(password.expose()).await?;
        let row = storage::insert_user(
            &self.db,
            NewUser { id: Uuid::now_v7(), email: email.as_str(), password_hash: &hash, name: name.as_deref() },
        )
        .await
        .map_err(|e| {
            if db::is_unique_violation(&e, storage::EMAIL_UNIQUE) {
                AuthError::EmailTaken
            } else {
                e.into()
            }
        })?;
        tracing::info!(user_id = %row.id, "user registered");
        self.issue(row.into())
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<AuthPayload, AuthError> {
        // An email that cannot exist is treated like an unknown one: same error, same work.
        let row = match Email::parse(email) {
            Ok(email) => storage::find_by_email(&self.db, email.as_str()).await?,
            Err(_) => None,
        };
        let password = if password.len() > super::credentials::MAX_PASSWORD_BYTES { "" } else { password };
        match self.hasher.verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await? {
            Verified::No => Err(AuthError::InvalidCredentials),
            verified => {
                let row = row.ok_or(AuthError::InvalidCredentials)?;
                if let Verified::YesRehashed(new_hash) = verified {
                    storage::update_password_hash(&self.db, row.id, &new_hash).await?;
                    tracing::info!(user_id = %row.id, "password rehashed with current parameters");
                }
                self.issue(row.into())
            }
        }
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
            Err(AuthError::InvalidToken(e)) => Ok(invalid(e.to_string())),
            Err(AuthError::UserNotFound) => Ok(invalid("the token's user no longer exists".into())),
            Err(other) => Err(other),
        }
    }

    pub async fn user(&self, id: Uuid) -> Result<Option<User>, AuthError> {
        Ok(storage::find_by_id(&self.db, id).await?.map(User::from))
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

    fn issue(&self, user: User) -> Result<AuthPayload, AuthError> {
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
        // Whole seconds, as in the token's `exp`.
        let expires_at = chrono::DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at);
        Ok(AuthPayload { token, expires_at: expires_at.into(), user })
    }
}

fn invalid(error: String) -> TokenValidation {
    TokenValidation { valid: false, user: None, expires_at: None, error: Some(error) }
}

fn normalize_name(name: Option<String>) -> Result<Option<String>, AuthError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(AuthError::InvalidInput("`name` must be at most 200 characters".into()));
    }
    Ok(name)
}
