//! A fault-injecting HTTP proxy in front of a real registry (plain HTTP, 127.0.0.1 only).
//!
//! Every request goes through a plan, `(request, nth) -> Option<Fault>` where `nth` counts the
//! requests with the same method and path from 1. Without a fault the request is forwarded to the
//! upstream registry and its answer relayed as is; with one, the answer is what [`Fault`] says:
//! made up (a status, a hang-up, a redirect loop) or the upstream's answer spoilt (stalled,
//! truncated, other bytes). [`FaultProxy::seeded`] makes a plan from a seed: the same seed faults
//! the same requests whatever order they arrive in.
//!
//! With [`FaultProxy::with_token_auth`] the proxy also plays a bearer-token registry: requests
//! without its token get a challenge whose realm is the proxy's own `/token`, which goes through
//! the plan too (a token endpoint that hangs).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};

use crate::scripted::{Reply, Request, ScriptedServer};
use crate::upload::Answer;

/// The token [`FaultProxy::with_token_auth`] issues and accepts.
const PROXY_TOKEN: &str = "fault-proxy-token";

/// How long a hanging answer waits: longer than any test runs.
const FOREVER: Duration = Duration::from_secs(24 * 3600);

/// What the proxy does to one request instead of relaying the registry's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection before any byte of an answer (a reset).
    HangUp,
    /// Send the registry's status and headers, then close before the body.
    HangUpAfterHeaders,
    /// Answer with this status (500, 502, 503…) and a distribution-style error body.
    Status(u16),
    /// Answer 429, with `Retry-After: <seconds>` when given.
    TooManyRequests {
        /// The `Retry-After` seconds, if any.
        retry_after: Option<u32>,
    },
    /// Send the registry's headers and half its body, then send nothing more.
    StallBody,
    /// Send the registry's headers and half its body, then close.
    TruncateBody,
    /// Send the registry's answer with one body byte changed (other content, other digest, same
    /// length and headers).
    OtherContent,
    /// Send a well-formed JSON body of this many bytes with the registry's headers and a
    /// `Docker-Content-Digest` that matches it.
    Oversize(usize),
    /// Answer `307` to the same URL, every time.
    RedirectLoop,
    /// Send a body that is not JSON, with a `Docker-Content-Digest` that matches it.
    InvalidJson,
    /// Send, for a manifest, a valid one with the registry's config and this many layers, with a
    /// `Docker-Content-Digest` that matches it.
    ManyLayers(usize),
    /// Answer `401` with a `WWW-Authenticate` that is no challenge at all.
    GarbageChallenge,
    /// Accept the request and never answer.
    Hang,
    /// Relay the registry's answer after this long (a slow proxy).
    Delay(Duration),
}

impl Fault {
    /// A short name for figures and logs (`hangUp`, `status503`, `tooManyRequests`…).
    pub fn kind(&self) -> String {
        match self {
            Fault::HangUp => "hangUp".into(),
            Fault::HangUpAfterHeaders => "hangUpAfterHeaders".into(),
            Fault::Status(s) => format!("status{s}"),
            Fault::TooManyRequests { retry_after: None } => "tooManyRequests".into(),
            Fault::TooManyRequests {
                retry_after: Some(_),
            } => "tooManyRequestsRetryAfter".into(),
            Fault::StallBody => "stallBody".into(),
            Fault::TruncateBody => "truncateBody".into(),
            Fault::OtherContent => "otherContent".into(),
            Fault::Oversize(_) => "oversize".into(),
            Fault::RedirectLoop => "redirectLoop".into(),
            Fault::InvalidJson => "invalidJson".into(),
            Fault::ManyLayers(_) => "manyLayers".into(),
            Fault::GarbageChallenge => "garbageChallenge".into(),
            Fault::Hang => "hang".into(),
            Fault::Delay(_) => "delay".into(),
        }
    }

