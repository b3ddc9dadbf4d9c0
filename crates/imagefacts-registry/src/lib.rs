//! The OCI distribution protocol, as imagefacts speaks it to registries.
//!
//! [`RegistryClient`] learns each registry's endpoint from its first request, answers `Basic`
//! and `Bearer` challenges (tokens cached per realm, scope and credential until they expire,
//! re-authenticating once on a 401; secrets only to realms trusted like the registry itself),
//! resolves tags with `HEAD`, fetches manifests with the full `Accept` list and blobs through
//! redirects, verifies the sha256 of every body and caps its size; lists a repository's tags and
//! an image's OCI 1.1 referrers ([`RegistryClient::list_tags`], [`RegistryClient::referrers`])
//! following `Link` pagination. Credentials come from a
//! [`CredentialSource`]; none is ever printed. [`routes`] reads where a node sends pulls
//! (containerd `hosts.toml`, `registries.conf`, k3s `registries.yaml`, `--mirror`): mirrors,
//! rewrites, blocked prefixes and per-host TLS.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use imagefacts_registry::{ClientConfig, RegistryClient};
//!
//! let client = RegistryClient::new(ClientConfig::default())?;
//! let reference = "ghcr.io/org/app:1.2".parse()?;
//! let fetched = client.get_manifest(&reference).await?;
//! println!("{} is {}", reference, fetched.digest);
//! # Ok(()) }
//! ```

mod auth;
pub mod challenge;
mod client;
pub mod config;
pub mod credentials;
mod error;
mod limiter;
mod listing;
pub mod observe;
pub mod redact;
mod response;
pub mod retry;
pub mod routes;
mod transport;

pub use client::{ClientBuilder, FetchedManifest, ManifestHead, RegistryClient, Served, ServedBy};
pub use config::ClientConfig;
pub use credentials::{
    Anonymous, AuthSource, Candidate, Credential, CredentialChain, CredentialError,
    CredentialSource, DockerConfig, HelperRunner, Static,
};
pub use error::{RegistryError, Result};
pub use listing::{Referrers, TagList};
pub use observe::{Observer, RetryEvent};
pub use response::parse_retry_after;
pub use retry::{RetryPolicy, RetryWindow};
