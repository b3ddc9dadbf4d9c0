//! What cloud registries add to the standard flows.
//!
//! - Docker Hub, ACR (`*.azurecr.io`, user `00000000-0000-0000-0000-000000000000`) and any
//!   registry whose config holds an `identitytoken`: the refresh-token grant at the realm
//!   (handled by the token client).
//! - Google (`gcr.io`, `*-docker.pkg.dev`): user `oauth2accesstoken` with an access token as
//!   password, the standard Basic-to-token flow.
//! - ECR (`<account>.dkr.ecr.<region>.amazonaws.com`): user `AWS` with a token that lasts 12
//!   hours; the token says when it expires, and an expired one is refused here with a hint
//!   rather than sent.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::{AuthSource, Credential, CredentialError};

/// Whether `registry` is an ECR private registry.
fn is_ecr(registry: &str) -> bool {
    let host = registry.split(':').next().unwrap_or(registry);
    let mut labels = host.split('.');
    labels
        .next()
        .is_some_and(|a| a.chars().all(|c| c.is_ascii_digit()))
        && labels.next() == Some("dkr")
        && labels.next() == Some("ecr")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// The expiry an ECR token carries (`aws ecr get-login-password` prints base64 of a JSON
/// object with `expiration` in Unix seconds).
fn ecr_expiration(password: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct Envelope {
        expiration: Option<serde_json::Value>,
    }
    let bytes = STANDARD.decode(password.trim()).ok()?;
    let envelope: Envelope = serde_json::from_slice(&bytes).ok()?;
    envelope.expiration?.as_f64().map(|s| s as i64)
}

/// Refuses a credential known to have expired, so a support engineer reads "get a new token"
/// rather than a bare 401: today, an ECR token past its 12 hours.
///
/// # Errors
///
/// [`CredentialError::Expired`] naming the registry, the source and the expiry.
pub fn check_expiry(
    registry: &str,
    credential: &Credential,
    source: &AuthSource,
) -> Result<(), CredentialError> {
    if !is_ecr(registry) || credential.username() != "AWS" {
        return Ok(());
    }
    let Some(expires) = ecr_expiration(credential.secret()) else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if expires > now {
        return Ok(());
    }
    let expired = time::OffsetDateTime::from_unix_timestamp(expires)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| expires.to_string());
    Err(CredentialError::Expired {
        registry: registry.to_owned(),
        origin: source.clone(),
        expired,
        hint: "ECR tokens last 12 hours: run `aws ecr get-login-password` again, or use docker-credential-ecr-login",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expiration: i64) -> String {
        STANDARD.encode(format!(
            r#"{{"payload":"p","datakey":"d","version":"2","type":"DATA_KEY","expiration":{expiration}}}"#
        ))
    }

    #[test]
    fn expired_ecr_tokens_are_refused_with_a_hint() {
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
        assert!(is_ecr(host));
        assert!(is_ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"));
        assert!(!is_ecr("public.ecr.aws"));
        assert!(!is_ecr("dkr.ecr.evil.example"));
        let source = AuthSource::new("creds", "AWS");
        let aws = |password: String| Credential::UserPassword {
            username: "AWS".into(),
            password,
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        check_expiry(host, &aws(token(now + 3600)), &source).unwrap();
        let err = check_expiry(host, &aws(token(1_700_000_000)), &source).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the credential from creds:AWS for 123456789012.dkr.ecr.eu-west-1.amazonaws.com expired at 2023-11-14T22:13:20Z; ECR tokens last 12 hours: run `aws ecr get-login-password` again, or use docker-credential-ecr-login"
        );
        // Anything else is the registry's to judge.
        check_expiry(host, &aws("opaque".into()), &source).unwrap();
        check_expiry("ghcr.io", &aws(token(1)), &source).unwrap();
    }
}
