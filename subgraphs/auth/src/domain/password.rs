//! argon2id hashing, off the async runtime: each hash takes tens of
//! milliseconds of CPU and ~19 MiB of memory. Hashes run on a pool of one
//! thread per core, so the runtime's threads stay free for other requests
//! (the benchmark measures `/health/live` during logins); the queue in front
//! of the pool is bounded, so a flood of logins is refused rather than piled up.

use std::sync::{mpsc, Arc, Mutex};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use tokio::sync::OnceCell;

use super::AuthError;

type Job = Box<dyn FnOnce() + Send>;

/// Hashes waiting beyond this many are refused (the service is saturated).
const MAX_QUEUED: usize = 256;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    pool: mpsc::SyncSender<Job>,
    /// Verified against when the email is unknown, so that both failures take
    /// the same time and reveal nothing.
    dummy_hash: Arc<OnceCell<String>>,
}

/// The outcome of checking a password against a stored hash.
pub enum Verified {
    No,
    Yes,
    /// Correct, but hashed with old parameters: store this new hash.
    YesRehashed(String),
}

impl PasswordHasher {
    /// argon2id with the OWASP-recommended parameters (m = 19 MiB, t = 2, p = 1).
    pub fn new() -> Self {
        Self::with_params(Params::default())
    }

    pub fn with_params(params: Params) -> Self {
        PasswordHasher { params, pool: start_pool(), dummy_hash: Arc::new(OnceCell::new()) }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    pub async fn hash(&self, password: &str) -> Result<String, AuthError> {
        let (params, password) = (self.params.clone(), password.to_owned());
        self.blocking(move || hash_with(params, &password)).await?
    }

    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<Verified, AuthError> {
        let dummy;
        let (stored, real) = match stored {
            Some(stored) => (stored.to_owned(), true),
            None => {
                dummy = self.dummy_hash.get_or_try_init(|| self.hash("dummy password, never matches")).await?;
                (dummy.clone(), false)
            }
        };
        let (params, password) = (self.params.clone(), password.to_owned());
        self.blocking(move || {
            let parsed = PasswordHash::new(&stored).map_err(|e| AuthError::Hashing(e.to_string()))?;
            let ok = Self::argon2(params.clone()).verify_password(password.as_bytes(), &parsed).is_ok();
            if !ok || !real {
                return Ok(Verified::No);
            }
            let current = Params::try_from(&parsed).ok();
            let outdated = parsed.algorithm.as_str() != "argon2id"
                || current.is_none_or(|p| {
                    p.m_cost() != params.m_cost() || p.t_cost() != params.t_cost() || p.p_cost() != params.p_cost()
                });
            if outdated {
                Ok(Verified::YesRehashed(hash_with(params, &password)?))
            } else {
                Ok(Verified::Yes)
            }
        })
        .await?
    }

    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AuthError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.pool.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => AuthError::Busy,
            mpsc::TrySendError::Disconnected(_) => AuthError::Hashing("the hashing pool stopped".into()),
        })?;
        result.await.map_err(|_| AuthError::Hashing("a hashing thread failed".into()))
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// One thread per core; they end when the last hasher is dropped.
fn start_pool() -> mpsc::SyncSender<Job> {
    let (sender, receiver) = mpsc::sync_channel::<Job>(MAX_QUEUED);
    let receiver = Arc::new(Mutex::new(receiver));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    for i in 0..cores {
        let receiver = receiver.clone();
        let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || loop {
            let job = receiver.lock().map_err(|_| ()).and_then(|r| r.recv().map_err(|_| ()));
            match job {
                Ok(job) => job(),
                Err(()) => break,
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a password hashing thread");
        }
    }
    sender
}

fn hash_with(params: Params, password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    PasswordHasher::argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_and_verify() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("securepass").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(matches!(hasher.verify("securepass", Some(&hash)).await.unwrap(), Verified::Yes));
        assert!(matches!(hasher.verify("wrong", Some(&hash)).await.unwrap(), Verified::No));
        assert!(matches!(hasher.verify("securepass", None).await.unwrap(), Verified::No));
    }

    #[tokio::test]
    async fn outdated_parameters_are_rehashed_on_success() {
        let old = PasswordHasher::with_params(Params::new(8 * 1024, 1, 1, None).unwrap());
        let hash = old.hash("securepass").await.unwrap();
        match PasswordHasher::new().verify("securepass", Some(&hash)).await.unwrap() {
            Verified::YesRehashed(new) => {
                assert!(new.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"))
            }
            _ => panic!("expected a rehash"),
        }
    }
}
