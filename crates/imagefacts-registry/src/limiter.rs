//! An adaptive concurrency limit per registry: at most `limit` requests in flight; a 429 halves the
//! limit (not below 1), and it grows back by one after every `limit` successes, up to its maximum.

use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    successes: usize,
}

/// The limit of one registry.
#[derive(Debug)]
pub(crate) struct AdaptiveLimit {
    max: usize,
    state: Mutex<State>,
    notify: Notify,
}

/// A slot in flight; released on drop.
#[derive(Debug)]
pub(crate) struct Permit {
    owner: Arc<AdaptiveLimit>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.owner.lock().in_flight -= 1;
        self.owner.notify.notify_waiters();
    }
}

impl AdaptiveLimit {
    pub(crate) fn new(max: usize) -> AdaptiveLimit {
        let max = max.max(1);
        AdaptiveLimit {
            max,
            state: Mutex::new(State {
                limit: max,
                in_flight: 0,
                successes: 0,
            }),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot under the current limit.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            let notified = self.notify.notified();
            {
                let mut s = self.lock();
                if s.in_flight < s.limit {
                    s.in_flight += 1;
                    return Permit {
                        owner: self.clone(),
                    };
                }
            }
            notified.await;
        }
    }

    /// The registry answered 429: halve the limit.
    pub(crate) fn rate_limited(&self) {
        let mut s = self.lock();
        let new = (s.limit / 2).max(1);
        if new != s.limit {
            tracing::debug!(
                from = s.limit,
                to = new,
                "rate limited: lowering concurrency"
            );
        }
        s.limit = new;
        s.successes = 0;
    }

    /// A request succeeded: grow back by one after `limit` successes.
    pub(crate) fn succeeded(&self) {
        let mut s = self.lock();
        if s.limit >= self.max {
            return;
        }
        s.successes += 1;
        if s.successes >= s.limit {
            s.limit += 1;
            s.successes = 0;
            drop(s);
            self.notify.notify_waiters();
        }
    }

    /// The current limit.
    pub(crate) fn limit(&self) -> usize {
        self.lock().limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn halves_and_recovers() {
        let l = AdaptiveLimit::new(6);
        l.rate_limited();
        assert_eq!(l.limit(), 3);
        l.rate_limited();
        l.rate_limited();
        l.rate_limited();
        assert_eq!(l.limit(), 1);
        l.succeeded();
        assert_eq!(l.limit(), 2);
        l.succeeded();
        assert_eq!(l.limit(), 2);
        l.succeeded();
        assert_eq!(l.limit(), 3);
        for _ in 0..100 {
            l.succeeded();
        }
        assert_eq!(l.limit(), 6);
    }

    #[tokio::test]
    async fn never_more_in_flight_than_the_limit() {
        let l = Arc::new(AdaptiveLimit::new(3));
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (l, peak) = (l.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _p = l.acquire().await;
                {
                    let mut p = peak.lock().unwrap();
                    p.0 += 1;
                    p.1 = p.1.max(p.0);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                peak.lock().unwrap().0 -= 1;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(peak.lock().unwrap().1, 3);
        l.rate_limited();
        let p1 = l.acquire().await;
        // Limit is 1 now: a second acquire waits until the first is released.
        let l2 = l.clone();
        let waiter = tokio::spawn(async move { l2.acquire().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(p1);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
