//! The values [`super::Routes`] hands out: endpoints, host settings, credentials, refusals.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::credentials::Credential;

/// How to speak to an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP, used directly (never HTTPS first).
    Http,
    /// HTTPS only.
    Https,
}

/// One place to try for a pull, in the order [`super::Routes::route`] gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` to connect to: a mirror's, or the upstream's API host
    /// (`registry-1.docker.io` for Docker Hub).
    pub host: String,
    /// Repository to ask for there, after a registries.conf `location` or `--mirror` prefix
    /// rewrite or a k3s `rewrite`.
    pub repository: String,
    /// `Some(Http)` when configured as plain HTTP (use it directly), `Some(Https)` when explicitly
    /// https, `None` when unspecified (HTTPS, falling back to HTTP only where
    /// [`HostSettings::plain_http`] allows).
    pub scheme: Option<Scheme>,
    /// API root when not `/v2/`, with leading and trailing `/`: requests go to
    /// `{api_root}{repository}/manifests/{reference}`. Set by a containerd host URL path
    /// (`https://harbor.example/v2/proxy-docker` with `override_path = true` gives
    /// `/v2/proxy-docker/`; `https://mirror.example/us` without it gives `/us/v2/`) or a k3s
    /// endpoint path other than `/v2`.
    pub api_root: Option<String>,
    /// Whether this is another host than the reference's own registry (containerd then adds
    /// `?ns=<registry>` to requests).
    pub mirror: bool,
    /// Which file or flag made this route (no secrets), e.g.
    /// `hosts.toml:/etc/containerd/certs.d/docker.io/hosts.toml`; `default` when nothing did.
    pub origin: String,
}

impl HostSettings {
    /// Whether the host needs an HTTP client of its own (CA files, a client certificate, no
    /// verification, a dial timeout).
    pub fn has_tls_settings(&self) -> bool {
        !self.ca_files.is_empty()
            || self.client_identity.is_some()
            || self.skip_verify
            || self.dial_timeout.is_some()
    }

    /// A key naming the TLS settings (file paths, flags; no secret), so hosts with the same
    /// settings share one client.
    pub(crate) fn tls_key(&self) -> String {
        format!(
            "{:?}|{:?}|{}|{:?}",
            self.ca_files,
            self.client_identity
                .as_ref()
                .map(|c| (c.cert.as_path(), c.key.as_path())),
            self.skip_verify,
            self.dial_timeout
        )
    }
}

/// TLS and transport settings of one host, from whichever files named it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// Extra PEM CA bundles to trust for this host (beside the system roots).
    pub ca_files: Vec<PathBuf>,
    /// Client certificate to present.
    pub client_identity: Option<ClientIdentity>,
    /// Do not verify the host's certificate chain or name.
    pub skip_verify: bool,
    /// Plain HTTP may be used when HTTPS fails (registries.conf `insecure`; a containerd `http://`
    /// host that also has TLS settings, which containerd tries over HTTPS first).
    pub plain_http: bool,
    /// Extra request headers (containerd `[header]`); values may be secret and are never printed.
    pub headers: Vec<(String, String)>,
    /// Connect timeout (containerd `dial_timeout`).
    pub dial_timeout: Option<Duration>,
    /// Which files named this host, comma-separated.
    pub origin: String,
}

impl fmt::Debug for HostSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("HostSettings")
            .field("ca_files", &self.ca_files)
            .field("client_identity", &self.client_identity)
            .field("skip_verify", &self.skip_verify)
            .field("plain_http", &self.plain_http)
            .field("headers", &header_names)
            .field("dial_timeout", &self.dial_timeout)
            .field("origin", &self.origin)
            .finish()
    }
}

impl HostSettings {
    /// Unites `other` into `self` (see the module's merge rules).
    pub(super) fn absorb(&mut self, other: HostSettings) {
        for ca in other.ca_files {
            if !self.ca_files.contains(&ca) {
                self.ca_files.push(ca);
            }
        }
        if self.client_identity.is_none() {
            self.client_identity = other.client_identity;
        }
        self.skip_verify |= other.skip_verify;
        self.plain_http |= other.plain_http;
        for h in other.headers {
            if !self.headers.contains(&h) {
                self.headers.push(h);
            }
        }
        self.dial_timeout = self.dial_timeout.or(other.dial_timeout);
        if self.origin.is_empty() {
            self.origin = other.origin;
        } else if !other.origin.is_empty() && !self.origin.split(", ").any(|o| o == other.origin) {
            self.origin = format!("{}, {}", self.origin, other.origin);
        }
    }
}

/// A client certificate and its key (the same file when one PEM holds both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// PEM certificate (chain).
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// A credential a file gave for a host (k3s `configs.<host>.auth`). Its `Debug` never shows the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAuth {
    /// The credential.
    pub credential: Credential,
    /// The file that gave it.
    pub origin: String,
}

/// A pull that a configuration forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{registry}/{repository} is blocked by {origin}")]
pub struct Blocked {
    /// The registry asked for (normalised).
    pub registry: String,
    /// The repository asked for.
    pub repository: String,
    /// The file that blocks it.
    pub origin: String,
}
