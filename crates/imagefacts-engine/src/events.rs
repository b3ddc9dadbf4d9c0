//! Progress events the engine reports while it collects.

use imagefacts_model::facts::{ErrorKind, FactsSource, ImageFacts};
use imagefacts_model::{Digest, ImageRef};

/// Something that happened during a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Collection starts for `total` entries.
    Started {
        /// Number of entries the run will produce.
        total: usize,
    },
    /// One unit of work finished with facts.
    ImageDone {
        /// The reference as written.
        reference: ImageRef,
        /// Registry host.
        registry: String,
        /// The resolved digest.
        digest: Option<Digest>,
        /// Where the facts came from.
        source: FactsSource,
    },
    /// One unit of work finished with an error.
    ImageFailed {
        /// The reference as written.
        reference: ImageRef,
        /// Registry host.
        registry: String,
        /// The error class.
        kind: ErrorKind,
        /// The error, one line.
        message: String,
    },
}

impl Event {
    /// The event for a finished entry.
    pub fn image(facts: &ImageFacts) -> Event {
        match facts.error.get() {
            Some(e) => Event::ImageFailed {
                reference: facts.reference.clone(),
                registry: facts.registry.clone(),
                kind: e.kind,
                message: e.message.clone(),
            },
            None => Event::ImageDone {
                reference: facts.reference.clone(),
                registry: facts.registry.clone(),
                digest: facts.digest.clone(),
                source: facts.source,
            },
        }
    }
}

/// Receives events; called from the collecting task: keep it quick.
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// An event happened.
    fn event(&self, event: &Event);
}

/// Ignores events.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn event(&self, _event: &Event) {}
}
