//! argon2id hashing, off the async runtime: each hash takes tens of
//! milliseconds of CPU and ~19 MiB of memory. Hashes run on a pool of one
//! thread per core, so the runtime's threads stay free for other requests
//! (the benchmark measures `/health/live` during logins); the queue in front
//! of the pool is bounded, so a flood of logins is refused rather than piled up.

use std::sync::{mpsc, Arc, Mutex};

use argon2::{
    password_hash::{Output, PasswordHash, PasswordHasher as _, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use tokio::sync::OnceCell;

use super::AuthError;

type Job = Box<dyn FnOnce() + Send>;

/// Hashes waiting beyond this many are refused (the service is saturated).
pub(super) const MAX_QUEUED: usize = 256;

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
            let ok = verify_reusing_memory(password.as_bytes(), &parsed);
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
            let job = {
                let Ok(queue) = receiver.lock() else { break };
                match queue.recv_timeout(RELEASE_AFTER) {
                    Ok(job) => Some(job),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            };
            match job {
                Some(job) => job(),
                // Idle: give the hashing memory back.
                None => MEMORY.with_borrow_mut(|memory| *memory = Vec::new()),
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a password hashing thread");
        }
    }
    sender
}

thread_local! {
    /// Each hashing thread's argon2 memory (19 MiB), reused from one
    /// verification to the next while logins keep coming: allocating, zeroing
    /// and faulting it in afresh for every hash cost a sixth of the CPU under
    /// load. Released when the thread has been idle for [`RELEASE_AFTER`].
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

const RELEASE_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether `password` matches `stored`, computed as the argon2 crate's
/// `verify_password` does (the stored hash's own algorithm, version and
/// parameters; a constant-time comparison), in this thread's reused memory.
/// A stored hash this cannot compute matches nothing, as with `verify_password`.
fn verify_reusing_memory(password: &[u8], stored: &PasswordHash) -> bool {
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(stored.algorithm),
        stored.version.map(Version::try_from).transpose(),
        Params::try_from(stored),
        &stored.salt,
        &stored.hash,
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut computed = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let hashed = MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        // Every block is written before it is read: no need to clear it between uses.
        Argon2::new(algorithm, version.unwrap_or_default(), params).hash_password_into_with_memory(
            password,
            salt,
            &mut computed,
            &mut memory[..blocks],
        )
    });
    // `Output`'s equality is constant-time.
    hashed.is_ok() && Output::new(&computed).is_ok_and(|computed| computed == *expected)
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

    /// Verification runs in reused memory; it must honour each stored hash's
    /// own algorithm, version and parameters, as the argon2 crate does.
    #[tokio::test]
    async fn hashes_of_other_algorithms_versions_and_sizes_verify_in_reused_memory() {
        let hasher = PasswordHasher::new();
        for (algorithm, version, m_cost) in [
            (Algorithm::Argon2i, Version::V0x10, 8 * 1024),
            (Algorithm::Argon2d, Version::V0x13, 32 * 1024),
            (Algorithm::Argon2id, Version::V0x13, 4 * 1024),
            (Algorithm::Argon2id, Version::V0x13, 19 * 1024),
        ] {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            let stored = Argon2::new(algorithm, version, Params::new(m_cost, 1, 1, None).unwrap())
                .hash_password(b"securepass", &salt)
                .unwrap()
                .to_string();
            for _ in 0..2 {
                let right = hasher.verify("securepass", Some(&stored)).await.unwrap();
                assert!(!matches!(right, Verified::No), "{stored}");
                assert!(matches!(hasher.verify("securepasS", Some(&stored)).await.unwrap(), Verified::No));
            }
            let tampered = format!("{}A", &stored[..stored.len() - 1]);
            let tampered = if tampered == stored { format!("{}B", &stored[..stored.len() - 1]) } else { tampered };
            assert!(!matches!(hasher.verify("securepass", Some(&tampered)).await, Ok(Verified::Yes)), "{tampered}");
        }
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
