//! A provider wrapper that hands out the same credentials until shortly before they expire,
//! then refreshes them once for every caller (single flight).

use crate::credentials::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How long before expiry [`CachingProvider`] refreshes by default.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// What the cache holds: the last answer and when to ask again.
#[derive(Debug, Clone)]
struct Cached {
    credentials: Option<Credentials>,
    /// When to refresh; `None`: never (no expiry).
    refresh_at: Option<Instant>,
    /// When the credentials stop working; `None`: never.
    expires_at: Option<Instant>,
}

/// Caches what another provider gives until `refresh_before` before expiry.
///
/// Refreshing is single flight: however many tasks ask at once, the inner provider is called
/// once and they all get its answer. Each refresh yields new [`Credentials`] (a new
/// generation), so the signer's per-thread key caches move on. Credentials without an expiry
/// are kept for good. When a refresh fails while the old credentials still work, the old ones
/// are handed out (and the next call tries again).
///
/// Times are measured with tokio's clock (so tests may pause it); expiries are wall-clock
/// times, converted when the credentials arrive.
#[derive(Debug)]
pub struct CachingProvider {
    inner: Arc<dyn ProvideCredentials>,
    refresh_before: Duration,
    cached: RwLock<Option<Cached>>,
    refreshing: tokio::sync::Mutex<()>,
    /// Whether asking `inner` again yields new credentials after a service rejected the
    /// current ones (true for STS; for keys read from the environment or a file, only when
    /// `inner` says so).
    refreshable: bool,
}

impl CachingProvider {
    /// Wraps `inner`, refreshing [`DEFAULT_REFRESH_BEFORE`] before expiry; every call of
    /// `inner` fetches new credentials (STS).
    pub fn new(inner: Arc<dyn ProvideCredentials>) -> Self {
        Self {
            inner,
            refresh_before: DEFAULT_REFRESH_BEFORE,
            cached: RwLock::new(None),
            refreshing: tokio::sync::Mutex::new(()),
            refreshable: true,
        }
    }

    /// Wraps `inner` (the default chain: the environment, the shared files, and role
    /// profiles under it) so that it is resolved once per run, not once per request, and
    /// again only when an expiry comes near: the files are read once and every request signs
    /// with the same [`Credentials`] generation, so the signer derives its key once per
    /// thread and day. After a service rejects the credentials, asking again is worth a retry
    /// only when `inner` says so (a role it assumes); keys from a file or the environment
    /// would come back the same.
    pub fn remembering(inner: Arc<dyn ProvideCredentials>) -> Self {
        Self {
            refreshable: false,
            ..Self::new(inner)
        }
    }

    /// Refreshes this long before expiry instead. Credentials that arrive with less time
    /// left than that are used for half their remaining life.
    pub fn with_refresh_before(mut self, refresh_before: Duration) -> Self {
        self.refresh_before = refresh_before;
        self
    }

    /// How long before expiry this provider refreshes.
    pub fn refresh_before(&self) -> Duration {
        self.refresh_before
    }

    /// Forgets the credentials of `generation` (for example after STS or S3 answered
    /// `ExpiredToken`), so the next call refreshes. Does nothing if they were already
    /// replaced, so many workers reporting the same expired credentials cause one refresh.
    fn forget(&self, generation: u64) {
        let mut cached = self.cached.write().unwrap_or_else(|e| e.into_inner());
        let held = cached
            .as_ref()
            .and_then(|c| c.credentials.as_ref())
            .map(Credentials::generation);
        if held == Some(generation) {
            *cached = None;
        }
    }

    /// The cached answer if it needs no refresh yet.
    fn fresh(&self) -> Option<Option<Credentials>> {
        let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
        let cached = cached.as_ref()?;
        match cached.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(cached.credentials.clone()),
        }
    }

    /// The cached answer if it has not expired (a fallback when a refresh fails).
    fn still_valid(&self) -> Option<Option<Credentials>> {
        let cached = self.cached.read().unwrap_or_else(|e| e.into_inner());
        let cached = cached.as_ref()?;
        match cached.expires_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(cached.credentials.clone()),
        }
    }

    fn store(&self, credentials: Option<Credentials>) {
        let now = Instant::now();
        let remaining = credentials
            .as_ref()
            .and_then(Credentials::expiry)
            .map(|expiry| {
                expiry
                    .duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO)
            });
        let refresh_in = remaining.map(|r| r.saturating_sub(self.refresh_before).max(r / 2));
        let entry = Cached {
            credentials,
            refresh_at: refresh_in.map(|d| now + d),
            expires_at: remaining.map(|d| now + d),
        };
        *self.cached.write().unwrap_or_else(|e| e.into_inner()) = Some(entry);
    }

    async fn resolve(&self) -> Result<Option<Credentials>, CredentialsError> {
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        let _flight = self.refreshing.lock().await;
        // Whoever held the lock before us may have refreshed already.
        if let Some(credentials) = self.fresh() {
            return Ok(credentials);
        }
        match self.inner.provide().await {
            Ok(credentials) => {
                tracing::debug!(source = %self.inner.name(), "credentials refreshed");
                self.store(credentials.clone());
                Ok(credentials)
            }
            Err(error) => match self.still_valid() {
                Some(credentials) => {
                    tracing::warn!(
                        source = %self.inner.name(),
                        %error,
                        "refreshing credentials failed; using the current ones until they expire"
                    );
                    Ok(credentials)
                }
                None => Err(error),
            },
        }
    }
}

