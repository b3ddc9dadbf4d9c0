//! The retry policy: which failures are retried, and how long to wait before the next attempt.
//!
//! Connection failures, timeouts, 408, 429, 500, 502, 503 and 504 are retried with capped
//! exponential backoff and full jitter; a `Retry-After` is honoured up to a cap; other 4xx are
//! final. [`RetryPolicy::no_delay`] keeps the decisions and drops the waits, for tests.

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
