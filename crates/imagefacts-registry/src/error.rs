//! The registry boundary's error type and its mapping onto facts.json error classes.

use std::time::Duration;

use imagefacts_model::Digest;
use imagefacts_model::facts::{ErrorKind, FactsError};
use imagefacts_model::manifest::ManifestError;

/// A `Result` whose error is [`RegistryError`].
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a registry.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    /// The client could not be configured (unreadable CA file, ...).
    #[error("{detail}")]
    Config {
        /// What is wrong.
        detail: String,
    },
    /// Credentials were missing or refused.
    #[error("{registry}: authentication failed for {repository} (HTTP {status}){}", fmt_detail(.detail))]
    Unauthorized {
        /// Registry host.
        registry: String,
        /// Repository asked for.
        repository: String,
        /// 401 or 403.
        status: u16,
        /// The registry's error code, when it sent one.
        code: Option<String>,
        /// The registry's message.
        detail: Option<String>,
    },
    /// A token realm that may not receive the credential (plain HTTP on a host no
    /// `--insecure-registry` names) was asked anonymously, and the anonymous request was refused.
    #[error(
        "{registry}: the credential for {repository} was not sent to token realm {realm} ({reason}); the anonymous request was refused (HTTP {status})"
    )]
    CredentialWithheld {
        /// Registry host.
        registry: String,
        /// Repository asked for.
        repository: String,
        /// Token endpoint URL (redacted).
        realm: String,
        /// Why the credential was withheld.
        reason: String,
        /// The refusal's HTTP status (at the realm or at the registry).
        status: u16,
    },
    /// No credential could be had for the registry: a credential helper failed, or the
    /// credential is known to have expired. No request was sent with it.
    #[error("{registry}: no credential for {repository}: {source}")]
    Credential {
        /// Registry host.
        registry: String,
        /// Repository asked for.
        repository: String,
        /// Why.
        #[source]
        source: Box<crate::credentials::CredentialError>,
    },
    /// A route forbids the pull (registries.conf `blocked`), or leaves no endpoint for it. No
    /// request was made.
    #[error("{registry}/{repository} is not pulled: {detail}")]
    Blocked {
        /// Registry host.
        registry: String,
        /// Repository asked for.
        repository: String,
        /// Which file blocked it, or why no endpoint serves it.
        detail: String,
    },
    /// The token endpoint refused or failed.
    #[error("{registry}: token endpoint {realm} answered HTTP {status}{}", fmt_detail(.detail))]
    TokenEndpoint {
        /// Registry host.
        registry: String,
        /// Token endpoint URL (redacted).
        realm: String,
        /// HTTP status.
        status: u16,
        /// The endpoint's message.
        detail: Option<String>,
    },
    /// Repository, tag, manifest or blob unknown.
    #[error("{registry}: {what} not found{}", fmt_code(.code))]
    NotFound {
        /// Registry host.
        registry: String,
        /// What was asked for (`library/nginx:1.0`, `blob sha256:...`).
        what: String,
        /// The registry's error code (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`).
        code: Option<String>,
    },
    /// HTTP 429.
    #[error("{registry}: rate limited (HTTP 429){}", .retry_after.map(|d| format!(", retry after {}s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// Registry host.
        registry: String,
        /// The `Retry-After` the registry asked for.
        retry_after: Option<Duration>,
    },
    /// Any other unexpected HTTP status.
    #[error("{registry}: {url} answered HTTP {status}{}{}", fmt_code(.code), fmt_detail(.detail))]
    Status {
        /// Registry host.
        registry: String,
        /// Request URL (redacted).
        url: String,
        /// HTTP status.
        status: u16,
        /// The registry's error code.
        code: Option<String>,
        /// The registry's message.
        detail: Option<String>,
        /// The `Retry-After` the registry asked for.
        retry_after: Option<Duration>,
    },
    /// Could not connect or the connection broke.
    #[error("{registry}: connection failed: {detail}")]
    Network {
        /// Registry host.
        registry: String,
        /// The transport's message.
        detail: String,
    },
    /// TLS handshake or certificate verification failed.
    #[error("{registry}: TLS failed: {detail}")]
    Tls {
        /// Registry host.
        registry: String,
        /// The TLS stack's message.
        detail: String,
    },
    /// A request took longer than its timeout or stalled.
    #[error("{registry}: {url} timed out")]
    Timeout {
        /// Registry host.
        registry: String,
        /// Request URL (redacted).
        url: String,
    },
    /// Content did not hash to the digest it was asked for or announced with.
    #[error("{url}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Request URL (redacted).
        url: String,
        /// Expected digest.
        expected: Digest,
        /// Computed digest.
        actual: Digest,
    },
    /// Content exceeded its size cap.
    #[error("{url}: {what} exceeds the {limit}-byte limit{}", .size.map(|s| format!(" ({s} bytes)")).unwrap_or_default())]
    TooLarge {
        /// Request URL (redacted).
        url: String,
        /// What was read ("manifest", "config").
        what: &'static str,
        /// The cap.
        limit: u64,
        /// The announced size, when known.
        size: Option<u64>,
    },
    /// A manifest or config that could not be used.
    #[error("{url}: {source}")]
    Manifest {
        /// Request URL (redacted).
        url: String,
        /// Why.
        #[source]
        source: ManifestError,
    },
    /// A retryable failure that persisted through every attempt, or past the retry window.
    #[error("{last} (gave up after {attempts} attempts{})", .window.map(|w| format!("; the image's {}s of retrying are spent", w.as_secs())).unwrap_or_default())]
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<RegistryError>,
        /// The retry window that ended the retries, when it was that and not the attempt count.
        window: Option<Duration>,
    },
    /// The registry's answer was not what the protocol promises (bad header, too many redirects).
    #[error("{registry}: protocol error: {detail}")]
    Protocol {
        /// Registry host.
        registry: String,
        /// What was wrong.
        detail: String,
    },
}

