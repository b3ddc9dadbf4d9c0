//! The supervised `docker-registry` process: spawning, readiness, access-log capture, shutdown.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::file_tail;

/// One parsed line of the registry's access log (Apache combined format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLogEntry {
    /// Request method, e.g. `GET`.
    pub method: String,
    /// Request URI as logged: the path plus the query string, if any.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Response body size in bytes as logged (0 when logged as `-`).
    pub size: u64,
    /// The `User-Agent` header (empty if none).
    pub user_agent: String,
    /// The raw log line.
    pub raw: String,
}

/// User agent of the harness's own readiness/sync probes; their log lines are not recorded.
const PROBE_UA: &str = "imagefacts-testkit-probe";

#[derive(Default)]
struct LogState {
    entries: Vec<AccessLogEntry>,
    probes_seen: u64,
    closed: bool,
}

#[derive(Default)]
struct LogShared {
    state: Mutex<LogState>,
    cond: Condvar,
}

/// The supervised `sh` + `docker-registry` processes and the access-log reader.
pub(crate) struct Process {
    port: u16,
    ca: Option<PathBuf>,
    client: Option<(PathBuf, PathBuf)>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    reader: Option<JoinHandle<()>>,
    log: Arc<LogShared>,
    stderr_path: PathBuf,
    pid_path: PathBuf,
}

impl Process {
    /// Spawns `docker-registry serve CONFIG` on `port` under a supervisor shell and waits until it
    /// answers; on failure everything started is stopped again. Probes verify the server against
    /// `ca` (TLS) and present `client` (certificate, key) when the registry wants a client certificate.
    pub(crate) fn start(
        port: u16,
        ca: Option<PathBuf>,
        client: Option<(PathBuf, PathBuf)>,
        config_path: &Path,
        stderr_path: &Path,
        pid_path: &Path,
    ) -> anyhow::Result<Process> {
        let mut process = Process {
            port,
            ca,
            client,
            child: None,
            stdin: None,
            reader: None,
            log: Arc::default(),
            stderr_path: stderr_path.to_path_buf(),
            pid_path: pid_path.to_path_buf(),
        };
        process.spawn(config_path)?;
        process.wait_ready()?;
        Ok(process)
    }

    /// The entries logged so far.
    pub(crate) fn entries(&self) -> Vec<AccessLogEntry> {
        self.log
            .state
            .lock()
            .map(|s| s.entries.clone())
            .unwrap_or_default()
    }

    /// Forgets the entries logged so far.
    pub(crate) fn clear_entries(&self) {
        if let Ok(mut s) = self.log.state.lock() {
            s.entries.clear();
        }
    }