    /// Whether the fault spoils a body, so it only applies to a `GET` (not a `HEAD`).
    pub fn needs_body(&self) -> bool {
        matches!(
            self,
            Fault::StallBody
                | Fault::TruncateBody
                | Fault::OtherContent
                | Fault::Oversize(_)
                | Fault::InvalidJson
                | Fault::ManyLayers(_)
        )
    }
}

/// One fault the proxy injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The request's method.
    pub method: String,
    /// The request's path (without the query).
    pub path: String,
    /// Which time this method and path were asked (from 1).
    pub nth: usize,
    /// The fault.
    pub fault: Fault,
}

type Plan = dyn Fn(&Request, usize) -> Option<Fault> + Send + Sync;

/// A fault-injecting proxy on 127.0.0.1 in front of a plain-HTTP registry; stops when dropped.
pub struct FaultProxy {
    server: ScriptedServer,
    injected: Arc<Mutex<Vec<Injected>>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("host", &self.server.host())
            .finish_non_exhaustive()
    }
}

impl FaultProxy {
    /// Starts a proxy to the plain-HTTP registry at `upstream` (`HOST:PORT`) that asks `plan`
    /// about every request.
    pub fn start(
        upstream: &str,
        plan: impl Fn(&Request, usize) -> Option<Fault> + Send + Sync + 'static,
    ) -> anyhow::Result<FaultProxy> {
        FaultProxy::spawn(upstream, false, Arc::new(plan))
    }

    /// Like [`FaultProxy::start`], also demanding a bearer token from the proxy's own `/token`
    /// endpoint (anonymous; the plan is asked about token requests too).
    pub fn with_token_auth(
        upstream: &str,
        plan: impl Fn(&Request, usize) -> Option<Fault> + Send + Sync + 'static,
    ) -> anyhow::Result<FaultProxy> {
        FaultProxy::spawn(upstream, true, Arc::new(plan))
    }

    /// A proxy whose plan faults about `percent`% of the requests, chosen by a hash of `seed`,
    /// method, path and `nth`, with a fault picked the same way from those of `faults` that apply
    /// (body faults only to a `GET`).
    pub fn seeded(
        upstream: &str,
        seed: u64,
        percent: u32,
        faults: Vec<Fault>,
    ) -> anyhow::Result<FaultProxy> {
        FaultProxy::start(upstream, move |req, nth| {
            let roll = mix(seed, &req.method, req.path_only(), nth);
            if roll % 100 >= u64::from(percent) {
                return None;
            }
            let fitting: Vec<&Fault> = faults
                .iter()
                .filter(|f| !f.needs_body() || req.method == "GET")
                .collect();
            let pick = usize::try_from((roll / 100) % fitting.len().max(1) as u64).ok()?;
            fitting.get(pick).map(|f| (*f).clone())
        })
    }

    fn spawn(upstream: &str, token_auth: bool, plan: Arc<Plan>) -> anyhow::Result<FaultProxy> {
        let injected: Arc<Mutex<Vec<Injected>>> = Arc::default();
        let counts: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
        // The proxy's own address is only known once it listens; the realm needs it.
        let own: Arc<Mutex<String>> = Arc::default();
        let (log, own_in) = (injected.clone(), own.clone());
        let upstream = upstream.to_owned();
        let server = ScriptedServer::start(move |req: &Request| {
            let nth = {
                let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
                let n = c
                    .entry(format!("{} {}", req.method, req.path_only()))
                    .or_insert(0);
                *n += 1;
                *n
            };
            let fault = plan(req, nth);
            if let Some(fault) = &fault {
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Injected {
                        method: req.method.clone(),
                        path: req.path_only().to_owned(),
                        nth,
                        fault: fault.clone(),
                    });
            }
            let own = own_in.lock().unwrap_or_else(|e| e.into_inner()).clone();
            answer(req, fault, &upstream, token_auth.then_some(own.as_str()))
        })?;
        *own.lock().unwrap_or_else(|e| e.into_inner()) = server.host();
        Ok(FaultProxy { server, injected })
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.server.host()
    }

    /// Every fault injected so far, in order.
    pub fn injected(&self) -> Vec<Injected> {
        self.injected.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Every request received so far, faulted or not, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }
}

