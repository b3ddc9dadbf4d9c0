//! Reading responses: capped bodies, digest checks, distribution error bodies, status and
//! transport errors mapped onto [`RegistryError`].

use std::error::Error as _;
use std::time::Duration;

use imagefacts_model::Digest;
use imagefacts_model::redact::redact_text;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use url::Url;

use crate::error::{RegistryError, Result};
use crate::redact::redact_url;

pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn header_digest(registry: &str, headers: &HeaderMap) -> Result<Option<Digest>> {
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
pub(crate) fn verify(url: &str, expected: Option<Digest>, bytes: &[u8]) -> Result<Digest> {
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
pub(crate) async fn read_capped(
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

/// The first `{code, message}` of a distribution error body, if it is one, with any secret in
/// them hidden ([`redact_text`]): a registry's words go into errors, logs, progress events and
/// facts.json, and a proxy may quote its upstream's signed URL or credentials.
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
        Ok(b) => b.errors.into_iter().next().map_or((None, None), |i| {
            let hide = |text: String| redact_text(&text).0;
            (i.code.map(hide), i.message.map(hide))
        }),
        Err(_) => (None, None),
    }
}

pub(crate) fn status_error(
    registry: &str,
    repository: &str,
    url: &Url,
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> RegistryError {
    let status = status.as_u16();
    let retry_after = header_str(headers, "retry-after").and_then(parse_retry_after);
    let (code, detail) = error_detail(body);
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
            url: redact_url(url.as_str()),
            status,
            code,
            detail,
            retry_after,
        },
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Classifies a transport failure: timeout, TLS or network.
pub(crate) fn transport_error(registry: &str, url: &str, e: &reqwest::Error) -> RegistryError {
    // The root cause carries the useful text ("invalid peer certificate: UnknownIssuer").
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let all = causes.join(" ").to_ascii_lowercase();
    if e.is_timeout() || all.contains("timed out") {
        return RegistryError::Timeout {
            registry: registry.to_owned(),
            url: redact_url(url),
        };
    }
    let detail = causes.last().cloned().unwrap_or_else(|| e.to_string());
    let tls = ["certificate", "tls", "handshake", "ssl"]
        .iter()
        .any(|w| all.contains(w));
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
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
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
        let (code, msg) = error_detail(
            br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#,
        );
        assert_eq!(code.as_deref(), Some("NAME_UNKNOWN"));
        assert!(msg.unwrap().contains("not known"));
        assert_eq!(error_detail(b"<html>"), (None, None));
    }

    #[test]
    fn secrets_in_an_error_body_are_hidden() {
        let (code, msg) = error_detail(
            br#"{"errors":[{"code":"UNKNOWN","message":"upstream GET https://u:pw@blobs.example/x?X-Amz-Signature=s1g failed; Authorization: Bearer t0k"}]}"#,
        );
        assert_eq!(code.as_deref(), Some("UNKNOWN"));
        assert_eq!(
            msg.as_deref(),
            Some(
                "upstream GET https://***HIDDEN***@blobs.example/x?X-Amz-Signature=***HIDDEN*** failed; Authorization: Bearer ***HIDDEN***"
            )
        );
    }
}
