//! The in-process token server of [`crate::RegistryKind::Token`] registries.
//!
//! Two protocols on `/token`, as real token servers speak them:
//!
//! - **Docker token auth**: `GET /token?service=..&scope=..`, optionally with HTTP Basic credentials.
//!   A known user and password: every requested action is granted; a wrong user or password: 401; no
//!   credentials: a valid token with an empty `access` list (so the registry denies everything). The
//!   answer carries both `token` and `access_token`.
//! - **OAuth2** (distribution's `docs/spec/auth/oauth.md`, what Docker and ACR use for identity
//!   tokens): `POST /token` with a form body. `grant_type=refresh_token&refresh_token=R` with a refresh
//!   token this server issued, or `grant_type=password&username=..&password=..` (plus
//!   `access_type=offline` to get a new refresh token). `service` and `client_id` are required, as in
//!   distribution's reference token server (`contrib/token-server`); a missing field or unknown
//!   `grant_type` is 400, a bad refresh token or password 401. The answer has `access_token` (no
//!   `token`), `scope` (what was granted), `expires_in`, `issued_at` and, for a refresh grant or an
//!   offline password grant, `refresh_token`.
//!
//! Users and refresh tokens live in a shared [`TokenState`] that tests extend while the server runs;
//! it also logs every token request as a [`TokenGrant`] (never a secret), and keeps every token it
//! issued (secrets, for tests that search output for them).
//!
//! The JWT is RS256-signed; its header carries `x5c` = [the self-signed signing certificate], which is
//! also the registry's `rootcertbundle`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::certs::{SignerFiles, TlsFiles, pem_cert_base64_der};
use crate::scripted::{Reply, Request, ScriptedServer};

/// How a token request authenticated, in a [`TokenGrant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Grant {
    /// `GET /token` with HTTP Basic credentials (Docker token auth).
    Basic,
    /// `POST /token` with `grant_type=password` (OAuth2 resource-owner password).
    Password,
    /// `POST /token` with `grant_type=refresh_token` (an identity token).
    RefreshToken,
    /// `GET /token` without credentials.
    Anonymous,
    /// `POST /token` whose `grant_type` is missing or unknown (answered 400).
    Unsupported,
}

/// One request to the token server: who asked, how, for what, and what it was answered. Holds no
/// password and no refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The user the token is for: the authenticated user on success; on a refused password or Basic
    /// request the user name it claimed; `""` for anonymous requests and unknown refresh tokens.
    pub subject: String,
    /// How the request authenticated.
    pub grant: Grant,
    /// The scopes requested, one entry per scope as sent (`repository:foo/bar:pull`), in request
    /// order. A 200 answer to a non-anonymous grant grants all of them; an anonymous one none.
    pub scopes: Vec<String>,
    /// The HTTP status answered.
    pub status: u16,
}

/// Settings of a token server.
#[derive(Debug, Clone)]
pub(crate) struct TokenConfig {
    /// `iss` claim; must equal the registry's `auth.token.issuer`.
    pub(crate) issuer: String,
    /// Expected `service` and the `aud` claim; must equal the registry's `auth.token.service`.
    pub(crate) service: String,
}

#[derive(Default)]
struct Inner {
    /// User name -> password.
    users: BTreeMap<String, String>,
    /// Refresh token -> subject.
    refresh_tokens: BTreeMap<String, String>,
    grants: Vec<TokenGrant>,
    /// Every token issued, in order.
    issued: Vec<String>,
}

/// Users, refresh tokens and the grant log of a token server, shared between its handler and the
/// [`crate::Registry`] (thread-safe).
#[derive(Default)]
pub(crate) struct TokenState {
    inner: Mutex<Inner>,
}

impl TokenState {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A handler that panicked while holding the lock left consistent data: keep going.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Accepts `user` with `password` from now on (replacing an earlier password of `user`).
    pub(crate) fn add_user(&self, user: &str, password: &str) {
        self.lock()
            .users
            .insert(user.to_owned(), password.to_owned());
    }

    /// Mints a refresh token for `user`, known to the server from now on.
    pub(crate) fn mint_refresh_token(&self, user: &str) -> String {
        let token = format!("rt-{}", crate::random_hex(40));
        self.lock()
            .refresh_tokens
            .insert(token.clone(), user.to_owned());
        token
    }

    /// The token requests so far, in order.
    pub(crate) fn grants(&self) -> Vec<TokenGrant> {
        self.lock().grants.clone()
    }