/// A 64-bit mix of the plan's inputs (FNV-1a, then a splitmix finaliser).
fn mix(seed: u64, method: &str, path: &str, nth: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in method
        .bytes()
        .chain([b' '])
        .chain(path.bytes())
        .chain(nth.to_le_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The answer to `req`: `fault`'s, the token dance's, or the upstream's.
fn answer(req: &Request, fault: Option<Fault>, upstream: &str, token_realm: Option<&str>) -> Reply {
    // Faults that need no upstream answer.
    match &fault {
        Some(Fault::HangUp) => return Reply::hang_up(),
        Some(Fault::Hang) => return Reply::new(200).delay(FOREVER),
        Some(Fault::Status(status)) => {
            return Reply::new(*status).json(&serde_json::json!({"errors": [{
                "code": "UNAVAILABLE", "message": "injected fault", "detail": null
            }]}));
        }
        Some(Fault::TooManyRequests { retry_after }) => {
            let reply = Reply::new(429).json(&serde_json::json!({"errors": [{
                "code": "TOOMANYREQUESTS", "message": "injected fault", "detail": null
            }]}));
            return match retry_after {
                Some(s) => reply.header("Retry-After", s.to_string()),
                None => reply,
            };
        }
        Some(Fault::RedirectLoop) => {
            return Reply::new(307).header("Location", req.path.clone());
        }
        Some(Fault::GarbageChallenge) => {
            return Reply::new(401)
                .header("WWW-Authenticate", "=,, \"\" realm Bearer=\"")
                .json(&serde_json::json!({"errors": [{"code": "UNAUTHORIZED"}]}));
        }
        _ => {}
    }
    if let Some(own) = token_realm {
        if req.path_only() == "/token" {
            return Reply::new(200).json(&serde_json::json!({
                "token": PROXY_TOKEN, "expires_in": 300
            }));
        }
        if req.header("authorization") != Some(&format!("Bearer {PROXY_TOKEN}")) {
            return Reply::new(401)
                .header(
                    "WWW-Authenticate",
                    format!(
                        "Bearer realm=\"http://{own}/token\",service=\"fault-proxy\",\
                         scope=\"repository:{}:pull\"",
                        repository(req.path_only()).unwrap_or_default()
                    ),
                )
                .json(&serde_json::json!({"errors": [{"code": "UNAUTHORIZED"}]}));
        }
    }
    let relayed = match forward(req, upstream) {
        Ok(r) => r,
        Err(e) => return Reply::new(502).body(format!("fault proxy: {e:#}")),
    };
    spoil(req, relayed, fault)
}

/// The repository of a `/v2/<name>/manifests|blobs|tags/...` path.
fn repository(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v2/")?;
    ["/manifests/", "/blobs/", "/tags/"]
        .iter()
        .find_map(|m| rest.find(m).map(|i| &rest[..i]))
}

/// The upstream's answer, made into a [`Reply`] (framing headers recomputed; a `HEAD` keeps the
/// upstream's `Content-Length`).
struct Relayed {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn forward(req: &Request, upstream: &str) -> anyhow::Result<Relayed> {
    let mut stream =
        TcpStream::connect(upstream).with_context(|| format!("connecting {upstream}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {upstream}\r\nConnection: close\r\nContent-Length: {}\r\n",
        req.method,
        req.path,
        req.body.len()
    );
    for (name, value) in &req.headers {
        if matches!(
            name.as_str(),
            "accept" | "content-type" | "range" | "user-agent"
        ) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&req.body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let Answer {
        status,
        mut headers,
        mut body,
    } = Answer::parse(&raw)?;
    if answer_is_chunked(&headers) {
        body = dechunk(&body).context("an upstream answer with bad chunks")?;
    }
    let is_head = req.method == "HEAD";
    headers.retain(|(k, _)| {
        let k = k.to_ascii_lowercase();
        k != "connection" && k != "transfer-encoding" && (is_head || k != "content-length")
    });
    Ok(Relayed {
        status,
        headers,
        body,
    })
}

fn answer_is_chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let end = raw.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&raw[..end]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

/// The relayed answer as a reply, spoilt by `fault` when it is a body fault.
fn spoil(req: &Request, relayed: Relayed, fault: Option<Fault>) -> Reply {
    let Relayed {
        status,
        mut headers,
        mut body,
    } = relayed;
    let half = body.len() / 2;
    let full = body.len();
    let mut framing = None;
    let mut stall = None;
    match &fault {
        Some(Fault::HangUpAfterHeaders) => {
            framing = Some(full.max(1));
            body.clear();
        }
        Some(Fault::StallBody) => {
            stall = Some(half);
        }
        Some(Fault::TruncateBody) => {
            framing = Some(full.max(1));
            body.truncate(half);
        }
        Some(Fault::OtherContent) => match body.iter().rposition(u8::is_ascii_hexdigit) {
            Some(i) => body[i] = if body[i] == b'0' { b'1' } else { b'0' },
            None => body.push(b' '),
        },
        Some(Fault::Oversize(len)) => {
            let pad = len.saturating_sub(40);
            body = format!("{{\"schemaVersion\":2,\"pad\":\"{}\"}}", "a".repeat(pad)).into_bytes();
            set_digest(&mut headers, &body);
        }
        Some(Fault::InvalidJson) => {
            body = b"{\"schemaVersion\": 2, \"layers\": [ not json".to_vec();
            set_digest(&mut headers, &body);
        }
        Some(Fault::ManyLayers(n)) => {
            if let Ok(mut manifest) = serde_json::from_slice::<serde_json::Value>(&body) {
                let layer = |i: usize| {
                    let hex = hex::encode(Sha256::digest(format!("layer {i} of {}", req.path)));
                    serde_json::json!({
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": format!("sha256:{hex}"),
                        "size": 1000 + i,
                    })
                };
                manifest["layers"] = (0..*n).map(layer).collect();
                body = serde_json::to_vec(&manifest).unwrap_or_default();
                set_digest(&mut headers, &body);
            }
        }
        _ => {}
    }
    let mut reply = Reply::new(status);
    for (k, v) in headers {
        reply = reply.header(k, v);
    }
    if let Some(len) = framing {
        reply = reply.header("Content-Length", len.to_string());
    }
    let mut reply = reply.body(body);
    if let Some(Fault::Delay(d)) = fault {
        reply = reply.delay(d);
    }
    match stall {
        Some(n) => reply
            .header("Content-Length", full.to_string())
            .stall_after(n),
        None => reply,
    }
}

fn set_digest(headers: &mut Vec<(String, String)>, body: &[u8]) {
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("docker-content-digest"));
    headers.push((
        "Docker-Content-Digest".to_owned(),
        crate::sha256_digest(body),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_the_same_whatever_the_order() {
        let a: Vec<u64> = (1..50).map(|n| mix(7, "GET", "/v2/a", n)).collect();
        let b: Vec<u64> = (1..50).map(|n| mix(7, "GET", "/v2/a", n)).collect();
        assert_eq!(a, b);
        assert_ne!(mix(7, "GET", "/v2/a", 1), mix(8, "GET", "/v2/a", 1));
        let faulted = (0..10_000)
            .filter(|i| mix(1, "GET", &format!("/v2/r{i}"), 1) % 100 < 10)
            .count();
        assert!((800..1200).contains(&faulted), "{faulted} of 10000");
    }

    #[test]
    fn chunks_are_joined() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(dechunk(b"5\r\nab"), None);
    }

    #[test]
    fn repositories_of_paths() {
        assert_eq!(repository("/v2/a/b/manifests/1"), Some("a/b"));
        assert_eq!(repository("/v2/a/blobs/sha256:x"), Some("a"));
        assert_eq!(repository("/v2/"), None);
    }
}
