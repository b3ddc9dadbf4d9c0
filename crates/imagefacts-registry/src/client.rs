//! The registry client: one shared HTTP connection pool, endpoints learnt from the first
//! request, bearer tokens per realm and scope, manifests and blobs with their digests verified
//! and their sizes capped.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use imagefacts_model::facts::RateLimit;
use imagefacts_model::manifest::{self, ImageConfig, Manifest, ManifestError};
use imagefacts_model::media_type;
use imagefacts_model::reference::Target;
use imagefacts_model::{Digest, Reference};
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;

use crate::config::ClientConfig;
use crate::credentials::{Anonymous, AuthSource, CredentialSource};
use crate::error::{RegistryError, Result};
use crate::observe::{Observer, Quiet};
use crate::response::{header_digest, header_str, verify};
use crate::retry::{RetryPolicy, RetryWindow};
use crate::routes::HostSettings;
use crate::transport::{Ask, MAX_ERROR_BODY, RegistryState};

/// A manifest fetched from a registry, its digest verified.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The verified digest of `bytes`.
    pub digest: Digest,
    /// The body exactly as served.
    pub bytes: Vec<u8>,
    /// The parsed manifest.
    pub manifest: Manifest,
}

/// What a manifest `HEAD` told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// `Docker-Content-Digest`, when the registry sent one.
    pub digest: Option<Digest>,
    /// `Content-Type`.
    pub media_type: Option<String>,
}

struct Inner {
    verified: reqwest::Client,
    unverified: reqwest::Client,
    /// The CA certificates of `config.ca_files`, for the clients of hosts with settings of their own.
    certs: Vec<reqwest::Certificate>,
    /// Clients of hosts with TLS settings of their own (certs.d, hosts.toml, k3s `configs`), by
    /// those settings.
    per_host: Mutex<HashMap<String, reqwest::Client>>,
    config: ClientConfig,
    observer: Arc<dyn Observer>,
    registries: Mutex<HashMap<String, Arc<RegistryState>>>,
    /// HTTP requests sent (each attempt, each redirect hop, each token fetch).
    requests: AtomicU64,
}

/// What served one image's requests, as each successful exchange records it: the source of the
/// credential sent (or `anonymous`) and the endpoint that answered. Shared by the requests of one
/// client view ([`RegistryClient::with_served`]); the last exchange's answer stands.
#[derive(Debug, Default)]
pub struct Served(Mutex<ServedBy>);

/// The contents of a [`Served`] record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServedBy {
    /// Where the credential sent came from; `anonymous` when none was sent.
    pub auth_source: Option<AuthSource>,
    /// The endpoint that answered (`https://host[:port]`, no credentials, no path).
    pub endpoint: Option<String>,
}

impl Served {
    /// What was recorded so far.
    pub fn get(&self) -> ServedBy {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn record(&self, auth_source: AuthSource, endpoint: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = ServedBy {
            auth_source: Some(auth_source),
            endpoint: Some(endpoint),
        };
    }
}

/// A client for the OCI distribution API. Cheap to clone; clones share connections, endpoints,
/// tokens and per-registry limits. [`RegistryClient::with_credential_source`] gives a view that
/// shares all of that but takes credentials from elsewhere (the pull secrets of one namespace).
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
    credentials: Arc<dyn CredentialSource>,
    window: Option<RetryWindow>,
    served: Option<Arc<Served>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("config", &self.inner.config)
            .field("credentials", &self.credentials)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

fn http_builder(config: &ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(&config.user_agent)
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(32)
}

/// Builds a [`RegistryClient`].
#[derive(Debug)]
pub struct ClientBuilder {
    config: ClientConfig,
    credentials: Arc<dyn CredentialSource>,
    observer: Arc<dyn Observer>,
}

impl ClientBuilder {
    /// Where credentials come from (default: anonymous).
    pub fn credentials(mut self, credentials: Arc<dyn CredentialSource>) -> ClientBuilder {
        self.credentials = credentials;
        self
    }

    /// Who hears about retries (default: nobody).
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> ClientBuilder {
        self.observer = observer;
        self
    }

