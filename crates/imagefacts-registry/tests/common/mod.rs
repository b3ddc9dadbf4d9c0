//! Test support shared by the registry crate's integration tests.

use imagefacts_registry::credentials::Lookup;
use imagefacts_registry::{AuthSource, Candidate, Credential, CredentialSource};

/// One credential for every registry (tests only: real sources are per registry).
#[derive(Debug)]
pub(crate) struct Fixed(pub(crate) Credential);

impl CredentialSource for Fixed {
    fn candidates(&self, _registry: &str, _repository: &str) -> Vec<Lookup> {
        vec![Ok(Candidate {
            credential: self.0.clone(),
            source: AuthSource::new("test", "fixed"),
        })]
    }
}
