//! The signed-in users behind recently used sessions, in memory: a session check is a hash
//! lookup, not a four-table join on the database's worker thread.
//!
//! Never wrong, by three rules:
//! - an entry is used only while the invalidation feed vouches for the cache (see
//!   [`super::invalidation`]): if it falls silent, every check reads the database again;
//! - every change that ends sessions or alters what an entry shows evicts it here at once
//!   on the replica that makes it, and everywhere else through the feed;
//! - an entry read from the database while an eviction ran is not kept (see
//!   [`SessionCache::keep`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use moka::sync::Cache;

use super::SignedInUser;
use super::invalidation::Invalidation;

/// One live session as the database showed it, and its idle clock on this replica.
pub(super) struct CachedSession {
    pub(super) user: SignedInUser,
    /// Unix seconds: the absolute end, which nothing extends.
    pub(super) expires_at: i64,
    /// Unix seconds of the last request on this replica.
    pub(super) last_seen: AtomicI64,
    /// Unix seconds last written to `sessions.last_seen_at` by this replica (or read from it).
    pub(super) stored_last_seen: AtomicI64,
}

pub struct SessionCache {
    /// Keyed by the digest of the session token, as the database is.
    entries: Cache<String, Arc<CachedSession>>,
    /// Bumped before every eviction, see [`Self::keep`].
    evictions: AtomicU64,
    started: Instant,
    /// Milliseconds after `started` until which the feed vouches for the entries.
    trusted_until: AtomicU64,
}

