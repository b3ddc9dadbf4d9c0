//! A scripted in-process HTTP/1.1 server for fault tests (a misbehaving registry).
//!
//! Written on raw tokio so that a test controls the bytes on the wire: wrong `Content-Length`, bodies
//! that stall mid-way, delays before the headers. Plain HTTP only, keep-alive supported.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// One request received by a [`ScriptedServer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, e.g. `GET`, `HEAD`.
    pub method: String,
    /// The request target as sent: path and query, e.g. `/v2/foo/manifests/1.0?x=y`.
    pub path: String,
    /// Header names lower-cased, values as sent, in the order received.
    pub headers: Vec<(String, String)>,
    /// The request body (decoded from `Content-Length` or chunked framing); empty for most requests.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without the query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The query string parameters (percent-decoded, `+` as space), in order; a key may repeat.
    pub fn query(&self) -> Vec<(String, String)> {
        let Some((_, q)) = self.path.split_once('?') else {
            return Vec::new();
        };
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }
}

/// Decodes `%XX` escapes and `+` (as space) of a query component; invalid escapes are kept as is.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a [`ScriptedServer`] answers to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, sent in order. A `content-length` here overrides the computed one (the body is
    /// still sent as given, and the connection is closed afterwards if the two disagree); a
    /// `transfer-encoding` here suppresses the computed `Content-Length` (the body is sent raw).
    pub headers: Vec<(String, String)>,
    /// Response body (not sent for `HEAD` requests; its length still sets `Content-Length`).
    pub body: Vec<u8>,
    /// Wait this long before sending the status line and headers.
    pub delay: Duration,
    /// Send only this many body bytes, then hang (sending nothing more) until the client disconnects or
    /// the server is dropped.
    pub stall_after: Option<usize>,
    /// Send the body one byte at a time, this long apart (a registry that drips).
    pub drip: Option<Duration>,
    /// Close the connection after the delay without sending anything (a connection reset before
    /// the headers).
    pub hang_up: bool,
}

