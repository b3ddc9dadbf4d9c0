//! Registry credentials and where they come from.
//!
//! A [`CredentialSource`] answers "which credential for this registry (and repository)". Today the
//! sources are an authfile in docker `config.json` format ([`DockerConfig`]) and nothing
//! ([`Anonymous`]); credential helpers, pull secrets and cloud token flows plug in behind the same
//! trait. Secrets never appear in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// A credential for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Username and password (sent as HTTP Basic, or exchanged for a bearer token).
    UserPassword {
        /// User name.
        username: String,
        /// Password or access token.
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in config.json), exchanged for bearer tokens.
    IdentityToken {
        /// User name, when the config names one.
        username: String,
        /// The refresh token.
        token: String,
    },
}

impl Credential {
    /// A stable, non-secret identity of this credential, for cache keys: differs when the user or
    /// the secret differs, reveals neither.
    pub fn identity(&self) -> String {
        let mut h = Sha256::new();
        match self {
            Credential::UserPassword { username, password } => {
                h.update(b"basic\0");
                h.update(username.as_bytes());
                h.update(b"\0");
                h.update(password.as_bytes());
            }
            Credential::IdentityToken { username, token } => {
                h.update(b"identity\0");
                h.update(username.as_bytes());
                h.update(b"\0");
                h.update(token.as_bytes());
            }
        }
        hex::encode(&h.finalize()[..8])
    }

    /// The user name, which is not secret.
    pub fn username(&self) -> &str {
        match self {
            Credential::UserPassword { username, .. }
            | Credential::IdentityToken { username, .. } => username,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::UserPassword { username, .. } => f
                .debug_struct("UserPassword")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::IdentityToken { username, .. } => f
                .debug_struct("IdentityToken")
                .field("username", username)
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

/// Where credentials come from. Implementations must be cheap to call repeatedly.
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// The credential to use for `repository` on `registry` (a normalised host such as
    /// `docker.io` or `127.0.0.1:5000`), or `None` for anonymous access.
    fn credential(&self, registry: &str, repository: &str) -> Option<Credential>;

    /// Every credential worth trying for `repository` on `registry`, best first. The client tries
    /// the next when the registry refuses one, as the kubelet does with a pod's pull secrets.
    fn candidates(&self, registry: &str, repository: &str) -> Vec<Credential> {
        self.credential(registry, repository).into_iter().collect()
    }
}

/// No credentials: every request is anonymous.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl CredentialSource for Anonymous {
    fn credential(&self, _registry: &str, _repository: &str) -> Option<Credential> {
        None
    }
}

/// Several sources asked in order; the first that has a credential for a registry wins.
#[derive(Debug, Clone, Default)]
pub struct CredentialChain {
    sources: Vec<std::sync::Arc<dyn CredentialSource>>,
}

impl CredentialChain {
    /// A chain over `sources`, asked in order.
    pub fn new(sources: Vec<std::sync::Arc<dyn CredentialSource>>) -> CredentialChain {
        CredentialChain { sources }
    }
}

impl CredentialSource for CredentialChain {
    fn credential(&self, registry: &str, repository: &str) -> Option<Credential> {
        self.sources
            .iter()
            .find_map(|s| s.credential(registry, repository))
    }

