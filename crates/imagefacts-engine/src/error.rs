//! Why fetching one image's content failed: the registry's error, or the cache's silence
//! when no request may be made.

use imagefacts_model::facts::{ErrorKind, FactsError, Step};
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
    /// An index without a child for the platform asked for, or with children of unknown
    /// platforms only (an index of artifacts only is an artifact, not this error).
    #[error("{message}")]
    NoRunnablePlatform {
        /// What the index holds and what was asked for.
        message: String,
    },
}

impl FetchError {
    /// The registry's error, when it is one.
    pub(crate) fn registry(&self) -> Option<&RegistryError> {
        match self {
            FetchError::Registry(e) => Some(e),
            FetchError::NotCached { .. } | FetchError::NoRunnablePlatform { .. } => None,
        }
    }

    /// The typed error written into facts.json.
    pub(crate) fn to_facts_error(&self) -> FactsError {
        match self {
            FetchError::Registry(e) => e.to_facts_error(),
            FetchError::NotCached { .. } => {
                FactsError::new(ErrorKind::NotCached, self.to_string(), true)
            }
            FetchError::NoRunnablePlatform { .. } => {
                FactsError::new(ErrorKind::NoRunnablePlatform, self.to_string(), false)
            }
        }
    }
}

/// A failure and the step of collecting an image it ended.
#[derive(Debug)]
pub(crate) struct StepError {
    /// Where it failed.
    pub(crate) step: Step,
    /// Why (boxed: registry errors are large, and this travels in `Result`s).
    pub(crate) error: Box<FetchError>,
}

impl StepError {
    /// `error`, failing at `step`.
    pub(crate) fn new(step: Step, error: FetchError) -> StepError {
        StepError {
            step,
            error: Box::new(error),
        }
    }

    /// The typed error written into facts.json, naming the step.
    pub(crate) fn to_facts_error(&self) -> FactsError {
        self.error.to_facts_error().at(self.step)
    }
}

/// Attaches the step to a fetch result.
pub(crate) trait AtStep<T> {
    /// This result, its error marked as failing at `step`.
    fn at(self, step: Step) -> Result<T, StepError>;
}

impl<T> AtStep<T> for Result<T, FetchError> {
    fn at(self, step: Step) -> Result<T, StepError> {
        self.map_err(|error| StepError::new(step, error))
    }
}