impl Reply {
    /// A reply with `status`, no headers, an empty body, no delay and no stall.
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            stall_after: None,
            drip: None,
            hang_up: false,
        }
    }

    /// A reply that sends nothing: the connection closes (after [`Reply::delay`], if any) before
    /// a status line, as a reset or a crashing proxy does.
    pub fn hang_up() -> Reply {
        Reply {
            hang_up: true,
            ..Reply::new(0)
        }
    }

    /// Sends the body one byte every `interval` (each read gets a byte; the whole takes long).
    pub fn drip(mut self, interval: Duration) -> Self {
        self.drip = Some(interval);
        self
    }

    /// Adds a header (sent in the order added).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the body to `value` serialized as JSON and adds `Content-Type: application/json` unless a
    /// content type was already set.
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        self.body = serde_json::to_vec(value).unwrap_or_default();
        if !self.has_header("content-type") {
            self.headers
                .push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        self
    }

    /// Waits `delay` before sending the status line and headers.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sends only the first `bytes` body bytes, then hangs until the client disconnects.
    pub fn stall_after(mut self, bytes: usize) -> Self {
        self.stall_after = Some(bytes);
        self
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync + 'static>;

/// A scripted HTTP/1.1 server on 127.0.0.1 running on a background thread; stops when dropped.
pub struct ScriptedServer {
    addr: SocketAddr,
    tls: bool,
    log: Arc<Mutex<Vec<Request>>>,
    shutdown: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ScriptedServer {
    /// Starts a server whose `handler` answers every request (it gets the method, path and query, and
    /// headers; it must not block for long: use [`Reply::delay`] to delay). A panicking handler
    /// produces a 500 reply whose body is the panic message.
    pub fn start(
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> anyhow::Result<ScriptedServer> {
        ScriptedServer::spawn(None, Arc::new(handler))
    }

    /// Like [`ScriptedServer::start`], serving HTTPS with the PEM certificate chain `cert` and
    /// private key `key` (e.g. those of [`crate::generate_tls`]).
    pub fn start_tls(
        cert: &std::path::Path,
        key: &std::path::Path,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> anyhow::Result<ScriptedServer> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("reading {}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("parsing {}", cert.display()))?;
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("reading {}", key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .context("TLS server certificate")?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        ScriptedServer::spawn(Some(acceptor), Arc::new(handler))
    }

    fn spawn(
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: Handler,
    ) -> anyhow::Result<ScriptedServer> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("binding 127.0.0.1:0 for scripted server")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let (tx, rx) = watch::channel(false);
        let is_tls = tls.is_some();
        let thread_log = log.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building tokio runtime for scripted server")?;
        let thread = std::thread::Builder::new()
            .name(format!("scripted-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(accept_loop(std_listener, tls, handler, thread_log, rx));
                // Dropping the runtime here cancels all connection tasks (stalled ones included).
                drop(runtime);
            })
            .context("spawning scripted server thread")?;
        Ok(ScriptedServer {
            addr,
            tls: is_tls,
            log,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`, or `https://…` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The same URL with `localhost` for the host: another host name for the same server, for
    /// tests that need a second host without leaving 127.0.0.1.
    pub fn localhost_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://localhost:{}", self.addr.port())
    }

    /// All requests received so far, in arrival order (recorded before the handler runs).
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(
    std_listener: std::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    handler: Handler,
    log: Arc<Mutex<Vec<Request>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(listener) = TcpListener::from_std(std_listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let (handler, log) = (handler.clone(), log.clone());
                match &tls {
                    None => {
                        tokio::spawn(serve_conn(stream, handler, log));
                    }
                    Some(acceptor) => {
                        let acceptor = acceptor.clone();
                        tokio::spawn(async move {
                            // A client that refuses the certificate just goes away.
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_conn(stream, handler, log).await;
                            }
                        });
                    }
                }
            }
        }
    }
}

const MAX_HEAD: usize = 64 * 1024;

/// A connection the server reads requests from: TCP or TLS over TCP.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

async fn serve_conn(mut stream: impl Conn, handler: Handler, log: Arc<Mutex<Vec<Request>>>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let (req, keep_alive_req) = match read_request(&mut stream, &mut buf).await {
            Some(r) => r,
            None => return,
        };
        if let Ok(mut l) = log.lock() {
            l.push(req.clone());
        }
        let reply = match catch_unwind(AssertUnwindSafe(|| handler(&req))) {
            Ok(r) => r,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "handler panicked".to_owned());
                Reply::new(500).body(format!("scripted handler panicked: {msg}"))
            }
        };
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        if reply.hang_up {
            let _ = stream.shutdown().await;
            return;
        }
        let is_head = req.method.eq_ignore_ascii_case("HEAD");
        let (head, framed_ok) = response_head(&reply, is_head);
        if stream.write_all(&head).await.is_err() {
            return;
        }
        if !is_head {
            let body = match reply.stall_after {
                Some(n) => &reply.body[..n.min(reply.body.len())],
                None => &reply.body[..],
            };
            match reply.drip {
                Some(interval) => {
                    for byte in body {
                        if stream.write_all(&[*byte]).await.is_err()
                            || stream.flush().await.is_err()
                        {
                            return;
                        }
                        tokio::time::sleep(interval).await;
                    }
                }
                None => {
                    if stream.write_all(body).await.is_err() {
                        return;
                    }
                }
            }
        }
        if stream.flush().await.is_err() {
            return;
        }
        if reply.stall_after.is_some() {
            // Hang until the client goes away (or the runtime is dropped with the server).
            let mut scratch = [0u8; 4096];
            loop {
                match stream.read(&mut scratch).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        }
        let reply_close = reply
            .header_value("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !keep_alive_req || reply_close || !framed_ok {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Reads one request (head + body) from `stream`; `buf` keeps bytes read past it. Returns the request
/// and whether the connection may be kept alive; `None` on EOF, error or malformed input.
async fn read_request(stream: &mut impl Conn, buf: &mut Vec<u8>) -> Option<(Request, bool)> {
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        // A TLS ClientHello (record type 0x16) on this plain-HTTP port: close at once, as Go's
        // net/http does, so clients probing HTTPS first fall back quickly.
        if buf.len() > MAX_HEAD || buf.first() == Some(&0x16) {
            return None;
        }
        read_more(stream, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let mut parts = request_line.split(' ');
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let version = parts.next().unwrap_or("HTTP/1.1").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let chunked =
        get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        read_chunked(stream, buf).await?
    } else {
        let len: usize = match get("content-length") {
            Some(v) => v.parse().ok()?,
            None => 0,
        };
        while buf.len() < len {
            read_more(stream, buf).await?;
        }
        buf.drain(..len).collect()
    };
    let conn = get("connection").map(|v| v.to_ascii_lowercase());
    let keep_alive = if version == "HTTP/1.0" {
        conn.as_deref() == Some("keep-alive")
    } else {
        conn.as_deref() != Some("close")
    };
    Some((
        Request {
            method,
            path,
            headers,
            body,
        },
        keep_alive,
    ))
}

async fn read_chunked(stream: &mut impl Conn, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(p) = find(buf, b"\r\n") {
                break p;
            }
            read_more(stream, buf).await?;
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        buf.drain(..line_end + 2);
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // Skip trailers up to the empty line.
            loop {
                let end = loop {
                    if let Some(p) = find(buf, b"\r\n") {
                        break p;
                    }
                    read_more(stream, buf).await?;
                };
                buf.drain(..end + 2);
                if end == 0 {
                    return Some(body);
                }
            }
        }
        while buf.len() < size + 2 {
            read_more(stream, buf).await?;
        }
        body.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

async fn read_more(stream: &mut impl Conn, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Serializes the status line and headers. The flag is false when the framing is not trustworthy
/// (declared length differs from the body, raw transfer-encoding, stall), so the connection must close.
fn response_head(reply: &Reply, is_head: bool) -> (Vec<u8>, bool) {
    let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (k, v) in &reply.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    let mut framed_ok = reply.stall_after.is_none();
    let no_body_status =
        (100..200).contains(&reply.status) || reply.status == 204 || reply.status == 304;
    if reply.has_header("transfer-encoding") {
        framed_ok = false;
    } else if let Some(declared) = reply.header_value("content-length") {
        if !is_head && declared.trim().parse::<usize>().ok() != Some(reply.body.len()) {
            framed_ok = false;
        }
    } else if !no_body_status {
        out.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    out.push_str("\r\n");
    (out.into_bytes(), framed_ok)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("repository%3Afoo%2Fbar%3Apull%2Cpush"),
            "repository:foo/bar:pull,push"
        );
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