    /// Every token issued so far, in order (secrets: for tests that search output for them).
    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    fn check_password(&self, user: &str, password: &str) -> bool {
        self.lock().users.get(user).is_some_and(|p| p == password)
    }

    fn refresh_subject(&self, token: &str) -> Option<String> {
        self.lock().refresh_tokens.get(token).cloned()
    }

    fn log(&self, grant: TokenGrant) {
        self.lock().grants.push(grant);
    }
}

/// A running token server and its shared state.
pub(crate) struct TokenServer {
    pub(crate) server: ScriptedServer,
    pub(crate) state: Arc<TokenState>,
}

/// Token lifetime in seconds.
const EXPIRES_IN: u64 = 300;

/// Starts the token server on HTTPS with the registry's own certificate (real realms are HTTPS);
/// it answers on `/token` and accepts `users` (name, password) to begin with.
pub(crate) fn start(
    config: TokenConfig,
    users: &[(String, String)],
    signer: &SignerFiles,
    tls: &TlsFiles,
) -> anyhow::Result<TokenServer> {
    let key_pem = std::fs::read(&signer.key).context("reading token signer key")?;
    let key = EncodingKey::from_rsa_pem(&key_pem).context("parsing token signer key")?;
    let cert_pem = std::fs::read_to_string(&signer.cert).context("reading token signer cert")?;
    let x5c = pem_cert_base64_der(&cert_pem)?;
    // Fail early (not inside the handler) if signing does not work.
    sign(&config, &key, &x5c, "probe", Vec::new()).context("test-signing a token")?;
    let state = Arc::new(TokenState::default());
    for (user, password) in users {
        state.add_user(user, password);
    }
    let handler_state = state.clone();
    let signer = Signer { config, key, x5c };
    let server = ScriptedServer::start_tls(&tls.server_crt, &tls.server_key, move |req| {
        handle(&signer, &handler_state, req)
    })?;
    Ok(TokenServer { server, state })
}

struct Signer {
    config: TokenConfig,
    key: EncodingKey,
    x5c: String,
}

impl Signer {
    /// Signs a token for `subject` and records it in `state` as issued.
    fn sign(
        &self,
        state: &TokenState,
        subject: &str,
        access: Vec<serde_json::Value>,
    ) -> anyhow::Result<String> {
        let token = sign(&self.config, &self.key, &self.x5c, subject, access)?;
        state.lock().issued.push(token.clone());
        Ok(token)
    }
}

fn handle(signer: &Signer, state: &TokenState, req: &Request) -> Reply {
    if req.path_only() != "/token" {
        return Reply::new(404).body("not found");
    }
    let (grant, reply) = match req.method.as_str() {
        "GET" => get_token(signer, state, &req.query(), basic_credentials(req)),
        "POST" => {
            // A form body parses like a query string.
            let form = Request {
                method: String::new(),
                path: format!("/?{}", String::from_utf8_lossy(&req.body)),
                headers: Vec::new(),
                body: Vec::new(),
            };
            post_token(signer, state, &form.query())
        }
        _ => return Reply::new(405).body("method not allowed"),
    };
    state.log(grant);
    reply
}

/// The first value of `name`.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Every scope of every `scope` parameter (one value may hold several, space-separated).
fn requested_scopes(params: &[(String, String)]) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' '))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A distribution-style error answer (`{"errors": [{code, message, detail}]}`).
fn error_reply(status: u16, code: &str, message: &str, detail: &str) -> Reply {
    Reply::new(status)
        .json(&json!({"errors": [{"code": code, "message": message, "detail": detail}]}))
}

/// The 500 answer (and its logged grant) when a token could not be signed.
fn signing_failed(mut grant: TokenGrant, e: &anyhow::Error) -> (TokenGrant, Reply) {
    grant.status = 500;
    (
        grant,
        Reply::new(500).body(format!("signing failed: {e:#}")),
    )
}

