//! The one-node flow store: flows by digest of `state`, bounded in all and per browser, with
//! eviction in constant time. Every flow lives as long (the flow lifetime), so the order they
//! arrived in is the order they expire in: the next to expire is always at the front of one
//! queue, and a full store never scans its entries under the lock that callbacks need.

use std::collections::{HashMap, VecDeque};

use super::PendingFlow;

/// Sign-ins one browser may have pending: a few tabs. A new one beyond that replaces the
/// browser's oldest, so a loop of login starts from one browser cannot fill the store.
pub(super) const PER_BROWSER: usize = 5;

pub(super) struct MemoryFlows {
    capacity: usize,
    flows: HashMap<String, PendingFlow>,
    /// Keys in arrival order. A key whose flow was taken stays until it reaches the front, or
    /// until the queue is compacted.
    arrivals: VecDeque<String>,
    /// Each browser's pending keys, oldest first.
    browsers: HashMap<String, VecDeque<String>>,
}

/// Every slot holds a live flow.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Full;

impl MemoryFlows {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            flows: HashMap::new(),
            arrivals: VecDeque::new(),
            browsers: HashMap::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.flows.len()
    }

    pub(super) fn insert(&mut self, key: String, flow: PendingFlow, now: i64) -> Result<(), Full> {
        self.expire(now);
        let browser = flow.browser_hash.clone();
        if self
            .browsers
            .get(&browser)
            .is_some_and(|keys| keys.len() >= PER_BROWSER)
            && let Some(oldest) = self
                .browsers
                .get_mut(&browser)
                .and_then(VecDeque::pop_front)
        {
            self.flows.remove(&oldest);
        }
        if self.flows.len() >= self.capacity {
            return Err(Full);
        }
        if self.arrivals.len() >= self.capacity.saturating_mul(2) {
            // Mostly keys of flows taken already: drop them, once per `capacity` arrivals.
            let flows = &self.flows;
            self.arrivals.retain(|key| flows.contains_key(key));
        }
        self.browsers
            .entry(browser)
            .or_default()
            .push_back(key.clone());
        self.arrivals.push_back(key.clone());
        self.flows.insert(key, flow);
        Ok(())
    }

    pub(super) fn take(&mut self, key: &str) -> Option<PendingFlow> {
        let flow = self.flows.remove(key)?;
        self.forget(&flow.browser_hash, key);
        Some(flow)
    }

    /// Removes the expired flows at the front; returns how many.
    pub(super) fn expire(&mut self, now: i64) -> usize {
        let mut expired = 0;
        while let Some(front) = self.arrivals.front() {
            match self.flows.get(front) {
                Some(flow) if flow.expires_at > now => break,
                Some(_) => {
                    if let Some(key) = self.arrivals.pop_front()
                        && let Some(flow) = self.flows.remove(&key)
                    {
                        self.forget(&flow.browser_hash, &key);
                        expired += 1;
                    }
                }
                None => {
                    self.arrivals.pop_front();
                }
            }
        }
        expired
    }

    /// Every flow, leaving the store empty (a graceful stop saves them).
    pub(super) fn drain(&mut self) -> impl Iterator<Item = (String, PendingFlow)> + '_ {
        self.arrivals.clear();
        self.browsers.clear();
        self.flows.drain()
    }

    fn forget(&mut self, browser: &str, key: &str) {
        if let Some(keys) = self.browsers.get_mut(browser) {
            keys.retain(|pending| pending != key);
            if keys.is_empty() {
                self.browsers.remove(browser);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InstanceId, IssuerUrl, ReturnPath};

    fn flow(browser: &str, expires_at: i64) -> PendingFlow {
        PendingFlow {
            instance: InstanceId::parse("acme-okta").unwrap(),
            issuer: IssuerUrl::from_trusted_storage("https://acme.okta.com".to_owned()),
            browser_hash: browser.to_owned(),
            nonce: "n".to_owned(),
            pkce_verifier: "v".to_owned(),
            return_to: ReturnPath::parse_or_default(None),
            expires_at,
            tested_by: None,
        }
    }

    #[test]
    fn a_full_store_refuses_until_its_oldest_flows_expire() {
        let mut store = MemoryFlows::new(3);
        for (i, browser) in ["a", "b", "c"].iter().enumerate() {
            store
                .insert(format!("k{i}"), flow(browser, 100), 0)
                .unwrap();
        }
        assert_eq!(store.insert("k3".into(), flow("d", 200), 50), Err(Full));
        assert_eq!(store.insert("k3".into(), flow("d", 200), 100), Ok(()));
        assert_eq!(store.len(), 1);
        assert!(store.take("k3").is_some());
    }

    #[test]
    fn one_browsers_sixth_sign_in_replaces_its_oldest_and_leaves_the_others_alone() {
        let mut store = MemoryFlows::new(100);
        store.insert("other".into(), flow("b", 100), 0).unwrap();
        for i in 0..=PER_BROWSER {
            store.insert(format!("k{i}"), flow("a", 100), 0).unwrap();
        }
        assert!(store.take("k0").is_none(), "the oldest was kept");
        assert!(store.take(&format!("k{PER_BROWSER}")).is_some());
        assert!(
            store.take("other").is_some(),
            "another browser's flow was evicted"
        );
        assert_eq!(store.len(), PER_BROWSER - 1);
    }

    #[test]
    fn a_taken_flow_is_gone_and_frees_its_browsers_slot() {
        let mut store = MemoryFlows::new(100);
        for i in 0..PER_BROWSER {
            store.insert(format!("k{i}"), flow("a", 100), 0).unwrap();
        }
        assert!(store.take("k2").is_some());
        assert!(store.take("k2").is_none(), "a flow was taken twice");
        store.insert("k9".into(), flow("a", 100), 0).unwrap();
        assert!(
            store.take("k0").is_some(),
            "a slot freed by a callback was not reused"
        );
    }

    #[test]
    fn the_arrival_queue_stays_bounded_when_every_flow_is_taken() {
        let mut store = MemoryFlows::new(10);
        for i in 0..10_000 {
            let key = format!("k{i}");
            store.insert(key.clone(), flow("a", 1_000_000), 0).unwrap();
            store.take(&key);
        }
        assert!(store.arrivals.len() <= 20, "{}", store.arrivals.len());
        assert!(store.browsers.is_empty());
    }
}
