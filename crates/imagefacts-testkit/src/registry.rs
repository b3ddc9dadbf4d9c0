//! A real `docker-registry` (CNCF distribution 2.8) process per test, in four variants.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use base64::Engine as _;

use crate::certs::{self, ClientFiles, TlsFiles};
pub use crate::process::AccessLogEntry;
use crate::process::Process;
use crate::token::{self, TokenConfig, TokenGrant, TokenServer};
use crate::{file_tail, free_port, random_hex};

/// Which registry variant to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistryKind {
    /// Plain HTTP, anonymous read/write, deletes enabled.
    Plain,
    /// HTTPS with a per-registry test CA, htpasswd basic auth (every request needs credentials).
    TlsBasic,
    /// HTTPS with the same kind of test CA, bearer-token auth from an in-process token server
    /// (anonymous tokens grant nothing; OAuth2 password and refresh-token grants too).
    Token,
    /// HTTPS with the same kind of test CA that also requires a client certificate signed by a
    /// separate client CA (distribution's `http.tls.clientcas`; mutual TLS), anonymous read/write once
    /// connected. See [`Registry::client_identity`] and [`Registry::docker_certs_d`].
    TlsClientCert,
}

impl RegistryKind {
    /// All kinds, for tests that loop over them (skopeo pushes to each with
    /// [`Registry::skopeo_dest_args`]).
    pub const ALL: [RegistryKind; 4] = [
        RegistryKind::Plain,
        RegistryKind::TlsBasic,
        RegistryKind::Token,
        RegistryKind::TlsClientCert,
    ];
}

/// Registry `auth.token.service` and token `aud`.
const TOKEN_SERVICE: &str = "imagefacts-test-registry";
/// Registry `auth.token.issuer` and token `iss`.
const TOKEN_ISSUER: &str = "imagefacts-testkit";
/// User name of the primary user of the authenticated variants.
const USER: &str = "imagefacts";

/// A running `docker-registry` process with its temporary directory (config, storage, certificates,
/// credentials). Dropping it stops the process (and the token server) and deletes the directory.
pub struct Registry {
    // Fields drop in declaration order: the process first, the temp dir last.
    process: Process,
    kind: RegistryKind,
    tls: Option<TlsFiles>,
    client: Option<ClientFiles>,
    /// `certs.d/<host:port>` of [`RegistryKind::TlsClientCert`].
    client_cert_dir: Option<PathBuf>,
    credentials: Option<(String, String)>,
    authfile: Option<PathBuf>,
    data_dir: PathBuf,
    token_server: Option<TokenServer>,
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
        let client = match kind {
            RegistryKind::TlsClientCert => {
                Some(certs::generate_client_identity(&root.join("client"))?)
            }
            _ => None,
        };
        let credentials = match kind {
            RegistryKind::TlsBasic | RegistryKind::Token => {
                Some((USER.to_owned(), format!("pw-{}", random_hex(20))))
            }
            RegistryKind::Plain | RegistryKind::TlsClientCert => None,
        };

