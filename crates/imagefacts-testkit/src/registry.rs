//! A real `docker-registry` (CNCF distribution 2.8) process per test, in three variants.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use base64::Engine as _;

use crate::certs::{self, TlsFiles};
pub use crate::process::AccessLogEntry;
use crate::process::Process;
use crate::scripted::ScriptedServer;
use crate::token::{self, TokenConfig};
use crate::{file_tail, free_port, random_hex};

/// Which registry variant to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistryKind {
    /// Plain HTTP, anonymous read/write, deletes enabled.
    Plain,
    /// HTTPS with a per-registry test CA, htpasswd basic auth (every request needs credentials).
    TlsBasic,
    /// HTTPS with the same kind of test CA, bearer-token auth from an in-process token server
    /// (anonymous tokens grant nothing).
    Token,
}

impl RegistryKind {
    /// All kinds, for tests that loop over them.
    pub const ALL: [RegistryKind; 3] = [
        RegistryKind::Plain,
        RegistryKind::TlsBasic,
        RegistryKind::Token,
    ];
}

/// Registry `auth.token.service` and token `aud`.
const TOKEN_SERVICE: &str = "imagefacts-test-registry";
/// Registry `auth.token.issuer` and token `iss`.
const TOKEN_ISSUER: &str = "imagefacts-testkit";
/// User name for the authenticated variants.
const USER: &str = "imagefacts";

/// A running `docker-registry` process with its temporary directory (config, storage, certificates,
/// credentials). Dropping it stops the process (and the token server) and deletes the directory.
pub struct Registry {
    // Fields drop in declaration order: the process first, the temp dir last.
    process: Process,
    kind: RegistryKind,
    tls: Option<TlsFiles>,
    credentials: Option<(String, String)>,
    authfile: Option<PathBuf>,
    data_dir: PathBuf,
    token_server: Option<ScriptedServer>,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kind", &self.kind)
            .field("host", &self.host())
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Starts a registry of `kind` on a free 127.0.0.1 port and waits (up to ~10 s) until it answers
    /// `GET /v2/`. Certificates, credentials and the token server are made fresh for each registry.
    pub fn start(kind: RegistryKind) -> anyhow::Result<Registry> {
        let dir = tempfile::Builder::new()
            .prefix("imagefacts-registry-")
            .tempdir()
            .context("creating registry temp dir")?;
        let root = dir.path().to_path_buf();
        let data_dir = root.join("data");
        std::fs::create_dir_all(&data_dir)?;

        let tls = match kind {
            RegistryKind::Plain => None,
            _ => Some(certs::generate_tls(&root.join("tls"))?),
        };
        let credentials = match kind {
            RegistryKind::Plain => None,
            _ => Some((USER.to_owned(), format!("pw-{}", random_hex(20)))),
        };

        let mut auth_yaml = String::new();
        let mut token_server = None;
        match kind {
            RegistryKind::Plain => {}
            RegistryKind::TlsBasic => {
                let (user, pass) = credentials.as_ref().expect("credentials");
                let htpasswd = root.join("htpasswd");
                write_htpasswd(&htpasswd, user, pass)?;
                auth_yaml = format!(
                    "auth:\n  htpasswd:\n    realm: \"imagefacts-test\"\n    path: {}\n",
                    yaml_str(&htpasswd)
                );
            }
            RegistryKind::Token => {
                let (user, pass) = credentials.clone().expect("credentials");
                let signer = certs::generate_token_signer(&root.join("token"))?;
                let server = token::start(
                    TokenConfig {
                        issuer: TOKEN_ISSUER.to_owned(),
                        service: TOKEN_SERVICE.to_owned(),
                        user,
                        password: pass,
                    },
                    &signer,
                    tls.as_ref().expect("the token variant has TLS"),
                )?;
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: \"{}/token\"\n    service: \"{TOKEN_SERVICE}\"\n    \
                     issuer: \"{TOKEN_ISSUER}\"\n    rootcertbundle: {}\n",
                    server.url(),
                    yaml_str(&signer.cert)
                );
                token_server = Some(server);
            }
        }

        let tls_yaml = match &tls {
            Some(t) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                yaml_str(&t.server_crt),
                yaml_str(&t.server_key)
            ),
            None => String::new(),
        };
        let secret = random_hex(32);
        let stderr_path = root.join("registry.stderr");
        let pid_path = root.join("registry.pid");
        let config_path = root.join("config.yml");

        let mut last_err = None;
        for _attempt in 0..5 {
            let port = free_port()?;
            let config = format!(
                "version: 0.1\n\
                 log:\n  level: warn\n  formatter: text\n  accesslog:\n    disabled: false\n\
                 storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
                 http:\n  addr: \"127.0.0.1:{port}\"\n  secret: \"{secret}\"\n  draintimeout: 0s\n{tls_yaml}\
                 {auth_yaml}",
                yaml_str(&data_dir),
            );
            std::fs::write(&config_path, config)?;
            let ca = tls.as_ref().map(|t| t.ca_crt.clone());
            match Process::start(port, ca, &config_path, &stderr_path, &pid_path) {
                Ok(process) => {
                    let authfile = match &credentials {
                        Some((user, pass)) => {
                            let path = root.join("auth.json");
                            write_authfile(&path, &format!("127.0.0.1:{port}"), user, pass)?;
                            Some(path)
                        }
                        None => None,
                    };
                    return Ok(Registry {
                        process,
                        kind,
                        tls,
                        credentials,
                        authfile,
                        data_dir,
                        token_server,
                        dir,
                    });
                }
                Err(e) => {
                    // `Process::start` stopped whatever it had started.
                    let in_use = file_tail(&stderr_path, 4096).contains("address already in use");
                    if !in_use {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("registry did not start")))
    }
}