impl ProvideCredentials for CachingProvider {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(self.resolve())
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn invalidate(&self, generation: u64) -> bool {
        if self.refreshable || self.inner.invalidate(generation) {
            self.forget(generation);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts its calls; each answer is new credentials valid for `lifetime`, after `delay`.
    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Option<Duration>,
        delay: Duration,
        fail_after_first: bool,
    }

    impl Counting {
        fn new(lifetime: Option<Duration>) -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicUsize::new(0),
                lifetime,
                delay: Duration::from_secs(1),
                fail_after_first: false,
            })
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl ProvideCredentials for Counting {
        fn provide(&self) -> ProvideFuture<'_> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                if self.fail_after_first && n > 0 {
                    return Err(CredentialsError::Provider {
                        source_name: "counting".into(),
                        message: "down".into(),
                    });
                }
                let creds =
                    Credentials::new(format!("ASIAKEY{n}"), "secret").with_session_token("t");
                Ok(Some(match self.lifetime {
                    Some(life) => creds.with_expiry(SystemTime::now() + life),
                    None => creds,
                }))
            })
        }
        fn name(&self) -> String {
            "counting".into()
        }
    }

    async fn generation(provider: &CachingProvider) -> u64 {
        provider.provide().await.unwrap().unwrap().generation()
    }

    #[tokio::test(start_paused = true)]
    async fn a_remembered_chain_is_asked_once_and_keeps_keys_a_service_rejected() {
        let inner = Counting::new(None);
        let provider = CachingProvider::remembering(inner.clone());
        let first = generation(&provider).await;
        for _ in 0..100 {
            assert_eq!(generation(&provider).await, first);
        }
        assert_eq!(inner.calls(), 1, "one resolution for many requests");
        // Keys from a file or the environment would come back the same: no retry is offered
        // and nothing is asked again.
        assert!(!provider.invalidate(first));
        assert_eq!(generation(&provider).await, first);
        assert_eq!(inner.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_remembered_chain_with_an_expiry_is_asked_again_before_it() {
        let inner = Counting::new(Some(Duration::from_secs(3600)));
        let provider = CachingProvider::remembering(inner.clone());
        let first = generation(&provider).await;
        tokio::time::advance(Duration::from_secs(3600 - 4 * 60)).await;
        assert_ne!(generation(&provider).await, first);
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn fifty_concurrent_callers_cause_one_refresh() {
        let inner = Counting::new(Some(Duration::from_secs(3600)));
        let provider = Arc::new(CachingProvider::new(inner.clone()));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let provider = provider.clone();
                tokio::spawn(async move { generation(&provider).await })
            })
            .collect();
        let mut generations = Vec::new();
        for task in tasks {
            generations.push(task.await.unwrap());
        }
        assert_eq!(inner.calls(), 1);
        assert!(generations.iter().all(|g| *g == generations[0]));

        // Past the refresh point, 50 callers again cause exactly one more call.
        tokio::time::advance(Duration::from_secs(3600 - 300 + 1)).await;
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let provider = provider.clone();
                tokio::spawn(async move { generation(&provider).await })
            })
            .collect();
        let mut second = Vec::new();
        for task in tasks {
            second.push(task.await.unwrap());
        }
        assert_eq!(inner.calls(), 2);
        assert!(second.iter().all(|g| *g == second[0]));
        assert_ne!(second[0], generations[0]);
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_refresh_before_expiry_and_not_earlier() {
        let inner = Counting::new(Some(Duration::from_secs(3600)));
        let provider =
            CachingProvider::new(inner.clone()).with_refresh_before(Duration::from_secs(600));
        let first = generation(&provider).await;
        // The inner call slept 1 s (paused clock); the refresh point is 3000 s after it.
        tokio::time::advance(Duration::from_secs(2990)).await;
        assert_eq!(generation(&provider).await, first);
        assert_eq!(inner.calls(), 1);
        tokio::time::advance(Duration::from_secs(20)).await;
        let second = generation(&provider).await;
        assert_ne!(second, first);
        assert_eq!(inner.calls(), 2);
        assert_eq!(generation(&provider).await, second);
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn credentials_without_expiry_are_kept() {
        let inner = Counting::new(None);
        let provider = CachingProvider::new(inner.clone());
        let first = generation(&provider).await;
        tokio::time::advance(Duration::from_secs(365 * 86_400)).await;
        assert_eq!(generation(&provider).await, first);
        assert_eq!(inner.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_credentials_are_used_for_half_their_life() {
        let inner = Counting::new(Some(Duration::from_secs(240)));
        let provider = CachingProvider::new(inner.clone());
        let first = generation(&provider).await;
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(generation(&provider).await, first);
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_ne!(generation(&provider).await, first);
        assert_eq!(inner.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_falls_back_until_expiry_then_fails() {
        let inner = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime: Some(Duration::from_secs(3600)),
            delay: Duration::ZERO,
            fail_after_first: true,
        });
        let provider = CachingProvider::new(inner.clone());
        let first = generation(&provider).await;
        tokio::time::advance(Duration::from_secs(3400)).await;
        assert_eq!(generation(&provider).await, first);
        assert_eq!(inner.calls(), 2);
        tokio::time::advance(Duration::from_secs(300)).await;
        let err = provider.provide().await.unwrap_err();
        assert!(err.to_string().contains("down"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_refreshes_once_per_generation() {
        let inner = Counting::new(Some(Duration::from_secs(3600)));
        let provider = CachingProvider::new(inner.clone());
        let first = generation(&provider).await;
        provider.invalidate(first);
        let second = generation(&provider).await;
        assert_ne!(second, first);
        provider.invalidate(first);
        assert_eq!(generation(&provider).await, second);
        assert_eq!(inner.calls(), 2);
    }
}
