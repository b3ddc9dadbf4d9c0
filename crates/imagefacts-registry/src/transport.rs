//! One exchange with a registry: ping (once per registry), authorization, the request with its
//! redirects, status mapping, capped body reading, and retries under the [`RetryPolicy`].
//!
//! [`RetryPolicy`]: crate::retry::RetryPolicy

use std::future::Future;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use imagefacts_model::facts::{ErrorKind, RateLimit};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tokio::sync::OnceCell;
use url::Url;

use crate::auth::TokenCache;
use crate::challenge::{Challenge, Scheme, parse_challenges};
use crate::client::RegistryClient;
use crate::config::api_host;
use crate::credentials::Credential;
use crate::error::{RegistryError, Result};
use crate::limiter::AdaptiveLimit;
use crate::observe::RetryEvent;
use crate::redact::redact_url;
use crate::response::{header_str, read_capped, read_limited, status_error, transport_error};
use crate::retry::Decision;

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// Cap on an error response body read for its message.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// How one registry is reached, decided by the ping.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    base: Url,
    insecure: bool,
}

/// Everything the client keeps per registry.
#[derive(Debug)]
pub(crate) struct RegistryState {
    endpoint: OnceCell<std::result::Result<Endpoint, RegistryError>>,
    /// The latest challenge seen: from the ping, updated by later 401s.
    challenge: Mutex<Option<Challenge>>,
    pub(crate) tokens: TokenCache,
    pub(crate) limit: Arc<AdaptiveLimit>,
    pub(crate) rate_limit: Mutex<Option<RateLimit>>,
    /// The identity of the credential that worked last, by repository.
    preferred: Mutex<std::collections::HashMap<String, String>>,
}