impl Registry {
    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.process.host()
    }

    /// `http://127.0.0.1:PORT` for [`RegistryKind::Plain`], `https://127.0.0.1:PORT` otherwise.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.host())
    }

    /// The variant.
    pub fn kind(&self) -> RegistryKind {
        self.kind
    }

    /// The test CA certificate (PEM) that signed the server certificate (TLS variants).
    pub fn ca_file(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|t| t.ca_crt.clone())
    }

    /// A directory holding only `ca.crt`, for skopeo `--cert-dir` / `--dest-cert-dir` (TLS variants).
    pub fn cert_dir(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|t| t.cert_dir.clone())
    }

    /// User and password accepted by the TLS variants (htpasswd or token server).
    pub fn credentials(&self) -> Option<(String, String)> {
        self.credentials.clone()
    }

    /// A docker `config.json` (`{"auths": {"127.0.0.1:PORT": {"auth": base64(user:pass)}}}`) in the temp
    /// dir (TLS variants).
    pub fn authfile(&self) -> Option<PathBuf> {
        self.authfile.clone()
    }

    /// skopeo per-command flags (`inspect` style: `--tls-verify=false`, or `--cert-dir D --creds U:P`)
    /// to reach this registry with `docker://` references.
    pub fn skopeo_args(&self) -> Vec<String> {
        self.skopeo_prefixed_args("")
    }

    /// Like [`Registry::skopeo_args`] with `--dest-` flags, for the destination of `skopeo copy`.
    pub fn skopeo_dest_args(&self) -> Vec<String> {
        self.skopeo_prefixed_args("dest-")
    }

    /// Like [`Registry::skopeo_args`] with `--src-` flags, for the source of `skopeo copy`.
    pub fn skopeo_src_args(&self) -> Vec<String> {
        self.skopeo_prefixed_args("src-")
    }

    fn skopeo_prefixed_args(&self, prefix: &str) -> Vec<String> {
        let mut args = Vec::new();
        match &self.tls {
            None => args.push(format!("--{prefix}tls-verify=false")),
            Some(t) => {
                args.push(format!("--{prefix}cert-dir"));
                args.push(t.cert_dir.display().to_string());
            }
        }
        if let Some((u, p)) = &self.credentials {
            args.push(format!("--{prefix}creds"));
            args.push(format!("{u}:{p}"));
        }
        args
    }

    /// imagefacts CLI flags to reach this registry: `--insecure-registry HOST` for
    /// [`RegistryKind::Plain`], `--ca-file CA --authfile AUTH` otherwise.
    pub fn imagefacts_args(&self) -> Vec<String> {
        match (&self.tls, &self.authfile) {
            (Some(t), Some(auth)) => vec![
                "--ca-file".to_owned(),
                t.ca_crt.display().to_string(),
                "--authfile".to_owned(),
                auth.display().to_string(),
            ],
            _ => vec!["--insecure-registry".to_owned(), self.host()],
        }
    }

    /// The access-log lines so far (the harness's own probes excluded). Waits briefly so that requests
    /// that already completed are included.
    pub fn access_log(&self) -> Vec<AccessLogEntry> {
        self.process.sync_log();
        self.process.entries()
    }

    /// Forgets the access-log lines so far (after letting completed requests' lines arrive).
    pub fn clear_access_log(&self) {
        self.process.sync_log();
        self.process.clear_entries();
    }

    /// Number of requests the token server received (any outcome); 0 for other kinds.
    pub fn token_requests(&self) -> usize {
        self.token_server.as_ref().map_or(0, |s| s.requests().len())
    }

    /// The token server's request log (empty for other kinds).
    pub fn token_request_log(&self) -> Vec<crate::Request> {
        self.token_server
            .as_ref()
            .map(|s| s.requests())
            .unwrap_or_default()
    }

    /// `https://127.0.0.1:PORT2/token` for [`RegistryKind::Token`] (same CA as the registry).
    pub fn token_realm(&self) -> Option<String> {
        self.token_server
            .as_ref()
            .map(|s| format!("{}/token", s.url()))
    }

    /// The registry's storage root (`storage.filesystem.rootdirectory`).
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// The registry's temp dir (config, certificates, credentials, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last bytes of the registry's stderr (its non-access logs), for diagnostics.
    pub fn stderr_tail(&self) -> String {
        file_tail(self.process.stderr_path(), 8192)
    }
}

impl Drop for Registry {
    /// Stops the registry process (closing its supervisor's stdin, then SIGKILL after 5 s) and waits for
    /// it; the token server and the temp dir go with the remaining fields.
    fn drop(&mut self) {
        self.process.stop();
    }
}

fn write_htpasswd(path: &Path, user: &str, pass: &str) -> anyhow::Result<()> {
    let out = Command::new("htpasswd")
        .args(["-Bbn", user, pass])
        .output()
        .context("running htpasswd (apache2-utils installed?)")?;
    if !out.status.success() {
        bail!("htpasswd failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    std::fs::write(path, format!("{}\n", text.trim()))?;
    Ok(())
}

fn write_authfile(path: &Path, host: &str, user: &str, pass: &str) -> anyhow::Result<()> {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let json = serde_json::json!({"auths": {host: {"auth": auth}}});
    std::fs::write(path, serde_json::to_vec_pretty(&json)?)?;
    Ok(())
}

/// A YAML double-quoted string for a path.
fn yaml_str(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).unwrap_or_default()
}
