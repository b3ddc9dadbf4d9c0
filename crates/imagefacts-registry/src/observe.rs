//! Events the client reports while it works (retries), for progress output.

use std::time::Duration;

use imagefacts_model::facts::ErrorKind;

/// A request failed and will be tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryEvent {
    /// Registry host.
    pub registry: String,
    /// What was requested (`manifest library/nginx:1.25`, `config sha256:…`, `ping`).
    pub what: String,
    /// The attempt that failed (1-based).
    pub attempt: u32,
    /// The wait before the next attempt.
    pub delay: Duration,
    /// The class of the failure.
    pub kind: ErrorKind,
    /// The failure, one line.
    pub message: String,
}

/// Receives the client's events. Called from request tasks: keep it quick.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A request will be retried.
    fn retry(&self, event: &RetryEvent);
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn retry(&self, _event: &RetryEvent) {}
}