    /// The file receiving the registry's stderr.
    pub(crate) fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    fn spawn(&mut self, config_path: &Path) -> anyhow::Result<()> {
        let stderr = std::fs::File::create(&self.stderr_path)?;
        // The shell keeps the registry's lifetime tied to our stdin pipe: when the pipe closes (Drop,
        // or this process dying) the watcher kills the registry. `wait` makes the shell exit as soon as
        // the registry does, so its exit is observable.
        let script = r#"exec 3<&0
docker-registry serve "$1" 0</dev/null 3<&- &
pid=$!
echo "$pid" > "$2"
( read _ <&3; kill "$pid" 2>/dev/null ) >/dev/null 2>&1 &
wait "$pid"
"#;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .arg(config_path)
            .arg(&self.pid_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd.spawn().context("spawning sh/docker-registry")?;
        self.stdin = child.stdin.take();
        let stdout = child.stdout.take().context("registry stdout")?;
        self.child = Some(child);
        let log = self.log.clone();
        self.reader = Some(
            std::thread::Builder::new()
                .name(format!("registry-log-{}", self.port))
                .spawn(move || read_access_log(stdout, &log))?,
        );
        Ok(())
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!(
                    "docker-registry exited during startup ({status}); stderr tail:\n{}",
                    file_tail(&self.stderr_path, 4096)
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && self.probe().is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "docker-registry on {} not ready after 10 s; stderr tail:\n{}",
                    self.host(),
                    file_tail(&self.stderr_path, 4096)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `GET /v2/` with the probe user agent and checks that a distribution registry answered.
    fn probe(&self) -> anyhow::Result<()> {
        let request = format!(
            "GET /v2/ HTTP/1.1\r\nHost: {}\r\nUser-Agent: {PROBE_UA}\r\nConnection: close\r\n\r\n",
            self.host()
        );
        let response = match &self.ca {
            None => {
                let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
                let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
                s.set_read_timeout(Some(Duration::from_secs(3)))?;
                s.set_write_timeout(Some(Duration::from_secs(3)))?;
                s.write_all(request.as_bytes())?;
                let mut out = Vec::new();
                s.read_to_end(&mut out)?;
                out
            }
            Some(ca) => tls_probe(&self.host(), ca, self.client.as_ref(), &request)?,
        };
        let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
        if text.starts_with("http/1.") && text.contains("docker-distribution-api-version") {
            Ok(())
        } else {
            bail!("unexpected probe answer: {text:?}")
        }
    }

    /// Waits until the access-log reader has seen everything logged before now: sends a probe and
    /// waits for its log line (lines of earlier, finished requests come before it).
    pub(crate) fn sync_log(&self) {
        let before = self.log.state.lock().map(|s| s.probes_seen).unwrap_or(0);
        if self.probe().is_err() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        let Ok(mut state) = self.log.state.lock() else {
            return;
        };
        while state.probes_seen <= before && !state.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.log.cond.wait_timeout(state, left) {
                Ok((s, _)) => state = s,
                Err(_) => return,
            }
        }
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn stop(&mut self) {
        // Closing the pipe makes the watcher subshell kill the registry.
        drop(self.stdin.take());
        let Some(mut child) = self.child.take() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut exited = false;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if !exited {
            if let Ok(pid) = std::fs::read_to_string(&self.pid_path) {
                let _ = Command::new("kill").arg("-KILL").arg(pid.trim()).status();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take()
            && exited
        {
            let _ = reader.join();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

fn read_access_log(stdout: std::process::ChildStdout, log: &LogShared) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Some(entry) = parse_access_log_line(&line) else {
            continue;
        };
        if let Ok(mut s) = log.state.lock() {
            if entry.user_agent == PROBE_UA {
                s.probes_seen += 1;
            } else {
                s.entries.push(entry);
            }
        }
        log.cond.notify_all();
    }
    if let Ok(mut s) = log.state.lock() {
        s.closed = true;
    }
    log.cond.notify_all();
}

/// Parses one Apache combined-format line:
/// `HOST IDENT USER [DATE] "METHOD URI PROTO" STATUS SIZE "REFERER" "USER-AGENT"`.
pub(crate) fn parse_access_log_line(line: &str) -> Option<AccessLogEntry> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '"' => {
                chars.next();
                let mut s = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        '"' => break,
                        c => s.push(c),
                    }
                }
                fields.push(s);
            }
            '[' => {
                let mut s = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    s.push(c);
                }
                fields.push(s);
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c == ' ' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                fields.push(s);
            }
        }
    }
    if fields.len() < 7 {
        return None;
    }
    let mut request = fields[4].split(' ');
    let method = request.next()?.to_owned();
    let path = request.next()?.to_owned();
    let status = fields[5].parse().ok()?;
    let size = fields[6].parse().unwrap_or(0);
    let user_agent = fields.get(8).cloned().unwrap_or_default();
    Some(AccessLogEntry {
        method,
        path,
        status,
        size,
        user_agent,
        raw: line.to_owned(),
    })
}

/// Runs `openssl s_client` as a minimal TLS client (presenting `client` = (certificate, key) if
/// given), sending `request` and returning the answer.
fn tls_probe(
    host: &str,
    ca: &Path,
    client: Option<&(PathBuf, PathBuf)>,
    request: &str,
) -> anyhow::Result<Vec<u8>> {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        host,
        "-quiet",
        "-verify_return_error",
        "-CAfile",
    ])
    .arg(ca);
    if let Some((cert, key)) = client {
        cmd.arg("-cert").arg(cert).arg("-key").arg(key);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("running openssl s_client")?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.as_bytes());
    }
    let mut stdout = child.stdout.take().context("s_client stdout")?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if child.try_wait()?.is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("s_client reader panicked"))
}

#[cfg(test)]
mod tests {
    use super::parse_access_log_line;

    #[test]
    fn parses_combined_log() {
        let e = parse_access_log_line(
            r#"127.0.0.1 - - [28/Nov/2026:06:49:37 +0000] "HEAD /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1""#,
        )
        .unwrap();
        assert_eq!(
            (e.method.as_str(), e.path.as_str(), e.status, e.size),
            ("HEAD", "/v2/", 200, 2)
        );
        assert_eq!(e.user_agent, "curl/7.88.1");
        let e = parse_access_log_line(
            r#"127.0.0.1 - - [28/Nov/2026:06:49:37 +0000] "GET /v2/a/tags/list?n=1 HTTP/2.0" 404 - "" "x \"y\" z""#,
        )
        .unwrap();
        assert_eq!(
            (e.path.as_str(), e.status, e.size),
            ("/v2/a/tags/list?n=1", 404, 0)
        );
        assert_eq!(e.user_agent, "x \"y\" z");
        assert!(parse_access_log_line("time=\"...\" level=warning msg=hello").is_none());
    }
}