fn issued_at() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Docker token auth: `GET /token` with optional Basic credentials.
fn get_token(
    signer: &Signer,
    state: &TokenState,
    params: &[(String, String)],
    creds: Option<(String, String)>,
) -> (TokenGrant, Reply) {
    let scopes = requested_scopes(params);
    let mut grant = TokenGrant {
        subject: creds.as_ref().map(|(u, _)| u.clone()).unwrap_or_default(),
        grant: if creds.is_some() {
            Grant::Basic
        } else {
            Grant::Anonymous
        },
        scopes: scopes.clone(),
        status: 200,
    };
    if let Some(service) = param(params, "service")
        && service != signer.config.service
    {
        grant.status = 400;
        let message = format!("unknown service {service}");
        return (
            grant,
            Reply::new(400).json(&json!({"errors": [{"code": "UNSUPPORTED", "message": message}]})),
        );
    }
    let access = match &creds {
        Some((user, password)) => {
            if !state.check_password(user, password) {
                grant.status = 401;
                return (
                    grant,
                    Reply::new(401)
                        .header("WWW-Authenticate", "Basic realm=\"imagefacts-test-token\"")
                        .json(&json!({"errors": [{"code": "UNAUTHORIZED", "message": "invalid credentials"}]})),
                );
            }
            scopes.iter().filter_map(|s| parse_scope(s)).collect()
        }
        None => Vec::new(),
    };
    let token = match signer.sign(state, &grant.subject, access) {
        Ok(t) => t,
        Err(e) => return signing_failed(grant, &e),
    };
    let reply = Reply::new(200).json(&json!({
        "token": token,
        "access_token": token,
        "expires_in": EXPIRES_IN,
        "issued_at": issued_at(),
    }));
    (grant, reply)
}

/// OAuth2: `POST /token` with a `refresh_token` or `password` grant.
fn post_token(
    signer: &Signer,
    state: &TokenState,
    form: &[(String, String)],
) -> (TokenGrant, Reply) {
    let scopes = requested_scopes(form);
    let grant_type = param(form, "grant_type").unwrap_or("");
    let mut grant = TokenGrant {
        subject: String::new(),
        grant: match grant_type {
            "refresh_token" => Grant::RefreshToken,
            "password" => Grant::Password,
            _ => Grant::Unsupported,
        },
        scopes: scopes.clone(),
        status: 400,
    };
    let bad = |grant: TokenGrant, detail: &str| {
        let reply = error_reply(400, "UNSUPPORTED", "The operation is unsupported.", detail);
        (grant, reply)
    };
    if grant.grant == Grant::Unsupported {
        let detail = if grant_type.is_empty() {
            "missing grant_type value".to_owned()
        } else {
            format!("unknown grant_type value {grant_type:?}")
        };
        return bad(grant, &detail);
    }
    match param(form, "service") {
        None | Some("") => return bad(grant, "missing service value"),
        Some(s) if s != signer.config.service => {
            return bad(grant, &format!("unknown service {s}"));
        }
        Some(_) => {}
    }
    if param(form, "client_id").is_none_or(str::is_empty) {
        return bad(grant, "missing client_id value");
    }
    let offline = match param(form, "access_type") {
        None | Some("" | "online") => false,
        Some("offline") => true,
        Some(_) => return bad(grant, "unknown access_type value"),
    };

    let unauthorized = |mut grant: TokenGrant, detail: &str| {
        grant.status = 401;
        let reply = error_reply(401, "UNAUTHORIZED", "authentication required", detail);
        (grant, reply)
    };
    let mut refresh_token = None;
    match grant.grant {
        Grant::RefreshToken => {
            let token = match param(form, "refresh_token") {
                None | Some("") => return bad(grant, "missing refresh_token value"),
                Some(t) => t,
            };
            match state.refresh_subject(token) {
                Some(subject) => grant.subject = subject,
                None => return unauthorized(grant, "invalid refresh token"),
            }
            // As distribution's reference server: a refresh grant answers the same refresh token.
            refresh_token = Some(token.to_owned());
        }
        _ => {
            let user = param(form, "username").unwrap_or("");
            let password = param(form, "password").unwrap_or("");
            if user.is_empty() {
                return bad(grant, "missing username value");
            }
            grant.subject = user.to_owned();
            if password.is_empty() {
                return bad(grant, "missing password value");
            }
            if !state.check_password(user, password) {
                return unauthorized(grant, "invalid credentials");
            }
        }
    }
    if offline && grant.grant == Grant::Password {
        refresh_token = Some(state.mint_refresh_token(&grant.subject));
    }

    let access: Vec<serde_json::Value> = scopes.iter().filter_map(|s| parse_scope(s)).collect();
    let granted: Vec<&str> = scopes
        .iter()
        .filter(|s| parse_scope(s).is_some())
        .map(String::as_str)
        .collect();
    let token = match signer.sign(state, &grant.subject, access) {
        Ok(t) => t,
        Err(e) => return signing_failed(grant, &e),
    };
    let mut body = json!({
        "access_token": token,
        "scope": granted.join(" "),
        "expires_in": EXPIRES_IN,
        "issued_at": issued_at(),
    });
    if let Some(r) = refresh_token {
        body["refresh_token"] = json!(r);
    }
    grant.status = 200;
    (grant, Reply::new(200).json(&body))
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
