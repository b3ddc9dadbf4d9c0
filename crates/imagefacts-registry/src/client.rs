//! The registry client: one shared HTTP connection pool, one `/v2/` ping per registry, bearer
//! tokens per scope, manifests and blobs with their digests verified and their sizes capped.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use imagefacts_model::manifest::{self, ImageConfig, Manifest, ManifestError};
use imagefacts_model::media_type;
use imagefacts_model::reference::Target;
use imagefacts_model::{Digest, Reference};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::TokenCache;
use crate::challenge::{Challenge, Scheme, parse_challenges};
use crate::config::{ClientConfig, api_host};
use crate::credentials::{Anonymous, Credential, CredentialSource};
use crate::error::{RegistryError, Result};
use crate::redact::redact_url;

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// Cap on an error response body read for its message.
const MAX_ERROR_BODY: usize = 64 * 1024;

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
    /// `Content-Length`.
    pub size: Option<u64>,
}

/// How one registry is reached, decided by the ping.
#[derive(Debug, Clone)]
struct Endpoint {
    base: Url,
    insecure: bool,
}

#[derive(Debug, Default)]
struct RegistryState {
    endpoint: OnceCell<std::result::Result<Endpoint, RegistryError>>,
    /// The latest challenge seen: from the ping, updated by later 401s.
    challenge: Mutex<Option<Challenge>>,
    tokens: TokenCache,
}

struct Inner {
    verified: reqwest::Client,
    unverified: reqwest::Client,
    config: ClientConfig,
    credentials: Arc<dyn CredentialSource>,
    registries: Mutex<HashMap<String, Arc<RegistryState>>>,
}

/// A client for the OCI distribution API. Cheap to clone; clones share connections, pings and tokens.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("config", &self.inner.config)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

fn builder(config: &ClientConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(&config.user_agent)
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(32)
}