    /// The client.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Config`] when a CA file cannot be read or holds no certificate.
    pub fn build(self) -> Result<RegistryClient> {
        // The process-wide TLS crypto provider; another component may have installed it first.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = self.config;
        let mut certs = Vec::new();
        for path in &config.ca_files {
            let pem = std::fs::read(path).map_err(|e| RegistryError::Config {
                detail: format!("cannot read CA file {}: {e}", path.display()),
            })?;
            let found = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| RegistryError::Config {
                    detail: format!("CA file {} holds no PEM certificate", path.display()),
                })?;
            certs.extend(found);
        }
        let build_error = |e: reqwest::Error| RegistryError::Config {
            detail: format!("cannot build the HTTP client: {e}"),
        };
        let verified = http_builder(&config)
            .tls_certs_merge(certs.clone())
            .build()
            .map_err(build_error)?;
        let unverified = http_builder(&config)
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map_err(build_error)?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                verified,
                unverified,
                certs,
                per_host: Mutex::new(HashMap::new()),
                config,
                observer: self.observer,
                requests: AtomicU64::new(0),
                registries: Mutex::new(HashMap::new()),
            }),
            credentials: self.credentials,
            window: None,
            served: None,
        })
    }
}

impl RegistryClient {
    /// A builder starting from `config`.
    pub fn builder(config: ClientConfig) -> ClientBuilder {
        ClientBuilder {
            config,
            credentials: Arc::new(Anonymous),
            observer: Arc::new(Quiet),
        }
    }

    /// A client with `config`, anonymous.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Config`] when a CA file cannot be read or holds no certificate.
    pub fn new(config: ClientConfig) -> Result<RegistryClient> {
        RegistryClient::builder(config).build()
    }