impl SessionCache {
    /// At most `capacity` sessions (about 1 KB each); an entry unused for `idle` goes.
    pub fn new(capacity: u64, idle: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(idle)
                .support_invalidation_closures()
                .build(),
            evictions: AtomicU64::new(0),
            started: Instant::now(),
            trusted_until: AtomicU64::new(0),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the feed has been heard from recently enough for entries to be used.
    pub fn is_trusted(&self) -> bool {
        self.elapsed_ms() < self.trusted_until.load(Ordering::Acquire)
    }

    /// The feed is live: entries may be used for `period` more.
    pub(super) fn vouch_for(&self, period: Duration) {
        let until = self
            .elapsed_ms()
            .saturating_add(u64::try_from(period.as_millis()).unwrap_or(u64::MAX));
        self.trusted_until.fetch_max(until, Ordering::AcqRel);
    }

    /// The feed is down: no entry is used until it vouches again.
    pub(super) fn distrust(&self) {
        self.trusted_until.store(0, Ordering::Release);
    }

    pub(super) fn get(&self, token_hash: &str) -> Option<Arc<CachedSession>> {
        if !self.is_trusted() {
            return None;
        }
        self.entries.get(token_hash)
    }

    /// Taken before reading a session from the database, and handed to [`Self::keep`].
    pub(super) fn eviction_count(&self) -> u64 {
        self.evictions.load(Ordering::SeqCst)
    }

    /// Stores an entry read from the database, unless an eviction started since
    /// `evictions_before` (it might have been meant for what was read). Evictions bump the
    /// counter before they act, so one that the check below misses acts on this entry.
    pub(super) fn keep(&self, token_hash: String, entry: CachedSession, evictions_before: u64) {
        if !self.is_trusted() {
            return;
        }
        self.entries.insert(token_hash.clone(), Arc::new(entry));
        if self.eviction_count() != evictions_before {
            self.entries.invalidate(&token_hash);
        }
    }

    pub fn evict(&self, what: &Invalidation) {
        self.evictions.fetch_add(1, Ordering::SeqCst);
        let registered = match what {
            Invalidation::Session(token_hash) => {
                self.entries.invalidate(token_hash);
                return;
            }
            Invalidation::User(user_id) => {
                let user_id = *user_id;
                self.entries
                    .invalidate_entries_if(move |_, entry| entry.user.user_id == user_id)
            }
            Invalidation::Instance(id) => {
                let id = id.clone();
                self.entries
                    .invalidate_entries_if(move |_, entry| entry.user.instance_id == id)
            }
            Invalidation::Tenant(slug) => {
                let slug = slug.clone();
                self.entries
                    .invalidate_entries_if(move |_, entry| entry.user.tenant == slug)
            }
        };
        // Only a cache built without invalidation closures refuses them; never this one.
        if registered.is_err() {
            self.flush();
        }
    }

    /// Drops every entry: the feed may have missed something.
    pub(super) fn flush(&self) {
        self.evictions.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user_id: i64, tenant: &str, instance: &str) -> CachedSession {
        CachedSession {
            user: SignedInUser {
                user_id,
                tenant: tenant.into(),
                tenant_name: tenant.into(),
                instance_id: instance.into(),
                instance_label: instance.into(),
                issuer: "https://example.okta.com".into(),
                sub: format!("sub-{user_id}"),
                name: None,
                email: None,
            },
            expires_at: i64::MAX,
            last_seen: 0.into(),
            stored_last_seen: 0.into(),
        }
    }

    fn trusted_cache() -> SessionCache {
        let cache = SessionCache::new(100, Duration::from_secs(3600));
        cache.vouch_for(Duration::from_secs(60));
        cache
    }

    fn kept(cache: &SessionCache, token_hash: &str, entry: CachedSession) {
        cache.keep(token_hash.into(), entry, cache.eviction_count());
    }

    #[test]
    fn nothing_is_served_or_kept_while_the_feed_does_not_vouch_for_the_cache() {
        let cache = SessionCache::new(100, Duration::from_secs(3600));
        kept(&cache, "a", session(1, "acme", "acme-1"));
        cache.vouch_for(Duration::from_secs(60));
        assert!(cache.get("a").is_none(), "kept while untrusted");

        kept(&cache, "a", session(1, "acme", "acme-1"));
        assert!(cache.get("a").is_some());
        cache.distrust();
        assert!(cache.get("a").is_none(), "served while distrusted");
    }

    #[test]
    fn each_invalidation_evicts_exactly_the_sessions_it_names() {
        let cache = trusted_cache();
        kept(&cache, "ada", session(1, "acme", "acme-1"));
        kept(&cache, "ada-2", session(1, "acme", "acme-1"));
        kept(&cache, "bob", session(2, "acme", "acme-2"));
        kept(&cache, "cy", session(3, "globex", "globex-1"));
        kept(&cache, "di", session(4, "globex", "globex-2"));
        let live = |cache: &SessionCache| {
            ["ada", "ada-2", "bob", "cy", "di"]
                .into_iter()
                .filter(|hash| cache.get(hash).is_some())
                .collect::<Vec<_>>()
        };

        cache.evict(&Invalidation::Session("ada-2".into()));
        assert_eq!(live(&cache), ["ada", "bob", "cy", "di"]);
        cache.evict(&Invalidation::User(1));
        assert_eq!(live(&cache), ["bob", "cy", "di"]);
        cache.evict(&Invalidation::Instance("acme-2".into()));
        assert_eq!(live(&cache), ["cy", "di"]);
        cache.evict(&Invalidation::Tenant("globex".into()));
        assert!(live(&cache).is_empty());
    }

    #[test]
    fn a_session_read_before_an_eviction_is_not_kept_after_it() {
        let cache = trusted_cache();
        let before = cache.eviction_count();
        // The eviction is for someone else: the read may still predate what it announces.
        cache.evict(&Invalidation::User(99));
        cache.keep("ada".into(), session(1, "acme", "acme-1"), before);
        assert!(cache.get("ada").is_none());
    }

    #[test]
    fn a_flush_empties_the_cache() {
        let cache = trusted_cache();
        kept(&cache, "ada", session(1, "acme", "acme-1"));
        cache.flush();
        assert!(cache.get("ada").is_none());
    }
}
