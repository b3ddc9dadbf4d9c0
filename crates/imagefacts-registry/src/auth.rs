//! Bearer tokens: where a challenge's `realm` may be asked, fetching tokens there, and caching
//! them by (realm, service, scope, credential identity) until they expire.
//!
//! A realm is another server than the registry, named by whoever answered `401`. It receives a
//! secret (Basic credentials, an identity token) only when it is trusted as the registry's own
//! authority would be: over verified HTTPS, or on a host the user named with
//! `--insecure-registry`. Otherwise the token is asked for anonymously, and a refusal says which
//! realm was not given the credential and why. TLS verification of a realm follows the realm
//! host's own settings, never the registry's.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use url::Url;

use crate::challenge::Challenge;
use crate::config::ClientConfig;
use crate::credentials::Credential;
use crate::error::{RegistryError, Result};
use crate::redact::redact_url;

/// Tokens live this long when the endpoint names no usable lifetime (the distribution spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime believed; an endpoint promising more is taken to name no lifetime.
pub(crate) const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Cap on a token endpoint's answer.
const MAX_TOKEN_RESPONSE: usize = 1024 * 1024;

/// A bearer token with a hand-written `Debug` that never shows it.
#[derive(Clone)]
pub(crate) struct Token {
    value: String,
    expires: Instant,
}

impl Token {
    pub(crate) fn header_value(&self) -> String {
        format!("Bearer {}", self.value)
    }

    fn fresh(&self) -> bool {
        Instant::now() < self.expires
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// A token endpoint named by a challenge, and how far it is trusted.
#[derive(Debug, Clone)]
pub(crate) struct Realm {
    url: Url,
    service: Option<String>,
    /// TLS is not verified (the realm's host is named insecure).
    pub(crate) insecure: bool,
    /// Whether a secret may be sent there.
    pub(crate) trusted: bool,
}

impl Realm {
    /// The realm of a Bearer `challenge` from `registry`, judged by the client's settings.
    pub(crate) fn of(
        challenge: &Challenge,
        registry: &str,
        config: &ClientConfig,
    ) -> Result<Realm> {
        let protocol = |detail: String| RegistryError::Protocol {
            registry: registry.to_owned(),
            detail,
        };
        let realm = challenge
            .param("realm")
            .ok_or_else(|| protocol("Bearer challenge without a realm".to_owned()))?;
        let url = Url::parse(realm).map_err(|e| {
            protocol(format!(
                "Bearer realm {:?} is not a URL: {e}",
                redact_url(realm)
            ))
        })?;
        let Some(host) = url
            .host_str()
            .filter(|_| matches!(url.scheme(), "https" | "http"))
        else {
            return Err(protocol(format!(
                "Bearer realm {} is not an HTTP(S) URL",
                redact_url(realm)
            )));
        };
        let insecure = config.is_insecure_host(host);
        Ok(Realm {
            trusted: insecure || url.scheme() == "https",
            insecure,
            service: challenge.param("service").map(str::to_owned),
            url,
        })
    }

    /// The realm's `host[:port]`, whose TLS settings apply to it.
    pub(crate) fn host_port(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }

    /// The realm as it may be shown (no userinfo, no query).
    pub(crate) fn shown(&self) -> String {
        redact_url(self.url.as_str())
    }

    /// Why a credential is not sent here (when it is not).
    pub(crate) fn untrusted_reason(&self) -> String {
        format!(
            "the realm is plain HTTP on {}, which no --insecure-registry names",
            self.url.host_str().unwrap_or_default()
        )
    }
}

/// Cache key: the realm, the service, the scope and the identity of the credential sent
/// (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    realm: String,
    service: Option<String>,
    scope: String,
    identity: String,
}

type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// Tokens of one registry. Each key has its own async lock, so concurrent requests for one scope
/// fetch one token while other scopes proceed.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<TokenKey, Slot>>,
}

/// A token endpoint's answer. `expires_in` is read leniently: a negative, fractional, huge or
/// non-numeric value is the same as none.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// A lifetime the client believes: more than zero and at most [`MAX_TOKEN_LIFETIME`].
fn believable(seconds: f64) -> Option<Duration> {
    (seconds.is_finite() && seconds >= 1.0 && seconds <= MAX_TOKEN_LIFETIME.as_secs_f64())
        .then(|| Duration::from_secs(seconds as u64))
}

/// Reads `exp` from a JWT's payload without verifying it (the registry verifies).
fn jwt_lifetime(token: &str) -> Option<Duration> {
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<serde_json::Value>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    let exp = claims.exp?.as_f64()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    believable(exp - now)
}

