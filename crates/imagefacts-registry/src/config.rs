//! Client settings: TLS roots, insecure registries, timeouts and size caps.

use std::path::PathBuf;
use std::time::Duration;

use crate::retry::RetryPolicy;
use crate::routes::Routes;

/// Default cap on a manifest body (4 MiB, as containerd and distribution use).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// Default cap on a config blob (16 MiB).
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// How a [`crate::RegistryClient`] talks to registries.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Extra PEM CA bundles trusted beside the system roots.
    pub ca_files: Vec<PathBuf>,
    /// Registries (`host` or `host:port`) reached over plain HTTP or unverified TLS (HTTPS is
    /// tried first); `http://host[:port]` names one reached over plain HTTP directly.
    pub insecure_registries: Vec<String>,
    /// Limit on one whole request, headers and body.
    pub request_timeout: Duration,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// Limit on one read: a body that stalls longer fails with a timeout.
    pub read_timeout: Duration,
    /// Cap on manifest bodies.
    pub max_manifest_bytes: u64,
    /// Cap on config blobs.
    pub max_config_bytes: u64,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Requests in flight to one registry at most (halved on 429, recovering gradually).
    pub per_registry: usize,
    /// Which failures are retried, and how.
    pub retry: RetryPolicy,
    /// Mirrors, rewrites, blocked registries and per-host TLS, from the nodes' files and
    /// `--mirror` (empty: every pull goes to its own registry).
    pub routes: Routes,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            ca_files: Vec::new(),
            insecure_registries: Vec::new(),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(20),
            max_manifest_bytes: MAX_MANIFEST_BYTES,
            max_config_bytes: MAX_CONFIG_BYTES,
            user_agent: concat!("imagefacts/", env!("CARGO_PKG_VERSION")).to_owned(),
            per_registry: 16,
            retry: RetryPolicy::default(),
            routes: Routes::default(),
        }
    }
}

impl ClientConfig {
    /// The insecure registries as named, without an `http://` prefix.
    fn insecure_names(&self) -> impl Iterator<Item = (&str, bool)> {
        self.insecure_registries
            .iter()
            .map(|i| match i.strip_prefix("http://") {
                Some(name) => (name.trim_end_matches('/'), true),
                None => (i.as_str(), false),
            })
    }

    fn insecure_entry(&self, registry: &str) -> Option<bool> {
        let host = host_of(registry);
        self.insecure_names()
            .find(|(i, _)| {
                i.eq_ignore_ascii_case(registry) || (!has_port(i) && i.eq_ignore_ascii_case(host))
            })
            .map(|(_, plain)| plain)
    }

    /// Whether `registry` was named insecure. A name without a port matches every port of that host.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.insecure_entry(registry).is_some()
    }

    /// Whether `registry` was named `http://…` insecure: plain HTTP directly, no HTTPS attempt.
    pub fn is_plain_http(&self, registry: &str) -> bool {
        self.insecure_entry(registry) == Some(true)
    }
}

impl ClientConfig {
    /// Whether `host` (no port) is named by some insecure registry, whatever port that entry
    /// names. This is the rule for token realms: a realm on a host the user declared insecure
    /// may be reached over plain HTTP or unverified TLS, and receive the credential.
    pub fn is_insecure_host(&self, host: &str) -> bool {
        let host = host_of(host);
        self.insecure_names()
            .any(|(i, _)| host_of(i).eq_ignore_ascii_case(host))
    }
}

/// The host part of `host[:port]` (IPv6 in brackets kept).
fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry
            .split_once(']')
            .map_or(registry, |(h, _)| &registry[..=h.len()]);
    }
    registry.split(':').next().unwrap_or(registry)
}

fn has_port(registry: &str) -> bool {
    host_of(registry).len() != registry.len()
}

/// The host:port the API of `registry` lives on: Docker Hub's API is `registry-1.docker.io`.
pub fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_matching() {
        let c = ClientConfig {
            insecure_registries: vec!["127.0.0.1:5000".into(), "myreg".into(), "[::1]".into()],
            ..ClientConfig::default()
        };
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(!c.is_insecure("127.0.0.1:5001"));
        assert!(!c.is_insecure("127.0.0.1"));
        assert!(c.is_insecure("myreg"));
        assert!(c.is_insecure("myreg:8443"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(!c.is_insecure("docker.io"));
        assert!(c.is_insecure_host("127.0.0.1"));
        assert!(c.is_insecure_host("MYREG"));
        assert!(c.is_insecure_host("[::1]"));
        assert!(!c.is_insecure_host("localhost"));
        assert!(!c.is_insecure_host("127.0.0.2"));
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        let c = ClientConfig {
            insecure_registries: vec!["http://127.0.0.1:5000".into(), "127.0.0.1:6000".into()],
            ..ClientConfig::default()
        };
        assert!(c.is_insecure("127.0.0.1:5000") && c.is_plain_http("127.0.0.1:5000"));
        assert!(c.is_insecure("127.0.0.1:6000") && !c.is_plain_http("127.0.0.1:6000"));
        assert!(c.is_insecure_host("127.0.0.1"));
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
    }
}