    /// A client with `config` taking credentials from `credentials`.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Config`] when a CA file cannot be read or holds no certificate.
    pub fn with_credentials(
        config: ClientConfig,
        credentials: Arc<dyn CredentialSource>,
    ) -> Result<RegistryClient> {
        RegistryClient::builder(config)
            .credentials(credentials)
            .build()
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Where this client takes credentials from.
    pub fn credential_source(&self) -> Arc<dyn CredentialSource> {
        self.credentials.clone()
    }

    /// The same client (connections, endpoints, tokens, limits) taking credentials from
    /// `credentials` instead. Tokens stay cached per credential, so views never mix them up.
    pub fn with_credential_source(&self, credentials: Arc<dyn CredentialSource>) -> RegistryClient {
        RegistryClient {
            inner: self.inner.clone(),
            credentials,
            window: self.window,
            served: self.served.clone(),
        }
    }

    /// The same client, its retries bounded by `window` (one image's retry time, shared by all
    /// its requests).
    pub fn with_retry_window(&self, window: RetryWindow) -> RegistryClient {
        RegistryClient {
            window: Some(window),
            ..self.clone()
        }
    }

    pub(crate) fn retry_window(&self) -> Option<RetryWindow> {
        self.window
    }

    /// The same client, recording into `served` which credential source and endpoint served
    /// its requests (one image's).
    pub fn with_served(&self, served: Arc<Served>) -> RegistryClient {
        RegistryClient {
            served: Some(served),
            ..self.clone()
        }
    }

    pub(crate) fn served(&self) -> Option<&Served> {
        self.served.as_deref()
    }

    /// How many HTTP requests this client and its views have sent so far: every attempt of
    /// every request (retries included), every redirect hop and every token fetch that reached
    /// a server, whatever its answer. An attempt that never connected (refused, a failed TLS
    /// handshake, such as the TLS try of an `--insecure-registry` that speaks plain HTTP) is
    /// not counted.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// The counter [`RegistryClient::requests_sent`] reads: bumped by whoever sends a request.
    pub(crate) fn request_counter(&self) -> &AtomicU64 {
        &self.inner.requests
    }

    pub(crate) fn observer(&self) -> &dyn Observer {
        self.inner.observer.as_ref()
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.config.retry
    }

    pub(crate) fn state(&self, registry: &str) -> Arc<RegistryState> {
        let mut map = self
            .inner
            .registries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(registry.to_owned())
            .or_insert_with(|| Arc::new(RegistryState::new(self.inner.config.per_registry)))
            .clone()
    }

    /// The HTTP client for `host` (`host[:port]`), whose route `settings` are given: the shared
    /// one, or, when they hold TLS settings of its own (CA files, a client certificate, no
    /// verification, a dial timeout), one built for them once. `insecure` skips verification.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Tls`] when the host's CA or client certificate files cannot be used.
    pub(crate) fn http(
        &self,
        host: &str,
        settings: Option<&HostSettings>,
        insecure: bool,
    ) -> Result<reqwest::Client> {
        let Some(settings) = settings.filter(|s| s.has_tls_settings()) else {
            return Ok(if insecure {
                self.inner.unverified.clone()
            } else {
                self.inner.verified.clone()
            });
        };
        let key = format!("{}|{insecure}", settings.tls_key());
        let mut clients = self
            .inner
            .per_host
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let fail = |detail: String| RegistryError::Tls {
            registry: host.to_owned(),
            detail: format!(
                "the TLS settings of {host} from {}: {detail}",
                settings.origin
            ),
        };
        let mut builder =
            http_builder(&self.inner.config).tls_certs_merge(self.inner.certs.clone());
        for path in &settings.ca_files {
            let pem = std::fs::read(path)
                .map_err(|e| fail(format!("cannot read CA file {}: {e}", path.display())))?;
            let found = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    fail(format!(
                        "CA file {} holds no PEM certificate",
                        path.display()
                    ))
                })?;
            builder = builder.tls_certs_merge(found);
        }
        if let Some(identity) = &settings.client_identity {
            let mut pem = std::fs::read(&identity.cert).map_err(|e| {
                fail(format!(
                    "cannot read client certificate {}: {e}",
                    identity.cert.display()
                ))
            })?;
            if identity.key != identity.cert {
                pem.push(b'\n');
                pem.extend(std::fs::read(&identity.key).map_err(|e| {
                    fail(format!(
                        "cannot read client key {}: {e}",
                        identity.key.display()
                    ))
                })?);
            }
            let identity = reqwest::Identity::from_pem(&pem).map_err(|_| {
                fail(format!(
                    "client certificate {} and key {} are not a PEM certificate and key",
                    identity.cert.display(),
                    identity.key.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        if settings.skip_verify || insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(timeout) = settings.dial_timeout {
            builder = builder.connect_timeout(timeout);
        }
        let client = builder
            .build()
            .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// The current concurrency limit of `registry` (lowered by 429s, recovering with successes).
    pub fn concurrency_limit(&self, registry: &str) -> usize {
        self.state(registry).limit.limit()
    }

    /// The rate limits registries announced (Docker Hub's `ratelimit-*` headers), by registry.
    pub fn rate_limits(&self) -> BTreeMap<String, RateLimit> {
        let map = self
            .inner
            .registries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter_map(|(registry, state)| {
                let rl = state
                    .rate_limit
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()?;
                Some((registry.clone(), rl))
            })
            .collect()
    }

    /// `HEAD` of a manifest: its digest without its body.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`]; a missing tag is [`RegistryError::NotFound`].
    pub async fn head_manifest(&self, reference: &Reference) -> Result<ManifestHead> {
        let x = self
            .manifest_exchange(reference, &Method::HEAD, None)
            .await?;
        Ok(ManifestHead {
            digest: header_digest(reference.registry(), &x.headers)?,
            media_type: header_str(&x.headers, CONTENT_TYPE.as_str()).map(str::to_owned),
        })
    }

    /// A request to `reference`'s manifest endpoint with the full `Accept` list.
    async fn manifest_exchange(
        &self,
        reference: &Reference,
        method: &Method,
        body: Option<(u64, &'static str)>,
    ) -> Result<crate::transport::Exchange> {
        let accept = media_type::manifest_accept_header();
        self.exchange(Ask {
            registry: reference.registry(),
            repository: reference.repository(),
            method,
            path: &format!("manifests/{}", reference.target()),
            accept: Some(&accept),
            what: &manifest_what(reference),
            body,
        })
        .await
    }

    /// Resolves `reference` to a manifest digest: the pinned digest when it has one, else a `HEAD`,
    /// falling back to a verified `GET` when the registry sends no `Docker-Content-Digest`.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`].
    pub async fn resolve(&self, reference: &Reference) -> Result<Digest> {
        if let Some(d) = reference.digest() {
            return Ok(d.clone());
        }
        match self.head_manifest(reference).await?.digest {
            Some(d) => Ok(d),
            None => Ok(self.get_manifest(reference).await?.digest),
        }
    }

    /// `GET` of a manifest with the full `Accept` list. The body's sha256 is checked against the
    /// digest asked for, or the `Docker-Content-Digest` announced for a tag.
    ///
    /// # Errors
    ///
    /// [`RegistryError::DigestMismatch`], [`RegistryError::TooLarge`] (over
    /// [`ClientConfig::max_manifest_bytes`]), [`RegistryError::Manifest`] for schema 1 and other
    /// unsupported or malformed manifests, and any transport or status error.
    pub async fn get_manifest(&self, reference: &Reference) -> Result<FetchedManifest> {
        let target = reference.target();
        let limit = (self.inner.config.max_manifest_bytes, "manifest");
        let x = self
            .manifest_exchange(reference, &Method::GET, Some(limit))
            .await?;
        let announced = header_digest(reference.registry(), &x.headers)?;
        let content_type = header_str(&x.headers, CONTENT_TYPE.as_str());
        // Parse first: a schema 1 manifest is reported as unsupported, whatever its digest says.
        let parsed = manifest::parse_manifest(&x.body, content_type);
        if let Err(source @ ManifestError::Schema1 { .. }) = parsed {
            return Err(RegistryError::Manifest { url: x.url, source });
        }
        let expected = match target {
            Target::Digest(d) => Some(d.clone()),
            Target::Tag(_) => announced,
        };
        let digest = verify(&x.url, expected, &x.body)?;
        let manifest = parsed.map_err(|source| RegistryError::Manifest {
            url: x.url.clone(),
            source,
        })?;
        Ok(FetchedManifest {
            digest,
            bytes: x.body,
            manifest,
        })
    }

    /// `GET` of a blob by digest, verified and capped at `limit` bytes. Redirects to other hosts
    /// are followed without the registry's credentials.
    ///
    /// # Errors
    ///
    /// [`RegistryError::DigestMismatch`], [`RegistryError::TooLarge`], and any transport or status error.
    pub async fn get_blob(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
        limit: u64,
        what: &'static str,
    ) -> Result<Vec<u8>> {
        let x = self
            .exchange(Ask {
                registry,
                repository,
                method: &Method::GET,
                path: &format!("blobs/{digest}"),
                accept: None,
                what: &format!("{what} {digest}"),
                body: Some((limit, what)),
            })
            .await?;
        verify(&x.url, Some(digest.clone()), &x.body)?;
        Ok(x.body)
    }

    /// Whether `repository` exists on `registry`, asked with `GET tags/list?n=1`. Used to tell
    /// "repository unknown" from "manifest unknown": distribution answers `MANIFEST_UNKNOWN` for both
    /// on the manifest endpoint.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`] other than a 404.
    pub async fn repository_exists(&self, registry: &str, repository: &str) -> Result<bool> {
        let result = self
            .exchange(Ask {
                registry,
                repository,
                method: &Method::GET,
                path: "tags/list?n=1",
                accept: None,
                what: &format!("repository {repository}"),
                body: Some((MAX_ERROR_BODY as u64, "tag list")),
            })
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(RegistryError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Fetches and parses an image config blob.
    ///
    /// # Errors
    ///
    /// As [`RegistryClient::get_blob`], plus [`RegistryError::Manifest`] when the blob is not a config.
    pub async fn get_config(
        &self,
        registry: &str,
        repository: &str,
        digest: &Digest,
    ) -> Result<(Vec<u8>, ImageConfig)> {
        let bytes = self
            .get_blob(
                registry,
                repository,
                digest,
                self.inner.config.max_config_bytes,
                "config",
            )
            .await?;
        let config = manifest::parse_config(&bytes).map_err(|source| RegistryError::Manifest {
            url: format!("{registry}/{repository}@{digest}"),
            source,
        })?;
        Ok((bytes, config))
    }
}

/// How a manifest is named in errors: `manifest library/nginx:1.25`.
fn manifest_what(reference: &Reference) -> String {
    match reference.target() {
        Target::Tag(t) => format!("manifest {}:{t}", reference.repository()),
        Target::Digest(d) => format!("manifest {}@{d}", reference.repository()),
    }
}
