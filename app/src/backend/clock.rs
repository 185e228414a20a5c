//! The clock sessions are measured by: wall-clock Unix seconds, which tests move forward to
//! reach an idle or absolute expiry without waiting. Nothing else moves it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::db;

#[derive(Clone, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> i64 {
        db::now().saturating_add(self.offset_secs.load(Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_one_copy_moves_every_copy() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(Duration::from_secs(3600));
        assert!(copy.now() >= before + 3600);
    }
}