        let mut auth_yaml = String::new();
        let mut token_server = None;
        match kind {
            RegistryKind::Plain | RegistryKind::TlsClientCert => {}
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
                let primary = credentials.clone().expect("credentials");
                let signer = certs::generate_token_signer(&root.join("token"))?;
                let server = token::start(
                    TokenConfig {
                        issuer: TOKEN_ISSUER.to_owned(),
                        service: TOKEN_SERVICE.to_owned(),
                    },
                    &[primary],
                    &signer,
                    tls.as_ref().expect("the token variant has TLS"),
                )?;
                auth_yaml = format!(
                    "auth:\n  token:\n    realm: \"{}/token\"\n    service: \"{TOKEN_SERVICE}\"\n    \
                     issuer: \"{TOKEN_ISSUER}\"\n    rootcertbundle: {}\n",
                    server.server.url(),
                    yaml_str(&signer.cert)
                );
                token_server = Some(server);
            }
        }

        let mut tls_yaml = match &tls {
            Some(t) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                yaml_str(&t.server_crt),
                yaml_str(&t.server_key)
            ),
            None => String::new(),
        };
        if let Some(c) = &client {
            // distribution 2.8 then requires and verifies a client certificate
            // (`tls.RequireAndVerifyClientCert`) against these CAs.
            tls_yaml.push_str(&format!(
                "    clientcas:\n      - {}\n",
                yaml_str(&c.ca_crt)
            ));
        }
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
            let identity = client.as_ref().map(|c| (c.cert.clone(), c.key.clone()));
            match Process::start(port, ca, identity, &config_path, &stderr_path, &pid_path) {
                Ok(process) => {
                    let client_cert_dir = match (&client, &tls) {
                        (Some(c), Some(t)) => {
                            Some(write_certs_d(&root.join("certs.d"), &process.host(), t, c)?)
                        }
                        _ => None,
                    };
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
                        client,
                        client_cert_dir,
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
    /// For [`RegistryKind::TlsClientCert`] it lacks the client identity, so a client using only it is
    /// refused: see [`Registry::docker_certs_d`] for one that has both.
    pub fn cert_dir(&self) -> Option<PathBuf> {
        self.tls.as_ref().map(|t| t.cert_dir.clone())
    }

    /// The client certificate and its key (PEM files; ECDSA P-256 key as PKCS#8
    /// `-----BEGIN PRIVATE KEY-----`) that [`RegistryKind::TlsClientCert`] accepts; `None` for other
    /// kinds. The certificate is signed by a client CA of its own, not by [`Registry::ca_file`].
    pub fn client_identity(&self) -> Option<(PathBuf, PathBuf)> {
        self.client
            .as_ref()
            .map(|c| (c.cert.clone(), c.key.clone()))
    }

    /// For [`RegistryKind::TlsClientCert`], a directory laid out like docker's `/etc/docker/certs.d`:
    /// `DIR/127.0.0.1:PORT/` (the [`Registry::host`]) holding `ca.crt` (the server's CA),
    /// `client.cert` and `client.key` (the client identity). `None` for other kinds.
    pub fn docker_certs_d(&self) -> Option<PathBuf> {
        self.client_cert_dir
            .as_ref()
            .and_then(|d| d.parent())
            .map(Path::to_path_buf)
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
        // skopeo's cert dir: `*.crt` are CAs, `*.cert` + `*.key` a client identity.
        let cert_dir = self
            .client_cert_dir
            .as_ref()
            .or(self.tls.as_ref().map(|t| &t.cert_dir));
        match cert_dir {
            None => args.push(format!("--{prefix}tls-verify=false")),
            Some(dir) => {
                args.push(format!("--{prefix}cert-dir"));
                args.push(dir.display().to_string());
            }
        }
        if let Some((u, p)) = &self.credentials {
            args.push(format!("--{prefix}creds"));
            args.push(format!("{u}:{p}"));
        }
        args
    }

    /// imagefacts CLI flags to reach this registry: `--insecure-registry HOST` for
    /// [`RegistryKind::Plain`], `--ca-file CA --authfile AUTH` for the authenticated kinds, and only
    /// `--ca-file CA` for [`RegistryKind::TlsClientCert`]: the CLI has no client-certificate flag yet,
    /// so a test adds its own from [`Registry::client_identity`] or [`Registry::docker_certs_d`].
    pub fn imagefacts_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        match &self.tls {
            Some(t) => {
                args.push("--ca-file".to_owned());
                args.push(t.ca_crt.display().to_string());
            }
            None => {
                args.push("--insecure-registry".to_owned());
                args.push(self.host());
            }
        }
        if let Some(auth) = &self.authfile {
            args.push("--authfile".to_owned());
            args.push(auth.display().to_string());
        }
        args
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
        self.token_server
            .as_ref()
            .map_or(0, |t| t.server.requests().len())
    }

    /// The token server's request log (empty for other kinds). Raw requests: headers and bodies
    /// hold the secrets sent; [`Registry::token_grants`] is the secret-free view.
    pub fn token_request_log(&self) -> Vec<crate::Request> {
        self.token_server
            .as_ref()
            .map(|t| t.server.requests())
            .unwrap_or_default()
    }

    /// One [`TokenGrant`] per request to `/token` so far, in order: subject, grant type, requested
    /// scopes and status, never a password or refresh token. Empty for kinds other than
    /// [`RegistryKind::Token`].
    pub fn token_grants(&self) -> Vec<TokenGrant> {
        self.token_server
            .as_ref()
            .map(|t| t.state.grants())
            .unwrap_or_default()
    }

    /// Every access token the token server issued so far, in order (empty for other kinds).
    /// Secrets: for tests that search what was written for them.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.token_server
            .as_ref()
            .map(|t| t.state.issued_tokens())
            .unwrap_or_default()
    }

    /// Makes the token server of a [`RegistryKind::Token`] registry accept `user` with `password`
    /// from now on (Basic and `grant_type=password`), beside the primary user of
    /// [`Registry::credentials`]; a known user gets the new password. Every accepted user is granted
    /// every action it asks for. Thread-safe; takes effect for the next token request.
    ///
    /// # Panics
    ///
    /// When the registry is not a [`RegistryKind::Token`] one.
    pub fn add_token_user(&self, user: &str, password: &str) {
        self.token_state("add_token_user").add_user(user, password);
    }

    /// Mints an identity token (OAuth2 refresh token) for `user` that the token server of a
    /// [`RegistryKind::Token`] registry accepts from now on in `POST /token` with
    /// `grant_type=refresh_token`, issuing access tokens whose subject is `user` (who need not have
    /// a password). Each call mints a new one. This is the `identitytoken` of a docker `config.json`.
    ///
    /// # Panics
    ///
    /// When the registry is not a [`RegistryKind::Token`] one.
    pub fn identity_token(&self, user: &str) -> String {
        self.token_state("identity_token").mint_refresh_token(user)
    }

    fn token_state(&self, what: &str) -> &token::TokenState {
        match &self.token_server {
            Some(t) => &t.state,
            None => panic!(
                "Registry::{what} needs a RegistryKind::Token registry, not {:?}",
                self.kind
            ),
        }
    }

    /// `https://127.0.0.1:PORT2/token` for [`RegistryKind::Token`] (same CA as the registry).
    pub fn token_realm(&self) -> Option<String> {
        self.token_server
            .as_ref()
            .map(|t| format!("{}/token", t.server.url()))
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

/// Writes `CERTS_D/HOST/{ca.crt, client.cert, client.key}` and returns `CERTS_D/HOST`.
fn write_certs_d(
    certs_d: &Path,
    host: &str,
    tls: &TlsFiles,
    client: &ClientFiles,
) -> anyhow::Result<PathBuf> {
    let dir = certs_d.join(host);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (from, name) in [
        (&tls.ca_crt, "ca.crt"),
        (&client.cert, "client.cert"),
        (&client.key, "client.key"),
    ] {
        std::fs::copy(from, dir.join(name))
            .with_context(|| format!("copying {} into {}", from.display(), dir.display()))?;
    }
    Ok(dir)
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