impl RegistryClient {
    /// A client with `config`, anonymous.
    ///
    /// # Errors
    ///
    /// [`RegistryError::Config`] when a CA file cannot be read or holds no certificate.
    pub fn new(config: ClientConfig) -> Result<RegistryClient> {
        RegistryClient::with_credentials(config, Arc::new(Anonymous))
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
        let verified = builder(&config)
            .tls_certs_merge(certs)
            .build()
            .map_err(|e| RegistryError::Config {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        let unverified = builder(&config)
            .tls_danger_accept_invalid_certs(true)
            .build()
            .map_err(|e| RegistryError::Config {
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(RegistryClient {
            inner: Arc::new(Inner {
                verified,
                unverified,
                config,
                credentials,
                registries: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    fn state(&self, registry: &str) -> Arc<RegistryState> {
        let mut map = self
            .inner
            .registries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.entry(registry.to_owned()).or_default().clone()
    }

    fn http(&self, insecure: bool) -> &reqwest::Client {
        if insecure {
            &self.inner.unverified
        } else {
            &self.inner.verified
        }
    }

    /// Pings `registry` once per client: decides the scheme and records the auth challenge.
    async fn endpoint(&self, registry: &str, state: &RegistryState) -> Result<Endpoint> {
        state
            .endpoint
            .get_or_init(|| self.ping(registry, state))
            .await
            .clone()
    }

    async fn ping(
        &self,
        registry: &str,
        state: &RegistryState,
    ) -> std::result::Result<Endpoint, RegistryError> {
        let host = api_host(registry);
        let insecure = self.inner.config.is_insecure(registry);
        let schemes: &[&str] = if insecure {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut last_err = None;
        for scheme in schemes {
            let base = Url::parse(&format!("{scheme}://{host}/")).map_err(|e| {
                RegistryError::Protocol {
                    registry: registry.to_owned(),
                    detail: format!("registry host {host:?} does not form a URL: {e}"),
                }
            })?;
            let url = base.join("v2/").expect("static path joins");
            let response = match self.http(insecure).get(url.clone()).send().await {
                Ok(r) => r,
                Err(e) => {
                    last_err = Some(transport_error(registry, url.as_str(), &e));
                    continue;
                }
            };
            let status = response.status();
            let headers = response.headers().clone();
            let _ = read_limited(response, MAX_ERROR_BODY).await;
            tracing::debug!(registry, %url, status = status.as_u16(), "pinged");
            let endpoint = Endpoint { base, insecure };
            if status.is_success() {
                return Ok(endpoint);
            }
            if status == StatusCode::UNAUTHORIZED {
                *state.challenge.lock().unwrap_or_else(|e| e.into_inner()) =
                    pick_challenge(&headers);
                return Ok(endpoint);
            }
            return Err(RegistryError::Status {
                registry: registry.to_owned(),
                method: "GET".to_owned(),
                url: url.to_string(),
                status: status.as_u16(),
                code: None,
                detail: Some("the /v2/ endpoint does not answer like an OCI registry".to_owned()),
            });
        }
        Err(last_err.expect("at least one scheme was tried"))
    }

    async fn authorization(
        &self,
        registry: &str,
        repository: &str,
        state: &RegistryState,
        insecure: bool,
        refresh: bool,
    ) -> Result<Option<String>> {
        let challenge = state
            .challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let Some(challenge) = challenge else {
            return Ok(None);
        };
        let credential = self.inner.credentials.credential(registry, repository);
        match challenge.scheme {
            Scheme::Bearer => {
                let scope = format!("repository:{repository}:pull");
                let token = state
                    .tokens
                    .get(
                        self.http(insecure),
                        registry,
                        &challenge,
                        &scope,
                        credential.as_ref(),
                        refresh,
                    )
                    .await?;
                Ok(Some(token.header_value()))
            }
            Scheme::Basic => Ok(match credential {
                Some(Credential::UserPassword { username, password }) => Some(format!(
                    "Basic {}",
                    STANDARD.encode(format!("{username}:{password}"))
                )),
                _ => None,
            }),
            Scheme::Other(_) => Ok(None),
        }
    }

    /// Sends an authenticated request to `path` (relative to `/v2/<repository>/`), re-authenticating
    /// once on a 401 and following redirects (without credentials to other hosts). Non-success
    /// statuses become typed errors.
    async fn send(
        &self,
        registry: &str,
        repository: &str,
        method: Method,
        path: &str,
        accept: Option<&str>,
        what: &str,
    ) -> Result<reqwest::Response> {
        let state = self.state(registry);
        let endpoint = self.endpoint(registry, &state).await?;
        let url = endpoint
            .base
            .join(&format!("v2/{repository}/{path}"))
            .map_err(|e| RegistryError::Protocol {
                registry: registry.to_owned(),
                detail: format!("cannot form a URL for {repository}/{path}: {e}"),
            })?;
        let mut auth = self
            .authorization(registry, repository, &state, endpoint.insecure, false)
            .await?;
        let mut retried_auth = false;
        loop {
            let response = self
                .send_following(
                    registry,
                    &endpoint,
                    &method,
                    url.clone(),
                    accept,
                    auth.as_deref(),
                )
                .await?;
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !retried_auth {
                retried_auth = true;
                if let Some(challenge) = pick_challenge(response.headers()) {
                    *state.challenge.lock().unwrap_or_else(|e| e.into_inner()) = Some(challenge);
                }
                let fresh = self
                    .authorization(registry, repository, &state, endpoint.insecure, true)
                    .await?;
                if fresh.is_some() {
                    auth = fresh;
                    continue;
                }
            }
            if status.is_success() {
                return Ok(response);
            }
            return Err(status_error(registry, repository, &method, &url, what, response).await);
        }
    }

    /// Sends one request and follows redirects; `Authorization` only goes to the registry's origin.
    async fn send_following(
        &self,
        registry: &str,
        endpoint: &Endpoint,
        method: &Method,
        mut url: Url,
        accept: Option<&str>,
        auth: Option<&str>,
    ) -> Result<reqwest::Response> {
        for _ in 0..=MAX_REDIRECTS {
            let same_origin = url.origin() == endpoint.base.origin();
            let insecure = if same_origin {
                endpoint.insecure
            } else {
                url.host_str()
                    .is_some_and(|h| self.inner.config.is_insecure(&host_port(&url, h)))
            };
            let mut rb = self.http(insecure).request(method.clone(), url.clone());
            if let Some(accept) = accept {
                rb = rb.header(ACCEPT, accept);
            }
            if let (Some(auth), true) = (auth, same_origin) {
                rb = rb.header(AUTHORIZATION, auth);
            }
            let shown = redact_url(url.as_str());
            let response = rb
                .send()
                .await
                .map_err(|e| transport_error(registry, &shown, &e))?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| RegistryError::Protocol {
                    registry: registry.to_owned(),
                    detail: format!("redirect from {shown} without a Location"),
                })?;
            let next = url.join(location).map_err(|e| RegistryError::Protocol {
                registry: registry.to_owned(),
                detail: format!("redirect from {shown} to an invalid Location: {e}"),
            })?;
            if next.scheme() != "https" && next.scheme() != "http" {
                return Err(RegistryError::Protocol {
                    registry: registry.to_owned(),
                    detail: format!("redirect from {shown} to a non-HTTP URL"),
                });
            }
            tracing::debug!(from = %shown, to = %redact_url(next.as_str()), "following redirect");
            url = next;
        }
        Err(RegistryError::Protocol {
            registry: registry.to_owned(),
            detail: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// `HEAD` of a manifest: its digest without its body.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`]; a missing tag is [`RegistryError::NotFound`].
    pub async fn head_manifest(&self, reference: &Reference) -> Result<ManifestHead> {
        let target = reference.target();
        let response = self
            .send(
                reference.registry(),
                reference.repository(),
                Method::HEAD,
                &format!("manifests/{target}"),
                Some(&media_type::manifest_accept_header()),
                &manifest_what(reference),
            )
            .await?;
        let headers = response.headers();
        Ok(ManifestHead {
            digest: header_digest(reference.registry(), headers)?,
            media_type: header_str(headers, CONTENT_TYPE.as_str()).map(str::to_owned),
            size: response.content_length(),
        })
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
        let response = self
            .send(
                reference.registry(),
                reference.repository(),
                Method::GET,
                &format!("manifests/{target}"),
                Some(&media_type::manifest_accept_header()),
                &manifest_what(reference),
            )
            .await?;
        let url = redact_url(response.url().as_str());
        let announced = header_digest(reference.registry(), response.headers())?;
        let content_type = header_str(response.headers(), CONTENT_TYPE.as_str()).map(str::to_owned);
        let bytes = read_capped(
            reference.registry(),
            response,
            self.inner.config.max_manifest_bytes,
            "manifest",
            &url,
        )
        .await?;
        // Parse first: a schema 1 manifest is reported as unsupported, whatever its digest says.
        let parsed = manifest::parse_manifest(&bytes, content_type.as_deref());
        if let Err(source @ ManifestError::Schema1 { .. }) = parsed {
            return Err(RegistryError::Manifest { url, source });
        }
        let expected = match target {
            Target::Digest(d) => Some(d.clone()),
            Target::Tag(_) => announced,
        };
        let digest = verify(&url, expected, &bytes)?;
        let manifest = parsed.map_err(|source| RegistryError::Manifest {
            url: url.clone(),
            source,
        })?;
        Ok(FetchedManifest {
            digest,
            bytes,
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
        let response = self
            .send(
                registry,
                repository,
                Method::GET,
                &format!("blobs/{digest}"),
                None,
                &format!("{what} {digest}"),
            )
            .await?;
        let url = redact_url(response.url().as_str());
        let bytes = read_capped(registry, response, limit, what, &url).await?;
        verify(&url, Some(digest.clone()), &bytes)?;
        Ok(bytes)
    }

    /// Whether `repository` exists on `registry`, asked with `GET tags/list?n=1`. Used to tell
    /// "repository unknown" from "manifest unknown": distribution answers `MANIFEST_UNKNOWN` for both
    /// on the manifest endpoint.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`] other than a 404.
    pub async fn repository_exists(&self, registry: &str, repository: &str) -> Result<bool> {
        match self
            .send(
                registry,
                repository,
                Method::GET,
                "tags/list?n=1",
                None,
                &format!("repository {repository}"),
            )
            .await
        {
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

fn host_port(url: &Url, host: &str) -> String {
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

/// The challenge to answer: Bearer when offered, else Basic, else the first.
fn pick_challenge(headers: &HeaderMap) -> Option<Challenge> {
    let all: Vec<Challenge> = headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect();
    all.iter()
        .find(|c| c.scheme == Scheme::Bearer)
        .or_else(|| all.iter().find(|c| c.scheme == Scheme::Basic))
        .or(all.first())
        .cloned()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_digest(registry: &str, headers: &HeaderMap) -> Result<Option<Digest>> {
    match header_str(headers, "docker-content-digest").filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Digest::parse(s)
            .map(Some)
            .map_err(|e| RegistryError::Protocol {
                registry: registry.to_owned(),
                detail: format!("bad Docker-Content-Digest header: {e}"),
            }),
    }
}

/// Checks `bytes` against `expected` (when known) and returns their digest.
fn verify(url: &str, expected: Option<Digest>, bytes: &[u8]) -> Result<Digest> {
    match expected {
        Some(expected) => {
            let actual = expected.compute_like(bytes);
            if actual == expected {
                Ok(expected)
            } else {
                Err(RegistryError::DigestMismatch {
                    url: url.to_owned(),
                    expected,
                    actual,
                })
            }
        }
        None => Ok(Digest::sha256_of(bytes)),
    }
}

/// Reads a body, failing as soon as it exceeds `limit`.
async fn read_capped(
    registry: &str,
    mut response: reqwest::Response,
    limit: u64,
    what: &'static str,
    url: &str,
) -> Result<Vec<u8>> {
    let too_large = |size| RegistryError::TooLarge {
        url: url.to_owned(),
        what,
        limit,
        size,
    };
    if let Some(len) = response.content_length().filter(|l| *l > limit) {
        return Err(too_large(Some(len)));
    }
    let mut buf = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(registry, url, &e))?
    {
        if (buf.len() + chunk.len()) as u64 > limit {
            return Err(too_large(None));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// Reads at most `limit` bytes of a body (the rest is dropped).
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Vec<u8>, reqwest::Error> {
    let mut buf = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() >= limit {
            break;
        }
    }
    Ok(buf)
}

/// The first `{code, message}` of a distribution error body, if it is one.
pub(crate) fn error_detail(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => b
            .errors
            .into_iter()
            .next()
            .map_or((None, None), |i| (i.code, i.message)),
        Err(_) => (None, None),
    }
}

async fn status_error(
    registry: &str,
    repository: &str,
    method: &Method,
    url: &Url,
    what: &str,
    response: reqwest::Response,
) -> RegistryError {
    let status = response.status().as_u16();
    let retry_after = header_str(response.headers(), "retry-after").and_then(parse_retry_after);
    let body = read_limited(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let (code, detail) = error_detail(&body);
    match status {
        401 | 403 => RegistryError::Unauthorized {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            status,
            code,
            detail,
        },
        404 => RegistryError::NotFound {
            registry: registry.to_owned(),
            what: what.to_owned(),
            code,
        },
        429 => RegistryError::RateLimited {
            registry: registry.to_owned(),
            retry_after,
        },
        _ => RegistryError::Status {
            registry: registry.to_owned(),
            method: method.to_string(),
            url: redact_url(url.as_str()),
            status,
            code,
            detail,
        },
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<std::time::Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(std::time::Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Classifies a transport failure: timeout, TLS or network.
pub(crate) fn transport_error(registry: &str, url: &str, e: &reqwest::Error) -> RegistryError {
    if e.is_timeout() {
        return RegistryError::Timeout {
            registry: registry.to_owned(),
            url: redact_url(url),
        };
    }
    // The root cause carries the useful text ("invalid peer certificate: UnknownIssuer").
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let detail = causes.last().cloned().unwrap_or_else(|| e.to_string());
    let all = causes.join(" ").to_ascii_lowercase();
    let tls = ["certificate", "tls", "handshake", "ssl"]
        .iter()
        .any(|w| all.contains(w));
    if all.contains("timed out") {
        return RegistryError::Timeout {
            registry: registry.to_owned(),
            url: redact_url(url),
        };
    }
    if tls {
        RegistryError::Tls {
            registry: registry.to_owned(),
            detail,
        }
    } else {
        RegistryError::Network {
            registry: registry.to_owned(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after("3"),
            Some(std::time::Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn verify_detects_mismatch() {
        let d = Digest::sha256_of(b"a");
        assert_eq!(verify("u", Some(d.clone()), b"a").unwrap(), d);
        assert!(matches!(
            verify("u", Some(d), b"b"),
            Err(RegistryError::DigestMismatch { .. })
        ));
        assert_eq!(verify("u", None, b"b").unwrap(), Digest::sha256_of(b"b"));
    }

    #[test]
    fn error_body_parsing() {
        let (code, msg) =
            error_detail(br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#);
        assert_eq!(code.as_deref(), Some("NAME_UNKNOWN"));
        assert!(msg.unwrap().contains("not known"));
        assert_eq!(error_detail(b"<html>"), (None, None));
    }
}