/// How long a token is used: `expires_in` when believable, else the JWT's `exp`, else the default.
fn lifetime(expires_in: Option<&serde_json::Value>, token: &str) -> Duration {
    expires_in
        .and_then(serde_json::Value::as_f64)
        .and_then(believable)
        .or_else(|| jwt_lifetime(token))
        .unwrap_or(DEFAULT_TOKEN_LIFETIME)
}

/// How long before expiry a token is considered stale, so it does not expire in flight.
fn skew(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(10))
}

/// When a token of `lifetime` fetched now stops being used (never panics: a lifetime that does
/// not fit the clock is used once).
fn expiry(lifetime: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(lifetime.saturating_sub(skew(lifetime)))
        .unwrap_or(now)
}

impl TokenCache {
    fn slot(&self, key: TokenKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key).or_default().clone()
    }

    /// A token for `scope` at `realm`, from the cache or fetched, sending `credential` (which the
    /// caller has judged the realm may receive). With `refresh`, a cached token is discarded
    /// first (the registry refused it).
    pub(crate) async fn get(
        &self,
        http: TokenHttp<'_>,
        registry: &str,
        realm: &Realm,
        scope: &str,
        credential: Option<&Credential>,
        refresh: bool,
    ) -> Result<Token> {
        let key = TokenKey {
            realm: realm.url.as_str().to_owned(),
            service: realm.service.clone(),
            scope: scope.to_owned(),
            identity: credential.map_or_else(|| "anonymous".to_owned(), Credential::identity),
        };
        let slot = self.slot(key);
        let mut guard = slot.lock().await;
        if refresh {
            *guard = None;
        }
        if let Some(token) = guard.as_ref().filter(|t| t.fresh()) {
            return Ok(token.clone());
        }
        let token = fetch_token(http, registry, realm, scope, credential).await?;
        *guard = Some(token.clone());
        Ok(token)
    }
}

fn basic(username: &str, password: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{username}:{password}"))
    )
}

/// The `Authorization` value of HTTP Basic for `credential`, when it is a user and password.
/// How a token is fetched: the HTTP client for the realm, and the client's request counter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenHttp<'a> {
    /// The HTTP client for the realm's host.
    pub(crate) client: &'a reqwest::Client,
    /// Counts the token request ([`count_request`]).
    pub(crate) sent: &'a AtomicU64,
}

