//! One exchange with a registry: discovery of its endpoint and challenge by the first request,
//! authorization, the request with its redirects, status mapping, capped body reading, and
//! retries under the [`RetryPolicy`].
//!
//! There is no separate `/v2/` ping: the first request to a registry goes alone (the others wait
//! for it) and tells the scheme (HTTPS, or HTTP for an insecure registry that does not speak
//! TLS) and, when it is refused with `401`, the challenge every later request answers. An
//! anonymous registry thus costs no extra request at all.
//!
//! A challenge is taken only from a response of the registry's own origin: a `401` from a
//! redirect target is that request's error, never a new realm.
//!
//! [`RetryPolicy`]: crate::retry::RetryPolicy

use std::future::Future;
use std::sync::{Arc, Mutex};

use imagefacts_model::facts::{ErrorKind, RateLimit};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::auth::{Realm, TokenCache, TokenHttp, basic_header, count_request};
use crate::challenge::{Challenge, Scheme, parse_challenges};
use crate::client::RegistryClient;
use crate::config::api_host;
use crate::credentials::{AuthSource, Candidate, Credential, CredentialError, check_expiry};
use crate::error::{RegistryError, Result};
use crate::limiter::AdaptiveLimit;
use crate::observe::RetryEvent;
use crate::redact::redact_url;
use crate::response::{
    header_str, read_capped, read_limited, status_error, transport_error, verify,
};
use crate::retry::{Attempts, Decision};
use crate::routes::{Endpoint as RouteEndpoint, Scheme as RouteScheme};

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;
/// Cap on an error response body read for its message.
pub(crate) const MAX_ERROR_BODY: usize = 64 * 1024;

/// How one registry is reached, learnt from the first request to it.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    pub(crate) base: Url,
    /// The API root below `base`, without a leading `/` (`v2/`, or a mirror's `v2/proxy/`).
    root: String,
    insecure: bool,
}

impl Endpoint {
    fn url(&self, ask: &Ask<'_>) -> Result<Url> {
        self.base
            .join(&format!("{}{}/{}", self.root, ask.repository, ask.path))
            .map_err(|e| RegistryError::Protocol {
                registry: ask.registry.to_owned(),
                detail: format!("cannot form a URL for {}/{}: {e}", ask.repository, ask.path),
            })
    }

    /// Whether `url` is of the registry's own origin (scheme, host and port).
    fn owns(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }
}

