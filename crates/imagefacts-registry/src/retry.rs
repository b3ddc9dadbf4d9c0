//! The retry policy: which failures are retried, and how long to wait before the next attempt.
//!
//! Connection failures, timeouts, 408, 429, 500, 502, 503 and 504 are retried with capped
//! exponential backoff and full jitter; a `Retry-After` is honoured up to a cap; other 4xx are
//! final. [`RetryPolicy::no_delay`] keeps the decisions and drops the waits, for tests.
//!
//! One request has one budget of attempts, shared by every layer below it (its first contact,
//! its token fetch, each credential tried): a stalled token endpoint costs at most the retries,
//! not retries squared. A [`RetryWindow`] bounds what one unit of work (an image) spends on
//! retrying across all its requests: no retry starts, and no retried attempt runs, past its end.

use std::time::Duration;

use crate::error::RegistryError;

/// When and how often to retry a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles each retry.
    pub base_delay: Duration,
    /// Cap on one computed backoff.
    pub max_delay: Duration,
    /// Cap on a server's `Retry-After`; a longer demand is not waited for.
    pub max_retry_after: Duration,
    /// Decide as usual but never sleep (tests).
    pub zero_delay: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            zero_delay: false,
        }
    }
}

/// Whether to retry, and after how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Give up: the error is final or the attempts are spent.
    GiveUp,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// This policy without waits.
    pub fn no_delay(self) -> RetryPolicy {
        RetryPolicy {
            zero_delay: true,
            ..self
        }
    }

    /// What to do after attempt number `attempt` (1-based) failed with `error`. `random` is a
    /// uniform sample in `[0, 1)` for the jitter (injected so the policy is deterministic to test).
    pub fn decide(&self, error: &RegistryError, attempt: u32, random: f64) -> Decision {
        // A failure that already spent its attempts is final, whatever it was.
        if matches!(error, RegistryError::GaveUp { .. }) {
            return Decision::GiveUp;
        }
        if attempt > self.max_retries || !error.retryable() {
            return Decision::GiveUp;
        }
        let delay = match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => return Decision::GiveUp,
            Some(asked) => asked,
            None => self.backoff(attempt, random),
        };
        Decision::RetryAfter(if self.zero_delay {
            Duration::ZERO
        } else {
            delay
        })
    }

    /// Full jitter: uniform in `[0, min(max_delay, base_delay * 2^(attempt-1))]`.
    fn backoff(&self, attempt: u32, random: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(20));
        exp.min(self.max_delay).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// The end of the time one unit of work (an image, all its requests) may spend retrying: waits
/// for `Retry-After` and backoff, and the retried attempts themselves. First attempts are never
/// cut by it (they have the per-request timeout); a retry that would start past it is not made,
/// and a retried attempt still running at its end fails with a timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryWindow {
    ends: tokio::time::Instant,
    length: Duration,
}

impl RetryWindow {
    /// A window of `length` from now (a length too far to represent is no limit in practice).
    pub fn starting_now(length: Duration) -> RetryWindow {
        let now = tokio::time::Instant::now();
        let far = Duration::from_secs(30 * 24 * 3600);
        RetryWindow {
            ends: now
                .checked_add(length)
                .unwrap_or_else(|| now + far.min(length)),
            length,
        }
    }

    /// When it ends.
    pub fn ends(&self) -> tokio::time::Instant {
        self.ends
    }

    /// How long it is.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// Whether a wait of `delay` from now would end at or past the window's end.
    pub fn exceeded_by(&self, delay: Duration) -> bool {
        tokio::time::Instant::now()
            .checked_add(delay)
            .is_none_or(|at| at >= self.ends)
    }
}

/// The attempts one request has made, shared by every layer below it.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    /// Requests tried (a first contact whose answer is reused counts once).
    pub(crate) made: u32,
    /// Retries made after a retryable failure.
    pub(crate) retries: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, retry_after: Option<u64>) -> RegistryError {
        RegistryError::Status {
            registry: "r".into(),
            url: "u".into(),
            status: code,
            code: None,
            detail: None,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn retries_only_transient_failures() {
        let p = RetryPolicy::default();
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(
                    p.decide(&status(code, None), 1, 0.5),
                    Decision::RetryAfter(_)
                ),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 405, 501] {
            assert_eq!(
                p.decide(&status(code, None), 1, 0.5),
                Decision::GiveUp,
                "{code}"
            );
        }
        let net = RegistryError::Network {
            registry: "r".into(),
            detail: "refused".into(),
        };
        assert!(matches!(p.decide(&net, 1, 0.5), Decision::RetryAfter(_)));
        let nf = RegistryError::NotFound {
            registry: "r".into(),
            what: "x".into(),
            code: None,
        };
        assert_eq!(p.decide(&nf, 1, 0.5), Decision::GiveUp);
    }

    #[test]
    fn a_failure_that_gave_up_is_never_retried() {
        let p = RetryPolicy::default();
        let gave_up = RegistryError::GaveUp {
            attempts: 5,
            last: Box::new(status(503, None)),
            window: None,
        };
        assert!(gave_up.retryable(), "trying later may still help");
        assert_eq!(p.decide(&gave_up, 1, 0.5), Decision::GiveUp);
    }

    #[tokio::test]
    async fn a_window_says_when_a_wait_would_overrun_it() {
        let w = RetryWindow::starting_now(Duration::from_secs(10));
        assert!(!w.exceeded_by(Duration::from_secs(1)));
        assert!(w.exceeded_by(Duration::from_secs(10)));
        assert!(w.exceeded_by(Duration::MAX));
        let huge = RetryWindow::starting_now(Duration::MAX);
        assert!(!huge.exceeded_by(Duration::from_secs(3600)));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = RetryPolicy {
            max_retries: 2,
            ..RetryPolicy::default()
        };
        let e = status(503, None);
        assert!(matches!(p.decide(&e, 1, 0.1), Decision::RetryAfter(_)));
        assert!(matches!(p.decide(&e, 2, 0.1), Decision::RetryAfter(_)));
        assert_eq!(p.decide(&e, 3, 0.1), Decision::GiveUp);
        assert_eq!(RetryPolicy::never().decide(&e, 1, 0.1), Decision::GiveUp);
    }

    #[test]
    fn backoff_is_capped_exponential_with_full_jitter() {
        let p = RetryPolicy::default();
        let e = status(500, None);
        let at = |attempt, r| match p.decide(&e, attempt, r) {
            Decision::RetryAfter(d) => d,
            Decision::GiveUp => panic!("gave up"),
        };
        assert_eq!(at(1, 0.0), Duration::ZERO);
        assert_eq!(at(1, 1.0), Duration::from_millis(250));
        assert_eq!(at(2, 1.0), Duration::from_millis(500));
        assert_eq!(at(3, 0.5), Duration::from_millis(500));
        let big = RetryPolicy {
            max_retries: 30,
            ..RetryPolicy::default()
        };
        assert_eq!(
            big.decide(&e, 25, 1.0),
            Decision::RetryAfter(Duration::from_secs(8))
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.decide(&status(429, Some(3)), 1, 0.0),
            Decision::RetryAfter(Duration::from_secs(3))
        );
        let limited = RegistryError::RateLimited {
            registry: "r".into(),
            retry_after: Some(Duration::from_secs(1)),
        };
        assert_eq!(
            p.decide(&limited, 1, 0.9),
            Decision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(p.decide(&status(503, Some(3600)), 1, 0.0), Decision::GiveUp);
        assert_eq!(
            p.clone().no_delay().decide(&status(429, Some(3)), 1, 0.0),
            Decision::RetryAfter(Duration::ZERO)
        );
    }
}
