//! Docker credential helpers: `docker-credential-<name> get`, the server on stdin, a
//! `{"Username","Secret"}` answer on stdout. Run without a shell, found on `PATH` by name, under a
//! timeout, each (helper, server) asked once per run.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Credential, CredentialError};

/// How long a helper may take (ECR's and Google's helpers may call their cloud first).
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(30);
/// Cap on a helper's stdout and stderr.
const MAX_OUTPUT: u64 = 1024 * 1024;
/// The user name helpers answer for an identity (refresh) token.
const TOKEN_USER: &str = "<token>";

type Answer = Result<Option<Credential>, CredentialError>;
/// One (helper, server) answer, computed once.
type Slot = Arc<OnceLock<Answer>>;

/// Runs credential helpers and remembers their answers for the run.
pub struct HelperRunner {
    timeout: Duration,
    search_path: Option<OsString>,
    answers: Mutex<HashMap<(String, String), Slot>>,
    runs: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for HelperRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperRunner")
            .field("timeout", &self.timeout)
            .field("search_path", &self.search_path)
            .finish_non_exhaustive()
    }
}

impl Default for HelperRunner {
    fn default() -> Self {
        HelperRunner::new(DEFAULT_HELPER_TIMEOUT)
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl HelperRunner {
    /// A runner giving each helper `timeout`, finding helpers on `$PATH`.
    pub fn new(timeout: Duration) -> HelperRunner {
        HelperRunner {
            timeout,
            search_path: None,
            answers: Mutex::new(HashMap::new()),
            runs: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Finds helpers on `path` (a `PATH`-style list) instead of `$PATH`.
    pub fn with_search_path(mut self, path: impl Into<OsString>) -> HelperRunner {
        self.search_path = Some(path.into());
        self
    }

    /// How many helper processes were started.
    pub fn runs(&self) -> usize {
        self.runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether `name` has already answered for `server` this run (so [`HelperRunner::get`]
    /// returns at once).
    pub(crate) fn answered(&self, name: &str, server: &str) -> bool {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .get(&(name.to_owned(), server.to_owned()))
            .is_some_and(|slot| slot.get().is_some())
    }

    /// The credential helper `name` has for `server` (`None`: it has none), asked once per run;
    /// `origin` is the config file that names it. Concurrent callers for one key wait for the
    /// one run. Inside a multi-threaded Tokio runtime the wait does not hold up other tasks; the
    /// client asks a source that [may block](super::CredentialSource::may_block) on the blocking
    /// pool, so on a current-thread runtime it holds up none either.
    pub(crate) fn get(&self, name: &str, server: &str, origin: &Path) -> Answer {
        let slot = {
            let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            answers
                .entry((name.to_owned(), server.to_owned()))
                .or_default()
                .clone()
        };
        if let Some(answer) = slot.get() {
            return answer.clone();
        }
        blocking(|| slot.get_or_init(|| self.run(name, server, origin)).clone())
    }

    fn find(&self, program: &str) -> Option<PathBuf> {
        let path = self
            .search_path
            .clone()
            .or_else(|| std::env::var_os("PATH"))?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| is_executable(p))
    }

    fn run(&self, name: &str, server: &str, origin: &Path) -> Answer {
        let fail = |detail: String| CredentialError::Helper {
            helper: name.to_owned(),
            origin: origin.display().to_string(),
            detail,
        };
        let program = format!("docker-credential-{name}");
        let path = self
            .find(&program)
            .ok_or_else(|| fail("is not installed (not found on PATH)".to_owned()))?;
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(helper = name, server, "running credential helper");
        let mut child = Command::new(&path)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("could not be started: {e}")))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is judged by its exit status below.
            let _ = stdin.write_all(server.as_bytes());
        }
        let reader = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                if let Some(pipe) = pipe {
                    let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut out);
                }
                out
            })
        };
        let stdout = reader(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = reader(child.stderr.take().map(|p| Box::new(p) as _));
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() >= self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!(
                        "did not answer within {}s",
                        self.timeout.as_secs_f64()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(fail(format!("could not be waited for: {e}"))),
            }
        };
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        if !status.success() {
            let said = first_line(&stdout).or_else(|| first_line(&stderr));
            // Docker's helpers say this when they hold nothing for the server.
            if said
                .as_deref()
                .is_some_and(|s| s.contains("credentials not found"))
            {
                return Ok(None);
            }
            return Err(fail(match said {
                Some(s) => format!("failed ({status}): {s}"),
                None => format!("failed ({status})"),
            }));
        }
        // Serde's message could quote the secret: say only that the answer was not the shape.
        let answer: HelperAnswer = serde_json::from_slice(&stdout).map_err(|_| {
            fail("answered something other than {\"Username\":..,\"Secret\":..} JSON".to_owned())
        })?;
        Ok(match (answer.username.as_str(), answer.secret) {
            (_, secret) if secret.is_empty() => None,
            (TOKEN_USER, token) => Some(Credential::IdentityToken {
                username: String::new(),
                token,
            }),
            (_, password) => Some(Credential::UserPassword {
                username: answer.username,
                password,
            }),
        })
    }
}

/// The first non-empty line of a helper's message, cut short (it is shown in errors; helpers
/// print diagnostics there, never the secret they failed to produce).
fn first_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let cut: String = line.chars().take(200).collect();
    Some(imagefacts_model::text::printable(&cut).into_owned())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Runs `f`, which blocks, without stalling the other tasks of a multi-threaded runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(dir: &Path, name: &str, script: &str) {
        let path = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn helpers_answer_fail_and_time_out() {
        let dir = tempfile::tempdir().unwrap();
        helper(
            dir.path(),
            "good",
            r#"read server; [ "$1" = get ] || exit 3; printf '{"ServerURL":"%s","Username":"u","Secret":"pa:ss"}' "$server""#,
        );
        helper(
            dir.path(),
            "token",
            r#"printf '{"Username":"<token>","Secret":"refresh"}'"#,
        );
        helper(
            dir.path(),
            "none",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        helper(dir.path(), "broken", "echo 'no AWS region set' >&2; exit 2");
        helper(dir.path(), "liar", r#"printf 'Secret=hunter2'"#);
        helper(dir.path(), "slow", "sleep 5");
        let runner =
            HelperRunner::new(Duration::from_millis(300)).with_search_path(dir.path().as_os_str());
        let origin = Path::new("/home/me/.docker/config.json");
        let got = runner
            .get("good", "127.0.0.1:5000", origin)
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            Credential::UserPassword {
                username: "u".into(),
                password: "pa:ss".into()
            }
        );
        // Cached for the run: asking again starts nothing.
        runner.get("good", "127.0.0.1:5000", origin).unwrap();
        assert_eq!(runner.runs(), 1);
        assert!(matches!(
            runner.get("token", "x", origin).unwrap(),
            Some(Credential::IdentityToken { .. })
        ));
        assert_eq!(runner.get("none", "x", origin).unwrap(), None);
        let msg = |name: &str| runner.get(name, "x", origin).unwrap_err().to_string();
        assert_eq!(
            msg("broken"),
            "credential helper docker-credential-broken (from /home/me/.docker/config.json) failed (exit status: 2): no AWS region set"
        );
        assert!(!msg("liar").contains("hunter2"));
        assert!(
            msg("slow").contains("did not answer within 0.3s"),
            "{}",
            msg("slow")
        );
        assert_eq!(
            msg("missing"),
            "credential helper docker-credential-missing (from /home/me/.docker/config.json) is not installed (not found on PATH)"
        );
    }
}