    fn candidates(&self, registry: &str, repository: &str) -> Vec<Credential> {
        let mut out: Vec<Credential> = Vec::new();
        for c in self
            .sources
            .iter()
            .flat_map(|s| s.candidates(registry, repository))
        {
            if !out.iter().any(|o| o.identity() == c.identity()) {
                out.push(c);
            }
        }
        out
    }
}

/// Why an authfile could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthfileError {
    /// The file could not be read.
    #[error("cannot read authfile {path}: {source}")]
    Read {
        /// The authfile.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a docker config.json.
    #[error("invalid authfile {path}: {detail}")]
    Invalid {
        /// The authfile.
        path: PathBuf,
        /// What is wrong (never includes secret values).
        detail: String,
    },
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
}

#[derive(Deserialize, Default)]
struct RawAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Credentials from a docker `config.json` / containers `auth.json` (`auths` section).
#[derive(Clone, Default)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credential>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("registries", &self.auths.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Normalises an `auths` key: strips a scheme and any path, maps Docker Hub's aliases to `docker.io`.
fn normalize_auth_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

impl DockerConfig {
    /// Parses a config.json body. `origin` names the input in error messages.
    ///
    /// # Errors
    ///
    /// [`AuthfileError::Invalid`] when the body is not JSON of the docker config shape, or an
    /// `auth` value is not base64 of `user:password`. Messages never include secret values.
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<DockerConfig, AuthfileError> {
        let invalid = |detail: String| AuthfileError::Invalid {
            path: origin.to_owned(),
            detail,
        };
        let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| {
            // serde_json's message can quote input; keep only the position.
            invalid(format!(
                "not a docker config.json (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let mut auths = BTreeMap::new();
        for (key, entry) in raw.auths {
            let host = normalize_auth_key(&key);
            let mut username = entry.username.unwrap_or_default();
            let mut password = entry.password.unwrap_or_default();
            if let Some(auth) = entry.auth.filter(|a| !a.is_empty()) {
                let decoded = STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        invalid(format!("auths.{key:?}.auth is not base64 of user:password"))
                    })?;
                // Only the first colon separates: passwords may contain colons.
                let (u, p) = decoded.split_once(':').ok_or_else(|| {
                    invalid(format!("auths.{key:?}.auth does not hold user:password"))
                })?;
                username = u.to_owned();
                password = p.to_owned();
            }
            let credential = match entry.identitytoken.filter(|t| !t.is_empty()) {
                Some(token) => Credential::IdentityToken { username, token },
                None if !username.is_empty() || !password.is_empty() => {
                    Credential::UserPassword { username, password }
                }
                None => continue,
            };
            auths.insert(host, credential);
        }
        Ok(DockerConfig { auths })
    }

    /// Reads and parses an authfile.
    ///
    /// # Errors
    ///
    /// [`AuthfileError::Read`] when the file cannot be read, else as [`DockerConfig::parse`].
    pub fn load(path: &Path) -> Result<DockerConfig, AuthfileError> {
        let bytes = std::fs::read(path).map_err(|source| AuthfileError::Read {
            path: path.to_owned(),
            source,
        })?;
        DockerConfig::parse(&bytes, path)
    }

    /// Number of registries with a credential.
    pub fn len(&self) -> usize {
        self.auths.len()
    }

    /// Whether no registry has a credential.
    pub fn is_empty(&self) -> bool {
        self.auths.is_empty()
    }
}

impl CredentialSource for DockerConfig {
    fn credential(&self, registry: &str, _repository: &str) -> Option<Credential> {
        self.auths.get(&normalize_auth_key(registry)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<DockerConfig, AuthfileError> {
        DockerConfig::parse(s.as_bytes(), Path::new("auth.json"))
    }

    #[test]
    fn reads_every_form() {
        let auth = STANDARD.encode("alice:pa:ss");
        let cfg = parse(&format!(
            r#"{{"auths":{{
                "https://index.docker.io/v1/":{{"auth":"{auth}"}},
                "127.0.0.1:5000":{{"username":"bob","password":"pw"}},
                "myacr.azurecr.io":{{"username":"00000000-0000-0000-0000-000000000000","identitytoken":"refresh"}},
                "empty.example":{{}}
            }},"credsStore":"desktop"}}"#
        ))
        .unwrap();
        assert_eq!(cfg.len(), 3);
        assert_eq!(
            cfg.credential("docker.io", "library/nginx"),
            Some(Credential::UserPassword {
                username: "alice".into(),
                password: "pa:ss".into()
            })
        );
        assert_eq!(
            cfg.credential("127.0.0.1:5000", "x").unwrap().username(),
            "bob"
        );
        assert!(matches!(
            cfg.credential("myacr.azurecr.io", "x"),
            Some(Credential::IdentityToken { .. })
        ));
        assert_eq!(cfg.credential("ghcr.io", "x"), None);
    }

    #[test]
    fn errors_never_include_secrets() {
        let err = parse(r#"{"auths":{"r":{"auth":"c2VjcmV0LW5vLWNvbG9u"}}}"#).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(err.to_string().contains("user:password"));
        let err = parse(r#"{"auths":{"r":{"auth":"%%%"}}}"#).unwrap_err();
        assert!(err.to_string().contains("auth.json"));
        let err = parse(r#"{"auths": "hunter2"}"#).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn chain_asks_in_order() {
        use std::sync::Arc;
        let a = parse(r#"{"auths":{"r1":{"username":"a","password":"1"}}}"#).unwrap();
        let b = parse(r#"{"auths":{"r1":{"username":"b","password":"2"},"r2":{"username":"b","password":"2"}}}"#).unwrap();
        let chain = CredentialChain::new(vec![Arc::new(a), Arc::new(b)]);
        assert_eq!(chain.credential("r1", "x").unwrap().username(), "a");
        assert_eq!(chain.credential("r2", "x").unwrap().username(), "b");
        assert_eq!(chain.credential("r3", "x"), None);
        assert_eq!(CredentialChain::default().credential("r1", "x"), None);
        let names: Vec<String> = chain
            .candidates("r1", "x")
            .iter()
            .map(|c| c.username().to_owned())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn debug_redacts() {
        let c = Credential::UserPassword {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        let cfg = parse(r#"{"auths":{"r":{"username":"u","password":"hunter2"}}}"#).unwrap();
        assert!(!format!("{cfg:?}").contains("hunter2"));
        assert_ne!(
            c.identity(),
            Credential::UserPassword {
                username: "u".into(),
                password: "other".into()
            }
            .identity()
        );
    }
}
