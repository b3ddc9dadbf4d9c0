//! Why fetching one image's content failed: the registry's error, or the cache's silence
//! when no request may be made.

use imagefacts_model::facts::{ErrorKind, FactsError};
use imagefacts_registry::RegistryError;

/// A failure while fetching one image's content.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    /// The registry failed or refused.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// `--offline`, and the cache does not hold what is needed.
    #[error("{what} is not in the cache (--offline makes no request)")]
    NotCached {
        /// What was missing (`tag r/a:1`, `manifest sha256:…`).
        what: String,
    },
}

impl FetchError {
    /// The registry's error, when it is one.
    pub(crate) fn registry(&self) -> Option<&RegistryError> {
        match self {
            FetchError::Registry(e) => Some(e),
            FetchError::NotCached { .. } => None,
        }
    }

    /// The typed error written into facts.json.
    pub(crate) fn to_facts_error(&self) -> FactsError {
        match self {
            FetchError::Registry(e) => e.to_facts_error(),
            FetchError::NotCached { .. } => FactsError {
                kind: ErrorKind::NotCached,
                message: self.to_string(),
                retryable: true,
                status: None,
                code: None,
                attempts: None,
            },
        }
    }
}