/// Counts one request in `counter` unless it never reached a server (refused connection, failed
/// TLS handshake, unresolved name): the count is of requests a registry could have seen.
pub(crate) fn count_request(counter: &AtomicU64, sent: &reqwest::Result<reqwest::Response>) {
    if !matches!(sent, Err(e) if e.is_connect()) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub(crate) fn basic_header(credential: Option<&Credential>) -> Option<String> {
    match credential {
        Some(Credential::UserPassword { username, password }) => Some(basic(username, password)),
        _ => None,
    }
}

async fn fetch_token(
    TokenHttp { client: http, sent }: TokenHttp<'_>,
    registry: &str,
    realm: &Realm,
    scope: &str,
    credential: Option<&Credential>,
) -> Result<Token> {
    let service = realm.service.as_deref();
    let request = match credential {
        // An identity token is an OAuth2 refresh token: POST it to the realm.
        Some(Credential::IdentityToken { token, .. }) => {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", "imagefacts"),
                ("scope", scope),
            ];
            if let Some(service) = service {
                form.push(("service", service));
            }
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            http.post(realm.url.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        }
        other => {
            let mut url = realm.url.clone();
            {
                let mut q = url.query_pairs_mut();
                if let Some(service) = service {
                    q.append_pair("service", service);
                }
                q.append_pair("scope", scope);
            }
            let rb = http.get(url);
            match basic_header(other) {
                Some(value) => rb.header(reqwest::header::AUTHORIZATION, value),
                None => rb,
            }
        }
    };
    let realm_display = realm.shown();
    let response = request.send().await;
    count_request(sent, &response);
    let response =
        response.map_err(|e| crate::response::transport_error(registry, &realm_display, &e))?;
    let status = response.status().as_u16();
    let body = crate::response::read_limited(response, MAX_TOKEN_RESPONSE)
        .await
        .map_err(|e| crate::response::transport_error(registry, &realm_display, &e))?;
    if !(200..300).contains(&status) {
        return Err(RegistryError::TokenEndpoint {
            registry: registry.to_owned(),
            realm: realm_display,
            status,
            detail: crate::response::error_detail(&body).1,
        });
    }
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|_| RegistryError::Protocol {
            registry: registry.to_owned(),
            detail: format!("token endpoint {realm_display} did not answer a JSON token"),
        })?;
    let value = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(|| RegistryError::Protocol {
            registry: registry.to_owned(),
            detail: format!("token endpoint {realm_display} answered without a token"),
        })?;
    let lifetime = lifetime(parsed.expires_in.as_ref(), &value);
    tracing::debug!(
        registry,
        scope,
        lifetime_s = lifetime.as_secs(),
        "got bearer token"
    );
    Ok(Token {
        expires: expiry(lifetime),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::parse_challenges;

    fn now_secs() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn jwt(exp: &str) -> String {
        format!(
            "e30.{}.sig",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    }

    #[test]
    fn jwt_exp_is_read() {
        let left = jwt_lifetime(&jwt(&(now_secs() + 300).to_string())).unwrap();
        assert!(left <= Duration::from_secs(300) && left >= Duration::from_secs(290));
        assert_eq!(jwt_lifetime("opaque-token"), None);
        assert_eq!(jwt_lifetime(&jwt("1")), None, "expired");
        assert_eq!(jwt_lifetime(&jwt("1e300")), None, "absurdly far");
        assert_eq!(jwt_lifetime(&jwt("\"soon\"")), None);
    }

    #[test]
    fn hostile_lifetimes_fall_back_to_the_default() {
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        let cases = [
            ("0", DEFAULT_TOKEN_LIFETIME),
            ("-5", DEFAULT_TOKEN_LIFETIME),
            ("18446744073709551615", DEFAULT_TOKEN_LIFETIME),
            ("1e308", DEFAULT_TOKEN_LIFETIME),
            ("\"300\"", DEFAULT_TOKEN_LIFETIME),
            ("0.5", DEFAULT_TOKEN_LIFETIME),
            ("300", Duration::from_secs(300)),
            ("86400", MAX_TOKEN_LIFETIME),
        ];
        for (raw, want) in cases {
            assert_eq!(lifetime(Some(&v(raw)), "opaque"), want, "{raw}");
        }
        // An absent or absurd expires_in falls back to a believable JWT exp.
        let far = jwt(&(now_secs() + 10 * 365 * 24 * 3600).to_string());
        assert_eq!(lifetime(None, &far), DEFAULT_TOKEN_LIFETIME);
        let soon = jwt(&(now_secs() + 120).to_string());
        assert!(lifetime(Some(&v("-1")), &soon) > Duration::from_secs(100));
        // A token answer with u64::MAX parses (no overflow) and yields a usable expiry.
        let parsed: TokenResponse =
            serde_json::from_str(r#"{"token":"t","expires_in":18446744073709551615}"#).unwrap();
        let token = Token {
            expires: expiry(lifetime(parsed.expires_in.as_ref(), "t")),
            value: "t".into(),
        };
        assert!(token.fresh());
        let _ = expiry(Duration::MAX);
    }

    #[test]
    fn token_debug_redacts() {
        let t = Token {
            value: "s3cr3t".into(),
            expires: Instant::now(),
        };
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert_eq!(skew(Duration::from_secs(60)), Duration::from_secs(6));
        assert_eq!(skew(Duration::from_secs(3600)), Duration::from_secs(10));
    }

    #[test]
    fn realms_are_trusted_only_over_verified_https_or_on_named_hosts() {
        let config = ClientConfig {
            insecure_registries: vec!["127.0.0.1:5000".into()],
            ..ClientConfig::default()
        };
        let realm = |r: &str| {
            let c = &parse_challenges(&format!(r#"Bearer realm="{r}",service="s""#))[0];
            Realm::of(c, "127.0.0.1:5000", &config)
        };
        let r = realm("https://auth.example/token").unwrap();
        assert!(r.trusted && !r.insecure);
        let r = realm("http://auth.example/token").unwrap();
        assert!(!r.trusted && !r.insecure);
        assert!(r.untrusted_reason().contains("auth.example"));
        let r = realm("http://127.0.0.1:6000/token").unwrap();
        assert!(r.trusted && r.insecure, "same insecure host, any port");
        let r = realm("https://localhost:6000/token").unwrap();
        assert!(r.trusted && !r.insecure, "another host is verified");
        assert!(realm("file:///etc/passwd").is_err());
        assert!(realm("not a url").is_err());
    }
}