/// Everything the client keeps per registry.
#[derive(Debug)]
pub(crate) struct RegistryState {
    /// Set by the first request that got an answer.
    endpoint: Mutex<Option<Endpoint>>,
    /// Held by the first request while it finds the endpoint, so the others wait for it.
    first_contact: tokio::sync::Mutex<()>,
    /// Why the registry could not be reached at all (the first request's final error).
    unreachable: Mutex<Option<RegistryError>>,
    /// The latest challenge of the registry's own origin.
    challenge: Mutex<Option<Challenge>>,
    pub(crate) tokens: TokenCache,
    pub(crate) limit: Arc<AdaptiveLimit>,
    pub(crate) rate_limit: Mutex<Option<RateLimit>>,
    /// The identity of the credential that worked last, by repository.
    preferred: Mutex<std::collections::HashMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RegistryState {
    pub(crate) fn new(per_registry: usize) -> RegistryState {
        RegistryState {
            endpoint: Mutex::new(None),
            first_contact: tokio::sync::Mutex::new(()),
            unreachable: Mutex::new(None),
            challenge: Mutex::new(None),
            tokens: TokenCache::default(),
            limit: Arc::new(AdaptiveLimit::new(per_registry)),
            rate_limit: Mutex::new(None),
            preferred: Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn preferred(&self, repository: &str) -> Option<String> {
        lock(&self.preferred).get(repository).cloned()
    }

    fn prefer(&self, repository: &str, identity: String) {
        lock(&self.preferred).insert(repository.to_owned(), identity);
    }

    fn set_challenge(&self, challenge: Option<Challenge>) {
        *lock(&self.challenge) = challenge;
    }

    fn challenge(&self) -> Option<Challenge> {
        lock(&self.challenge).clone()
    }

    fn endpoint(&self) -> Option<Endpoint> {
        lock(&self.endpoint).clone()
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

impl Ask<'_> {
    /// The digest the object is named by, when it is.
    fn digest(&self) -> Option<imagefacts_model::Digest> {
        let named = self
            .path
            .strip_prefix("blobs/")
            .or_else(|| self.path.strip_prefix("manifests/"))?;
        named.parse().ok()
    }

    /// Whether the object is named by digest (a blob, a manifest by digest), which digest-only
    /// mirrors may serve.
    fn by_digest(&self) -> bool {
        self.digest().is_some()
    }
}

/// Where one exchange goes: the registry itself, or a mirror a route names.
#[derive(Debug, Clone)]
struct Target {
    /// The name its state, credentials and errors go by: the registry's own name, or the
    /// mirror's `host[:port]`.
    name: String,
    /// `host[:port]` connected to.
    host: String,
    /// The repository asked for there.
    repository: String,
    /// A scheme the route fixes (`http`: plain HTTP directly).
    scheme: Option<RouteScheme>,
    /// The API root, without a leading `/`.
    root: String,
    /// Which file or flag routed the request here (for logs).
    origin: Option<String>,
}

impl Target {
    /// The registry itself, as when no route applies.
    fn upstream(ask: &Ask<'_>) -> Target {
        Target {
            name: ask.registry.to_owned(),
            host: api_host(ask.registry).to_owned(),
            repository: ask.repository.to_owned(),
            scheme: None,
            root: "v2/".to_owned(),
            origin: None,
        }
    }

    /// An endpoint a route names.
    fn routed(ask: &Ask<'_>, e: RouteEndpoint) -> Target {
        let own = !e.mirror && e.host == api_host(ask.registry);
        Target {
            name: if own {
                ask.registry.to_owned()
            } else {
                e.host.clone()
            },
            root: e.api_root.as_deref().map_or_else(
                || "v2/".to_owned(),
                |r| r.trim_start_matches('/').to_owned(),
            ),
            host: e.host,
            repository: e.repository,
            scheme: e.scheme,
            origin: Some(e.origin),
        }
    }
}

/// One thing to try for a request.
#[derive(Debug)]
enum Try {
    /// No credential.
    Anonymous,
    /// A credential from a source.
    With(Candidate),
    /// No credential could be had: the request fails with this.
    Failed(CredentialError),
}

impl Try {
    fn identity(&self) -> Option<String> {
        match self {
            Try::With(c) => Some(c.credential.identity()),
            _ => None,
        }
    }
}

/// The `Authorization` to send, and whether a credential was held back from an untrusted realm.
#[derive(Debug, Default)]
struct Auth {
    header: Option<String>,
    /// The realm (shown) and why it was not given the credential.
    withheld: Option<(String, String)>,
}

impl RegistryClient {
    /// Runs `op` under the retry policy, counting its attempts in `attempts` (shared by every
    /// layer of one request). With `reuse_first`, the first call continues an attempt already
    /// counted (the first contact's answer). Backoff is slept with no permit held (`op` takes
    /// and drops its own). Under a [`RetryWindow`], no retry starts past its end and a retried
    /// attempt still running there fails with a timeout. The final error records the attempts
    /// when there were retries.
    ///
    /// [`RetryWindow`]: crate::retry::RetryWindow
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        registry: &str,
        what: &str,
        attempts: &mut Attempts,
        reuse_first: bool,
        mut op: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let window = self.retry_window();
        let mut first = true;
        loop {
            if !(first && reuse_first) {
                attempts.made += 1;
            }
            first = false;
            let result = match window {
                Some(w) if attempts.retries > 0 => {
                    match tokio::time::timeout_at(w.ends(), op()).await {
                        Ok(r) => r,
                        Err(_) => Err(RegistryError::Timeout {
                            registry: registry.to_owned(),
                            url: what.to_owned(),
                        }),
                    }
                }
                _ => op().await,
            };
            let error = match result {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let mut spent = None;
            let decision =
                match self
                    .retry_policy()
                    .decide(&error, attempts.retries + 1, fastrand::f64())
                {
                    Decision::RetryAfter(delay) if window.is_some_and(|w| w.exceeded_by(delay)) => {
                        spent = window.map(|w| w.length());
                        Decision::GiveUp
                    }
                    d => d,
                };
            match decision {
                Decision::GiveUp if attempts.retries > 0 || spent.is_some() => {
                    return Err(RegistryError::GaveUp {
                        attempts: attempts.made,
                        last: Box::new(error),
                        window: spent,
                    });
                }
                Decision::GiveUp => return Err(error),
                Decision::RetryAfter(delay) => {
                    let attempt = attempts.made;
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
                    attempts.retries += 1;
                }
            }
        }
    }

    /// The registry's endpoint. When none is known yet, this request is the first contact: it is
    /// sent (anonymously) while other requests to the registry wait, and its response is handed
    /// back to be used as the answer. A registry that could not be reached at all stays so for
    /// the run.
    async fn connect(
        &self,
        ask: Ask<'_>,
        target: &Target,
        state: &RegistryState,
        attempts: &mut Attempts,
    ) -> Result<(Endpoint, Option<reqwest::Response>)> {
        if let Some(endpoint) = state.endpoint() {
            return Ok((endpoint, None));
        }
        let _first = state.first_contact.lock().await;
        if let Some(endpoint) = state.endpoint() {
            return Ok((endpoint, None));
        }
        if let Some(e) = lock(&state.unreachable).clone() {
            return Err(e);
        }
        let result = self
            .retrying(ask.registry, ask.what, attempts, false, || {
                self.first_contact(ask, target, state)
            })
            .await;
        match result {
            Ok((endpoint, response)) => {
                *lock(&state.endpoint) = Some(endpoint.clone());
                Ok((endpoint, Some(response)))
            }
            Err(e) => {
                if no_answer(&e) {
                    *lock(&state.unreachable) = Some(e.clone());
                }
                Err(e)
            }
        }
    }

    /// Sends `ask` anonymously over HTTPS (and, for an insecure registry that does not answer
    /// there, plain HTTP); the first scheme that answers at all is the registry's. A registry
    /// configured as plain HTTP (`--insecure-registry http://…`, an `http://` mirror) is asked
    /// over HTTP directly. A `401` of the registry's own origin records its challenge.
    async fn first_contact(
        &self,
        ask: Ask<'_>,
        target: &Target,
        state: &RegistryState,
    ) -> Result<(Endpoint, reqwest::Response)> {
        let host = target.host.as_str();
        let config = self.config();
        let settings = config.routes.host(host);
        let insecure = config.is_insecure(ask.registry)
            || config.is_insecure(host)
            || settings.is_some_and(|s| s.skip_verify || s.plain_http);
        let plain = config.is_plain_http(ask.registry) || config.is_plain_http(host);
        let schemes: &[&str] = match target.scheme {
            Some(RouteScheme::Http) => &["http"],
            Some(RouteScheme::Https) => &["https"],
            None if plain => &["http"],
            None if insecure => &["https", "http"],
            None => &["https"],
        };
        let mut last_err = None;
        for scheme in schemes {
            let base = Url::parse(&format!("{scheme}://{host}/")).map_err(|e| {
                RegistryError::Protocol {
                    registry: ask.registry.to_owned(),
                    detail: format!("registry host {host:?} does not form a URL: {e}"),
                }
            })?;
            let endpoint = Endpoint {
                base,
                root: target.root.clone(),
                insecure,
            };
            let url = endpoint.url(&ask)?;
            let _permit = state.limit.acquire().await;
            match self
                .send_following(ask.registry, &endpoint, ask, url, None)
                .await
            {
                Ok(response) => {
                    tracing::debug!(registry = ask.registry, %scheme, "first contact");
                    if response.status() == StatusCode::UNAUTHORIZED
                        && endpoint.owns(response.url())
                    {
                        state.set_challenge(pick_challenge(response.headers()));
                    }
                    return Ok((endpoint, response));
                }
                Err(e) if no_answer(&e) => {
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_err.expect("at least one scheme was tried"))
    }

    /// What to send to answer the registry's challenge with `credential`. A Bearer realm that may
    /// not receive secrets (see [`Realm`]) is asked anonymously.
    async fn authorization(
        &self,
        ask: Ask<'_>,
        state: &RegistryState,
        credential: Option<&Credential>,
        refresh: bool,
    ) -> Result<Auth> {
        let Some(challenge) = state.challenge() else {
            return Ok(Auth::default());
        };
        match challenge.scheme {
            Scheme::Bearer => {
                let realm = Realm::of(&challenge, ask.registry, self.config())?;
                let withheld = (credential.is_some() && !realm.trusted)
                    .then(|| (realm.shown(), realm.untrusted_reason()));
                let sent = if realm.trusted { credential } else { None };
                let scope = format!("repository:{}:pull", ask.repository);
                // Not retried here: a failed token fetch fails this attempt, and the request's
                // one budget decides whether to try again.
                let token = state
                    .tokens
                    .get(
                        TokenHttp {
                            client: &self.http(
                                &realm.host_port(),
                                self.config().routes.host(&realm.host_port()),
                                realm.insecure,
                            )?,
                            sent: self.request_counter(),
                        },
                        ask.registry,
                        &realm,
                        &scope,
                        sent,
                        refresh,
                    )
                    .await;
                match (token, withheld) {
                    (Ok(token), withheld) => Ok(Auth {
                        header: Some(token.header_value()),
                        withheld,
                    }),
                    (Err(e), Some((realm, reason))) if e.kind() == ErrorKind::Auth => {
                        Err(RegistryError::CredentialWithheld {
                            registry: ask.registry.to_owned(),
                            repository: ask.repository.to_owned(),
                            realm,
                            reason,
                            status: e.status().unwrap_or(401),
                        })
                    }
                    (Err(e), _) => Err(e),
                }
            }
            Scheme::Basic => Ok(Auth {
                header: basic_header(credential),
                withheld: None,
            }),
            Scheme::Other(_) => Ok(Auth::default()),
        }
    }

    /// What to try for `ask`, best first: the credential source's candidates (one known to have
    /// expired, or a helper that failed, ends the list as that error), else anonymous.
    /// A source that may block (a credential helper not yet asked) is asked on the blocking
    /// pool, so the event loop goes on serving other requests meanwhile.
    async fn tries(&self, ask: Ask<'_>, state: &RegistryState) -> Vec<Try> {
        let source = self.credential_source();
        let lookups = if source.may_block(ask.registry) {
            let (registry, repository) = (ask.registry.to_owned(), ask.repository.to_owned());
            tokio::task::spawn_blocking(move || source.candidates(&registry, &repository))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        } else {
            source.candidates(ask.registry, ask.repository)
        };
        let mut tries: Vec<Try> = lookups
            .into_iter()
            .map(|lookup| {
                match lookup
                    .and_then(|c| check_expiry(ask.registry, &c.credential, &c.source).map(|()| c))
                {
                    Ok(c) => Try::With(c),
                    Err(e) => Try::Failed(e),
                }
            })
            .collect();
        if let Some(end) = tries.iter().position(|t| matches!(t, Try::Failed(_))) {
            tries.truncate(end + 1);
        }
        if tries.is_empty() {
            tries.push(Try::Anonymous);
        }
        // The one that worked last for this repository first.
        if let Some(preferred) = state.preferred(ask.repository) {
            tries.sort_by_key(|t| t.identity().as_deref() != Some(preferred.as_str()));
        }
        tries
    }

    /// One exchange with retries: authenticated, redirects followed (credentials only to the
    /// registry's own origin), one re-authentication on a 401, the body read under its cap.
    ///
    /// Credentials are looked up only once the registry has asked for them (a challenge), so an
    /// anonymous registry never runs a credential helper. Each refused credential gives way to
    /// the next; the one that served is recorded (with the endpoint) in the view's [`Served`].
    ///
    /// [`Served`]: crate::client::Served
    pub(crate) async fn exchange(&self, ask: Ask<'_>) -> Result<Exchange> {
        let routes = &self.config().routes;
        if routes.is_empty() {
            return self.exchange_at(ask, &Target::upstream(&ask)).await;
        }
        let endpoints = routes
            .route(ask.registry, ask.repository, ask.by_digest())
            .map_err(|b| RegistryError::Blocked {
                registry: ask.registry.to_owned(),
                repository: ask.repository.to_owned(),
                detail: format!("blocked by {}", b.origin),
            })?;
        if endpoints.is_empty() {
            return Err(RegistryError::Blocked {
                registry: ask.registry.to_owned(),
                repository: ask.repository.to_owned(),
                detail:
                    "no configured endpoint may resolve a tag (containerd `resolve` capability)"
                        .to_owned(),
            });
        }
        // Mirrors in order, then the upstream: the first that answers serves; a failure gives
        // way to the next, and the last one's error stands.
        let last = endpoints.len() - 1;
        for (i, endpoint) in endpoints.into_iter().enumerate() {
            let target = Target::routed(&ask, endpoint);
            // A mirror is a cache that may be stale or lie: what it serves by digest is checked
            // here, so a wrong body gives way to the next endpoint instead of failing the pull.
            let result = match self.exchange_at(ask, &target).await {
                Ok(x) if i < last && ask.body.is_some() => match ask.digest() {
                    Some(expected) => verify(&x.url, Some(expected), &x.body).map(|_| x),
                    None => Ok(x),
                },
                other => other,
            };
            match result {
                Err(e) if i < last => {
                    tracing::debug!(
                        registry = ask.registry,
                        endpoint = %target.host,
                        origin = target.origin.as_deref().unwrap_or_default(),
                        error = %e,
                        "endpoint failed, trying the next"
                    );
                }
                result => return result,
            }
        }
        unreachable!("the last endpoint always returns")
    }

    /// [`RegistryClient::exchange`] at one target.
    async fn exchange_at(&self, ask: Ask<'_>, target: &Target) -> Result<Exchange> {
        let ask = Ask {
            registry: &target.name,
            repository: &target.repository,
            ..ask
        };
        let state = self.state(ask.registry);
        let mut attempts = Attempts::default();
        let (endpoint, mut first) = self.connect(ask, target, &state, &mut attempts).await?;
        let url = endpoint.url(&ask)?;
        let mut looked_up = state.challenge().is_some();
        let mut tries = if looked_up {
            self.tries(ask, &state).await
        } else {
            vec![Try::Anonymous]
        };
        let mut i = 0;
        loop {
            let credential = match &tries[i] {
                Try::Failed(e) => {
                    return Err(RegistryError::Credential {
                        registry: ask.registry.to_owned(),
                        repository: ask.repository.to_owned(),
                        source: Box::new(e.clone()),
                    });
                }
                Try::With(c) => Some(&c.credential),
                Try::Anonymous => None,
            };
            let reuse_first = first.is_some();
            let result = self
                .retrying(ask.registry, ask.what, &mut attempts, reuse_first, || {
                    self.exchange_once(
                        ask,
                        &state,
                        &endpoint,
                        url.clone(),
                        credential,
                        first.take(),
                    )
                })
                .await;
            match result {
                Ok((x, sent)) => {
                    if let (Try::With(c), true) = (&tries[i], tries.len() > 1) {
                        state.prefer(ask.repository, c.credential.identity());
                    }
                    if let Some(served) = self.served() {
                        let source = match (&tries[i], sent) {
                            (Try::With(c), true) => c.source.clone(),
                            _ => AuthSource::anonymous(),
                        };
                        served.record(source, endpoint.base.origin().ascii_serialization());
                    }
                    return Ok(x);
                }
                Err(e) if e.kind() == ErrorKind::Auth && i + 1 < tries.len() => {
                    tracing::debug!(
                        registry = ask.registry,
                        "credential refused, trying the next"
                    );
                    i += 1;
                }
                // Refused anonymously before credentials were looked up: look them up now.
                Err(e) if e.kind() == ErrorKind::Auth && !looked_up => {
                    looked_up = true;
                    let found = self.tries(ask, &state).await;
                    if matches!(found.as_slice(), [Try::Anonymous]) {
                        self.record_refusal(&tries[i], &endpoint, &e);
                        return Err(e);
                    }
                    tries = found;
                    i = 0;
                }
                Err(e) => {
                    self.record_refusal(&tries[i], &endpoint, &e);
                    return Err(e);
                }
            }
        }
    }

    /// On an `auth` failure, records the credential the registry refused last (or `anonymous`),
    /// so an entry says which credential did not work.
    fn record_refusal(&self, tried: &Try, endpoint: &Endpoint, e: &RegistryError) {
        if e.kind() != ErrorKind::Auth || matches!(tried, Try::Failed(_)) {
            return;
        }
        if let Some(served) = self.served() {
            let source = match tried {
                Try::With(c) => c.source.clone(),
                _ => AuthSource::anonymous(),
            };
            served.record(source, endpoint.base.origin().ascii_serialization());
        }
    }

    /// One attempt. `first` is the first contact's response to this very request, when this
    /// request was the first contact.
    async fn exchange_once(
        &self,
        ask: Ask<'_>,
        state: &RegistryState,
        endpoint: &Endpoint,
        url: Url,
        credential: Option<&Credential>,
        first: Option<reqwest::Response>,
    ) -> Result<(Exchange, bool)> {
        let _permit = state.limit.acquire().await;
        let mut auth = match first {
            Some(_) => Auth::default(),
            None => self.authorization(ask, state, credential, false).await?,
        };
        let mut pending = first;
        // A 401 to a request without credentials tells the challenge; a 401 to one with them
        // means they were refused: fetch a fresh token once, then give up.
        let mut refused_once = false;
        let response = loop {
            let response = match pending.take() {
                Some(r) => r,
                None => {
                    self.send_following(
                        ask.registry,
                        endpoint,
                        ask,
                        url.clone(),
                        auth.header.as_deref(),
                    )
                    .await?
                }
            };
            if response.status() == StatusCode::UNAUTHORIZED {
                if !endpoint.owns(response.url()) {
                    return Err(RegistryError::Unauthorized {
                        registry: ask.registry.to_owned(),
                        repository: ask.repository.to_owned(),
                        status: 401,
                        code: None,
                        detail: Some(format!(
                            "the redirect target {} refused the request; its challenge was ignored",
                            response.url().origin().ascii_serialization()
                        )),
                    });
                }
                let sent = auth.header.is_some();
                if !(sent && refused_once) {
                    refused_once |= sent;
                    if let Some(challenge) = pick_challenge(response.headers()) {
                        state.set_challenge(Some(challenge));
                    }
                    let fresh = self.authorization(ask, state, credential, sent).await?;
                    let retry = fresh.header.is_some();
                    auth = fresh;
                    if retry {
                        continue;
                    }
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
            if let (Some((realm, reason)), 401 | 403) = (auth.withheld, status.as_u16()) {
                return Err(RegistryError::CredentialWithheld {
                    registry: ask.registry.to_owned(),
                    repository: ask.repository.to_owned(),
                    realm,
                    reason,
                    status: status.as_u16(),
                });
            }
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
        // The credential went out when a header answered the challenge with it (not withheld).
        let sent = credential.is_some() && auth.header.is_some() && auth.withheld.is_none();
        Ok((
            Exchange {
                url: shown,
                headers,
                body,
            },
            sent,
        ))
    }

    /// Sends one request and follows redirects; `Authorization` only goes to the registry's origin.
    async fn send_following(
        &self,
        registry: &str,
        endpoint: &Endpoint,
        ask: Ask<'_>,
        mut url: Url,
        auth: Option<&str>,
    ) -> Result<reqwest::Response> {
        for _ in 0..=MAX_REDIRECTS {
            let same_origin = endpoint.owns(&url);
            let host = url
                .host_str()
                .map(|h| host_port(&url, h))
                .unwrap_or_default();
            let insecure = if same_origin {
                endpoint.insecure
            } else {
                !host.is_empty() && self.config().is_insecure(&host)
            };
            let settings = self.config().routes.host(&host);
            let mut rb = self
                .http(&host, settings, insecure)?
                .request(ask.method.clone(), url.clone());
            if let Some(accept) = ask.accept {
                rb = rb.header(ACCEPT, accept);
            }
            for (name, value) in settings.iter().flat_map(|s| &s.headers) {
                rb = rb.header(name.as_str(), value.as_str());
            }
            if let (Some(auth), true) = (auth, same_origin) {
                rb = rb.header(AUTHORIZATION, auth);
            }
            let sent = rb.send().await;
            count_request(self.request_counter(), &sent);
            let response =
                sent.map_err(|e| transport_error(registry, &redact_url(url.as_str()), &e))?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let shown = redact_url(url.as_str());
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

/// Whether `e` means the registry gave no answer at all (no connection, no TLS, no reply in time).
fn no_answer(e: &RegistryError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Network | ErrorKind::Tls | ErrorKind::Timeout
    )
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