impl RegistryState {
    pub(crate) fn new(per_registry: usize) -> RegistryState {
        RegistryState {
            endpoint: OnceCell::new(),
            challenge: Mutex::new(None),
            tokens: TokenCache::default(),
            limit: Arc::new(AdaptiveLimit::new(per_registry)),
            rate_limit: Mutex::new(None),
            preferred: Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn preferred(&self, repository: &str) -> Option<String> {
        self.preferred
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(repository)
            .cloned()
    }

    fn prefer(&self, repository: &str, identity: String) {
        self.preferred
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(repository.to_owned(), identity);
    }

    fn set_challenge(&self, challenge: Option<Challenge>) {
        *self.challenge.lock().unwrap_or_else(|e| e.into_inner()) = challenge;
    }

    fn challenge(&self) -> Option<Challenge> {
        self.challenge
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A completed exchange: the final URL (redacted), the headers and the whole (capped) body.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) url: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// What to request from `/v2/<repository>/`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    pub(crate) registry: &'a str,
    pub(crate) repository: &'a str,
    pub(crate) method: &'a Method,
    /// Path below `/v2/<repository>/` (may carry a query).
    pub(crate) path: &'a str,
    pub(crate) accept: Option<&'a str>,
    /// How the object is named in errors and events.
    pub(crate) what: &'a str,
    /// Cap on the body and its name in errors; `None` for HEAD.
    pub(crate) body: Option<(u64, &'static str)>,
}

impl RegistryClient {
    /// Runs `op` under the retry policy; the final error records the attempts.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        registry: &str,
        what: &str,
        mut op: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            let error = match op().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            match self.retry_policy().decide(&error, attempt, fastrand::f64()) {
                Decision::GiveUp if attempt > 1 => {
                    return Err(RegistryError::GaveUp {
                        attempts: attempt,
                        last: Box::new(error),
                    });
                }
                Decision::GiveUp => return Err(error),
                Decision::RetryAfter(delay) => {
                    tracing::debug!(registry, what, attempt, ?delay, error = %error, "retrying");
                    self.observer().retry(&RetryEvent {
                        registry: registry.to_owned(),
                        what: what.to_owned(),
                        attempt,
                        delay,
                        kind: error.kind(),
                        message: error.to_string(),
                    });
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// Pings `registry` once per client: decides the scheme and records the auth challenge.
    pub(crate) async fn endpoint(&self, registry: &str, state: &RegistryState) -> Result<Endpoint> {
        state
            .endpoint
            .get_or_init(|| self.retrying(registry, "ping", || self.ping(registry, state)))
            .await
            .clone()
    }

    async fn ping(&self, registry: &str, state: &RegistryState) -> Result<Endpoint> {
        let host = api_host(registry);
        let insecure = self.config().is_insecure(registry);
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
            let url = base.join("v2/").expect("a static path joins");
            let permit = state.limit.acquire().await;
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
            drop(permit);
            tracing::debug!(registry, %url, status = status.as_u16(), "pinged");
            let endpoint = Endpoint { base, insecure };
            if status.is_success() {
                return Ok(endpoint);
            }
            if status == StatusCode::UNAUTHORIZED {
                state.set_challenge(pick_challenge(&headers));
                return Ok(endpoint);
            }
            return Err(status_error(
                registry,
                "",
                &url,
                "ping",
                status,
                &headers,
                &[],
            ));
        }
        Err(last_err.expect("at least one scheme was tried"))
    }

    async fn authorization(
        &self,
        registry: &str,
        repository: &str,
        state: &RegistryState,
        insecure: bool,
        credential: Option<&Credential>,
        refresh: bool,
    ) -> Result<Option<String>> {
        let Some(challenge) = state.challenge() else {
            return Ok(None);
        };
        match challenge.scheme {
            Scheme::Bearer => {
                let scope = format!("repository:{repository}:pull");
                let token = self
                    .retrying(registry, "token", || {
                        state.tokens.get(
                            self.http(insecure),
                            registry,
                            &challenge,
                            &scope,
                            credential,
                            refresh,
                        )
                    })
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

    /// One exchange with retries: authenticated, redirects followed (credentials only to the
    /// registry's own origin), one re-authentication on a 401, the body read under its cap.
    pub(crate) async fn exchange(&self, ask: Ask<'_>) -> Result<Exchange> {
        let state = self.state(ask.registry);
        let endpoint = self.endpoint(ask.registry, &state).await?;
        let url = endpoint
            .base
            .join(&format!("v2/{}/{}", ask.repository, ask.path))
            .map_err(|e| RegistryError::Protocol {
                registry: ask.registry.to_owned(),
                detail: format!("cannot form a URL for {}/{}: {e}", ask.repository, ask.path),
            })?;
        // Every credential worth trying, the one that worked last for this repository first;
        // a refused one gives way to the next (anonymous when there is none).
        let mut candidates: Vec<Option<Credential>> = self
            .credentials()
            .candidates(ask.registry, ask.repository)
            .into_iter()
            .map(Some)
            .collect();
        if candidates.is_empty() {
            candidates.push(None);
        }
        if let Some(preferred) = state.preferred(ask.repository) {
            candidates
                .sort_by_key(|c| c.as_ref().map(Credential::identity) != Some(preferred.clone()));
        }
        let last = candidates.len() - 1;
        for (i, credential) in candidates.iter().enumerate() {
            let result = self
                .retrying(ask.registry, ask.what, || {
                    self.exchange_once(ask, &state, &endpoint, url.clone(), credential.as_ref())
                })
                .await;
            match result {
                Err(e) if i < last && e.kind() == ErrorKind::Auth => {
                    tracing::debug!(
                        registry = ask.registry,
                        "credential refused, trying the next"
                    );
                }
                Ok(x) => {
                    if let (Some(c), true) = (credential, candidates.len() > 1) {
                        state.prefer(ask.repository, c.identity());
                    }
                    return Ok(x);
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last candidate always returns")
    }

    async fn exchange_once(
        &self,
        ask: Ask<'_>,
        state: &RegistryState,
        endpoint: &Endpoint,
        url: Url,
        credential: Option<&Credential>,
    ) -> Result<Exchange> {
        let _permit = state.limit.acquire().await;
        let mut auth = self
            .authorization(
                ask.registry,
                ask.repository,
                state,
                endpoint.insecure,
                credential,
                false,
            )
            .await?;
        let mut reauthenticated = false;
        let response = loop {
            let response = self
                .send_following(
                    ask.registry,
                    endpoint,
                    ask.method,
                    url.clone(),
                    ask.accept,
                    auth.as_deref(),
                )
                .await?;
            if response.status() == StatusCode::UNAUTHORIZED && !reauthenticated {
                reauthenticated = true;
                if let Some(challenge) = pick_challenge(response.headers()) {
                    state.set_challenge(Some(challenge));
                }
                let fresh = self
                    .authorization(
                        ask.registry,
                        ask.repository,
                        state,
                        endpoint.insecure,
                        credential,
                        true,
                    )
                    .await?;
                if fresh.is_some() {
                    auth = fresh;
                    continue;
                }
            }
            break response;
        };
        record_rate_limit(state, response.headers());
        let status = response.status();
        let headers = response.headers().clone();
        let shown = redact_url(response.url().as_str());
        if !status.is_success() {
            if status == StatusCode::TOO_MANY_REQUESTS {
                state.limit.rate_limited();
            }
            let body = read_limited(response, MAX_ERROR_BODY)
                .await
                .unwrap_or_default();
            return Err(status_error(
                ask.registry,
                ask.repository,
                &url,
                ask.what,
                status,
                &headers,
                &body,
            ));
        }
        let body = match ask.body {
            Some((limit, what)) => read_capped(ask.registry, response, limit, what, &shown).await?,
            None => Vec::new(),
        };
        state.limit.succeeded();
        Ok(Exchange {
            url: shown,
            headers,
            body,
        })
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
                    .is_some_and(|h| self.config().is_insecure(&host_port(&url, h)))
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

/// Docker Hub's `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 76;w=21600`.
fn record_rate_limit(state: &RegistryState, headers: &HeaderMap) {
    let parse = |name| {
        let v = header_str(headers, name)?;
        let mut parts = v.split(';');
        let count = parts.next()?.trim().parse::<u64>().ok()?;
        let window = parts
            .find_map(|p| p.trim().strip_prefix("w="))
            .and_then(|w| w.parse::<u64>().ok());
        Some((count, window))
    };
    if let (Some((limit, window)), Some((remaining, _))) =
        (parse("ratelimit-limit"), parse("ratelimit-remaining"))
    {
        *state.rate_limit.lock().unwrap_or_else(|e| e.into_inner()) = Some(RateLimit {
            limit,
            remaining,
            window_seconds: window,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers() {
        let state = RegistryState::new(6);
        let mut h = HeaderMap::new();
        h.insert("ratelimit-limit", "100;w=21600".parse().unwrap());
        h.insert("ratelimit-remaining", "76;w=21600".parse().unwrap());
        record_rate_limit(&state, &h);
        let rl = state.rate_limit.lock().unwrap().clone().unwrap();
        assert_eq!(
            (rl.limit, rl.remaining, rl.window_seconds),
            (100, 76, Some(21600))
        );
    }
}
