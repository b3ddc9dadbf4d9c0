//! The in-process token server of [`crate::RegistryKind::Token`] registries (Docker registry token
//! authentication: `GET /token?service=..&scope=..` with optional HTTP Basic credentials).
//!
//! - correct credentials: every requested action is granted;
//! - wrong user or password: 401;
//! - no credentials: a valid token with an empty `access` list (so the registry denies everything).
//!
//! The JWT is RS256-signed; its header carries `x5c` = [the self-signed signing certificate], which is
//! also the registry's `rootcertbundle`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::certs::{SignerFiles, TlsFiles, pem_cert_base64_der};
use crate::scripted::{Reply, Request, ScriptedServer};

/// Settings of a token server.
#[derive(Debug, Clone)]
pub(crate) struct TokenConfig {
    /// `iss` claim; must equal the registry's `auth.token.issuer`.
    pub(crate) issuer: String,
    /// Expected `service` and the `aud` claim; must equal the registry's `auth.token.service`.
    pub(crate) service: String,
    /// The only accepted user.
    pub(crate) user: String,
    /// Its password.
    pub(crate) password: String,
}

/// Token lifetime in seconds.
const EXPIRES_IN: u64 = 300;

/// Starts the token server on HTTPS with the registry's own certificate (real realms are HTTPS);
/// it answers on `/token`.
pub(crate) fn start(
    config: TokenConfig,
    signer: &SignerFiles,
    tls: &TlsFiles,
) -> anyhow::Result<ScriptedServer> {
    let key_pem = std::fs::read(&signer.key).context("reading token signer key")?;
    let key = EncodingKey::from_rsa_pem(&key_pem).context("parsing token signer key")?;
    let cert_pem = std::fs::read_to_string(&signer.cert).context("reading token signer cert")?;
    let x5c = pem_cert_base64_der(&cert_pem)?;
    // Fail early (not inside the handler) if signing does not work.
    sign(&config, &key, &x5c, "probe", Vec::new()).context("test-signing a token")?;
    ScriptedServer::start_tls(&tls.server_crt, &tls.server_key, move |req| {
        handle(&config, &key, &x5c, req)
    })
}

fn handle(config: &TokenConfig, key: &EncodingKey, x5c: &str, req: &Request) -> Reply {
    if req.path_only() != "/token" {
        return Reply::new(404).body("not found");
    }
    if !(req.method == "GET" || req.method == "POST") {
        return Reply::new(405).body("method not allowed");
    }
    let mut params = req.query();
    if req.method == "POST" {
        // OAuth2-style form post (`grant_type=password&username=..&password=..&scope=..`).
        let form = String::from_utf8_lossy(&req.body).into_owned();
        let fake = Request {
            method: String::new(),
            path: format!("/?{form}"),
            headers: Vec::new(),
            body: Vec::new(),
        };
        params.extend(fake.query());
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };

    if let Some(service) = param("service")
        && service != config.service
    {
        let message = format!("unknown service {service}");
        return Reply::new(400)
            .json(&json!({"errors": [{"code": "UNSUPPORTED", "message": message}]}));
    }

    let creds = match basic_credentials(req) {
        Some(c) => Some(c),
        None => match (param("username"), param("password")) {
            (Some(u), Some(p)) => Some((u, p)),
            _ => None,
        },
    };
    let (subject, authenticated) = match creds {
        Some((user, password)) => {
            if user != config.user || password != config.password {
                return Reply::new(401)
                    .header("WWW-Authenticate", "Basic realm=\"imagefacts-test-token\"")
                    .json(&json!({"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]}));
            }
            (user, true)
        }
        None => (String::new(), false),
    };

    let mut access = Vec::new();
    if authenticated {
        for (k, v) in &params {
            if k == "scope" {
                // A scope value may hold several space-separated scopes.
                for scope in v.split(' ').filter(|s| !s.is_empty()) {
                    if let Some(entry) = parse_scope(scope) {
                        access.push(entry);
                    }
                }
            }
        }
    }

    let token = match sign(config, key, x5c, &subject, access) {
        Ok(t) => t,
        Err(e) => return Reply::new(500).body(format!("signing failed: {e:#}")),
    };
    let issued_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Reply::new(200).json(&json!({
        "token": token,
        "access_token": token,
        "expires_in": EXPIRES_IN,
        "issued_at": issued_at,
    }))
}

/// `type:name:actions`; the name may itself contain `:` (a registry host with a port), so the type is
/// split off the front and the actions off the back.
fn parse_scope(scope: &str) -> Option<serde_json::Value> {
    let (typ, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    Some(json!({"type": typ, "name": name, "actions": actions}))
}

fn basic_credentials(req: &Request) -> Option<(String, String)> {
    let value = req.header("authorization")?;
    let (scheme, b64) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (u, p) = decoded.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn sign(
    config: &TokenConfig,
    key: &EncodingKey,
    x5c: &str,
    subject: &str,
    access: Vec<serde_json::Value>,
) -> anyhow::Result<String> {
    static JTI: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.x5c = Some(vec![x5c.to_owned()]);
    let claims = json!({
        "iss": config.issuer,
        "sub": subject,
        "aud": config.service,
        "exp": now + EXPIRES_IN,
        // Small allowance for clock granularity between this process and the registry.
        "nbf": now.saturating_sub(10),
        "iat": now,
        "jti": format!("{}-{}", crate::random_hex(12), JTI.fetch_add(1, Ordering::Relaxed)),
        "access": access,
    });
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}

#[cfg(test)]
mod tests {
    use super::parse_scope;
    use serde_json::json;

    #[test]
    fn scopes() {
        assert_eq!(
            parse_scope("repository:fixtures/single:pull,push"),
            Some(
                json!({"type": "repository", "name": "fixtures/single", "actions": ["pull", "push"]})
            )
        );
        assert_eq!(
            parse_scope("repository:127.0.0.1:5000/foo:pull"),
            Some(json!({"type": "repository", "name": "127.0.0.1:5000/foo", "actions": ["pull"]}))
        );
        assert_eq!(
            parse_scope("registry:catalog:*"),
            Some(json!({"type": "registry", "name": "catalog", "actions": ["*"]}))
        );
        assert_eq!(parse_scope("bogus"), None);
    }
}
