//! Bearer tokens: fetching them from a challenge's `realm`, and caching them by
//! (scope, credential identity) until they expire.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;

use crate::challenge::Challenge;
use crate::credentials::Credential;
use crate::error::{RegistryError, Result};
use crate::redact::redact_url;

/// Tokens live this long when the endpoint names no lifetime (the distribution spec's default).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
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

/// Cache key: the scope and the identity of the credential (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TokenKey {
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

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Reads `exp` and `iat` from a JWT's payload without verifying it (the registry verifies).
fn jwt_lifetime(token: &str) -> Option<Duration> {
    #[derive(Deserialize)]
    struct Claims {
        exp: Option<i64>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: Claims = serde_json::from_slice(&bytes).ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    let left = claims.exp? - now;
    (left > 0).then(|| Duration::from_secs(left as u64))
}

/// How long before expiry a token is considered stale, so it does not expire in flight.
fn skew(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(10))
}

impl TokenCache {
    fn slot(&self, key: TokenKey) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key).or_default().clone()
    }

    /// A token for `scope`, from the cache or fetched from the challenge's realm. With `refresh`,
    /// a cached token is discarded first (the registry refused it).
    pub(crate) async fn get(
        &self,
        http: &reqwest::Client,
        registry: &str,
        challenge: &Challenge,
        scope: &str,
        credential: Option<&Credential>,
        refresh: bool,
    ) -> Result<Token> {
        let key = TokenKey {
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
        let token = fetch_token(http, registry, challenge, scope, credential).await?;
        *guard = Some(token.clone());
        Ok(token)
    }
}

async fn fetch_token(
    http: &reqwest::Client,
    registry: &str,
    challenge: &Challenge,
    scope: &str,
    credential: Option<&Credential>,
) -> Result<Token> {
    let realm = challenge
        .param("realm")
        .ok_or_else(|| RegistryError::Protocol {
            registry: registry.to_owned(),
            detail: "Bearer challenge without a realm".to_owned(),
        })?;
    let realm_url = url::Url::parse(realm).map_err(|e| RegistryError::Protocol {
        registry: registry.to_owned(),
        detail: format!("Bearer realm {:?} is not a URL: {e}", redact_url(realm)),
    })?;
    let service = challenge.param("service");
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
            http.post(realm_url.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        }
        other => {
            let mut url = realm_url.clone();
            {
                let mut q = url.query_pairs_mut();
                if let Some(service) = service {
                    q.append_pair("service", service);
                }
                q.append_pair("scope", scope);
            }
            let rb = http.get(url);
            match other {
                Some(Credential::UserPassword { username, password }) => rb.header(
                    reqwest::header::AUTHORIZATION,
                    format!(
                        "Basic {}",
                        STANDARD.encode(format!("{username}:{password}"))
                    ),
                ),
                _ => rb,
            }
        }
    };
    let realm_display = redact_url(realm);
    let response = request
        .send()
        .await
        .map_err(|e| crate::response::transport_error(registry, &realm_display, &e))?;
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
    let lifetime = parsed
        .expires_in
        .filter(|s| *s > 0)
        .map(Duration::from_secs)
        .or_else(|| jwt_lifetime(&value))
        .unwrap_or(DEFAULT_TOKEN_LIFETIME);
    tracing::debug!(
        registry,
        scope,
        lifetime_s = lifetime.as_secs(),
        "got bearer token"
    );
    Ok(Token {
        expires: Instant::now() + lifetime - skew(lifetime),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_exp_is_read() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, now + 300));
        let jwt = format!("e30.{payload}.sig");
        let left = jwt_lifetime(&jwt).unwrap();
        assert!(left <= Duration::from_secs(300) && left >= Duration::from_secs(290));
        assert_eq!(jwt_lifetime("opaque-token"), None);
        let expired = URL_SAFE_NO_PAD.encode(r#"{"exp":1}"#);
        assert_eq!(jwt_lifetime(&format!("e30.{expired}.sig")), None);
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
}