fn fmt_detail(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

fn fmt_code(code: &Option<String>) -> String {
    code.as_deref()
        .map(|c| format!(" ({c})"))
        .unwrap_or_default()
}

impl RegistryError {
    /// The facts.json class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Config { .. } => ErrorKind::Server,
            RegistryError::Unauthorized { .. }
            | RegistryError::CredentialWithheld { .. }
            | RegistryError::Credential { .. } => ErrorKind::Auth,
            RegistryError::TokenEndpoint { status, .. } => match status {
                401 | 403 => ErrorKind::Auth,
                429 => ErrorKind::RateLimited,
                _ => ErrorKind::Server,
            },
            RegistryError::NotFound { .. } => ErrorKind::NotFound,
            RegistryError::Blocked { .. } => ErrorKind::Blocked,
            RegistryError::RateLimited { .. } => ErrorKind::RateLimited,
            RegistryError::Status { status, .. } => match status {
                401 | 403 => ErrorKind::Auth,
                404 => ErrorKind::NotFound,
                408 => ErrorKind::Timeout,
                429 => ErrorKind::RateLimited,
                _ => ErrorKind::Server,
            },
            RegistryError::Network { .. } => ErrorKind::Network,
            RegistryError::Tls { .. } => ErrorKind::Tls,
            RegistryError::Timeout { .. } => ErrorKind::Timeout,
            RegistryError::DigestMismatch { .. } => ErrorKind::DigestMismatch,
            RegistryError::TooLarge { .. } => ErrorKind::TooLarge,
            RegistryError::Manifest { source, .. } => match source {
                ManifestError::Malformed { .. } => ErrorKind::InvalidManifest,
                ManifestError::Schema1 { .. } | ManifestError::UnsupportedMediaType { .. } => {
                    ErrorKind::Unsupported
                }
            },
            RegistryError::Protocol { .. } => ErrorKind::Server,
            RegistryError::GaveUp { last, .. } => last.kind(),
        }
    }

    /// The wait the registry asked for (`Retry-After`), when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RegistryError::RateLimited { retry_after, .. }
            | RegistryError::Status { retry_after, .. } => *retry_after,
            RegistryError::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// How many attempts were made (1 unless retried).
    pub fn attempts(&self) -> u32 {
        match self {
            RegistryError::GaveUp { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// The HTTP status behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Unauthorized { status, .. }
            | RegistryError::CredentialWithheld { status, .. }
            | RegistryError::TokenEndpoint { status, .. }
            | RegistryError::Status { status, .. } => Some(*status),
            RegistryError::NotFound { .. } => Some(404),
            RegistryError::RateLimited { .. } => Some(429),
            RegistryError::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }

    /// The registry's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            RegistryError::Unauthorized { code, .. }
            | RegistryError::NotFound { code, .. }
            | RegistryError::Status { code, .. } => code.as_deref(),
            RegistryError::GaveUp { last, .. } => last.code(),
            _ => None,
        }
    }

    /// Whether trying again may succeed: connection failures, timeouts, 408, 429 and 5xx.
    pub fn retryable(&self) -> bool {
        match self {
            RegistryError::Network { .. }
            | RegistryError::Timeout { .. }
            | RegistryError::RateLimited { .. } => true,
            RegistryError::Status { status, .. } | RegistryError::TokenEndpoint { status, .. } => {
                matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
            }
            RegistryError::GaveUp { last, .. } => last.retryable(),
            _ => false,
        }
    }

    /// The typed error written into facts.json.
    pub fn to_facts_error(&self) -> FactsError {
        FactsError {
            kind: self.kind(),
            message: self.to_string(),
            retryable: self.retryable(),
            status: self.status(),
            code: self.code().map(str::to_owned),
            attempts: (self.attempts() > 1).then(|| self.attempts()),
            step: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_messages() {
        let e = RegistryError::NotFound {
            registry: "r".into(),
            what: "a/b:1".into(),
            code: Some("MANIFEST_UNKNOWN".into()),
        };
        assert_eq!(e.to_string(), "r: a/b:1 not found (MANIFEST_UNKNOWN)");
        let fe = e.to_facts_error();
        assert_eq!(
            (fe.kind, fe.status, fe.retryable),
            (ErrorKind::NotFound, Some(404), false)
        );
        let e = RegistryError::Status {
            registry: "r".into(),
            url: "https://r/v2/".into(),
            status: 503,
            code: None,
            detail: None,
            retry_after: None,
        };
        assert!(e.retryable());
        let gave_up = RegistryError::GaveUp {
            attempts: 5,
            last: Box::new(e.clone()),
            window: None,
        };
        assert_eq!(gave_up.kind(), ErrorKind::Server);
        assert_eq!(gave_up.to_facts_error().attempts, Some(5));
        assert!(gave_up.to_string().ends_with("(gave up after 5 attempts)"));
        assert_eq!(e.kind(), ErrorKind::Server);
        let e = RegistryError::RateLimited {
            registry: "r".into(),
            retry_after: Some(Duration::from_secs(3)),
        };
        assert_eq!(e.to_string(), "r: rate limited (HTTP 429), retry after 3s");
    }
}
