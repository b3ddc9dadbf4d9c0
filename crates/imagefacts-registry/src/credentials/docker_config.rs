//! Docker `config.json` and containers `auth.json`: the `auths` section (keys matched as docker
//! and podman match them), and `credHelpers` / `credsStore` when the file is the user's own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::helper::HelperRunner;
use super::{AuthSource, Candidate, Credential, CredentialSource, Lookup};

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
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
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

/// Credentials from a docker `config.json` / containers `auth.json`.
///
/// `auths` keys match as docker and podman match them: a key with a scheme
/// (`https://index.docker.io/v1/`) names its host only; a key without one may name a
/// namespace (`quay.io/team`), and the longest key that is a path prefix of
/// `registry/repository` wins over the bare host. Docker Hub's aliases all mean `docker.io`.
///
/// `credHelpers` and `credsStore` are used only after [`DockerConfig::with_helpers`], which
/// is for the user's own files: a config from a pull secret or a bundle never runs a program.
#[derive(Clone)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credential>,
    cred_helpers: BTreeMap<String, String>,
    creds_store: Option<String>,
    helpers: Option<Arc<HelperRunner>>,
    origin: PathBuf,
    source: AuthSource,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("source", &self.source)
            .field("registries", &self.auths.keys().collect::<Vec<_>>())
            .field("cred_helpers", &self.cred_helpers)
            .field("creds_store", &self.creds_store)
            .field("helpers_enabled", &self.helpers.is_some())
            .finish()
    }
}

use imagefacts_model::reference::canonical_registry_host as normalize_host;

/// Normalises an `auths` or `credHelpers` key: a scheme and any path after it are dropped
/// (`https://index.docker.io/v1/` is `docker.io`); without a scheme, a path names a namespace
/// and is kept (`quay.io/team`, trailing `/` dropped). Docker Hub's aliases become `docker.io`.
pub fn normalize_auth_key(key: &str) -> String {
    let key = key.trim();
    if let Some(rest) = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
    {
        return normalize_host(rest.split('/').next().unwrap_or(rest));
    }
    let key = key.trim_end_matches('/');
    match key.split_once('/') {
        Some((host, path)) => format!("{}/{path}", normalize_host(host)),
        None => normalize_host(key),
    }
}

/// The server name a credential helper is asked about, as docker asks: Docker Hub by its
/// legacy index URL, other registries by `host[:port]`.
fn helper_server(registry: &str) -> String {
    if registry == "docker.io" {
        "https://index.docker.io/v1/".to_owned()
    } else {
        registry.to_owned()
    }
}

impl DockerConfig {
    /// Parses a config.json body. `origin` names the input in error messages and in the
    /// default [`AuthSource`] (`dockerConfig:<origin>`).
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
            auths.insert(normalize_auth_key(&key), credential);
        }
        let helper_name = |what: &str, name: &str| {
            // A helper is a program name, never a path or a shell word.
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !name.starts_with('.')
            {
                Ok(name.to_owned())
            } else {
                Err(invalid(format!(
                    "{what} {name:?} is not a credential helper name (letters, digits, '-', '_', '.')"
                )))
            }
        };
        let mut cred_helpers = BTreeMap::new();
        for (key, name) in raw.cred_helpers {
            let name = helper_name(&format!("credHelpers.{key:?}"), &name)?;
            cred_helpers.insert(normalize_auth_key(&key), name);
        }
        let creds_store = match raw.creds_store.filter(|s| !s.is_empty()) {
            Some(s) => Some(helper_name("credsStore", &s)?),
            None => None,
        };
        Ok(DockerConfig {
            auths,
            cred_helpers,
            creds_store,
            helpers: None,
            origin: origin.to_owned(),
            source: AuthSource::new("dockerConfig", origin.display()),
        })
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

    /// The same credentials, recorded as coming from `source` (e.g. `pullSecret:shop/regcred`).
    pub fn with_source(mut self, source: AuthSource) -> DockerConfig {
        self.source = source;
        self
    }

    /// Lets `credHelpers` and `credsStore` run, through `runner`. Only for files the user
    /// owns (their docker config, their auth.json): never for data from a cluster or a bundle.
    pub fn with_helpers(mut self, runner: Arc<HelperRunner>) -> DockerConfig {
        self.helpers = Some(runner);
        self
    }

    /// Number of registries with an inline credential.
    pub fn len(&self) -> usize {
        self.auths.len()
    }

    /// Whether the file gives nothing: no inline credential and no helper.
    pub fn is_empty(&self) -> bool {
        self.auths.is_empty() && self.cred_helpers.is_empty() && self.creds_store.is_none()
    }

    /// The inline credential for `repository` on `registry`: the longest namespace key that
    /// is a path prefix of `registry/repository`, else the host's key.
    fn inline(&self, registry: &str, repository: &str) -> Option<&Credential> {
        let registry = normalize_host(registry);
        let mut path = format!("{registry}/{repository}");
        loop {
            if let Some(c) = self.auths.get(&path) {
                return Some(c);
            }
            match path.rfind('/') {
                Some(i) => path.truncate(i),
                None => return None,
            }
        }
    }

    /// The helper configured for `registry` (`credHelpers` first, else `credsStore`), and the
    /// label its answers are recorded under.
    fn helper_for(&self, registry: &str) -> Option<(&str, AuthSource)> {
        if let Some(name) = self.cred_helpers.get(&normalize_host(registry)) {
            return Some((name, AuthSource::new("credHelper", name)));
        }
        self.creds_store
            .as_deref()
            .map(|name| (name, AuthSource::new("credsStore", name)))
    }
}

impl CredentialSource for DockerConfig {
    fn candidates(&self, registry: &str, repository: &str) -> Vec<Lookup> {
        if let Some(runner) = &self.helpers
            && let Some((name, source)) = self.helper_for(registry)
        {
            match runner.get(name, &helper_server(registry), &self.origin) {
                Ok(Some(credential)) => return vec![Ok(Candidate { credential, source })],
                // The helper has nothing for this server: the file's own entry, if any.
                Ok(None) => {}
                Err(e) => return vec![Err(e)],
            }
        }
        self.inline(registry, repository)
            .map(|credential| {
                Ok(Candidate {
                    credential: credential.clone(),
                    source: self.source.clone(),
                })
            })
            .into_iter()
            .collect()
    }

    fn may_block(&self, registry: &str) -> bool {
        self.helpers.as_ref().is_some_and(|runner| {
            self.helper_for(registry)
                .is_some_and(|(name, _)| !runner.answered(name, &helper_server(registry)))
        })
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
        // Without with_helpers, credsStore runs nothing and the inline entries answer.
        assert_eq!(
            cfg.candidates("docker.io", "x")[0]
                .as_ref()
                .unwrap()
                .source
                .as_str(),
            "dockerConfig:auth.json"
        );
    }

    #[test]
    fn keys_match_as_docker_and_podman_do() {
        let cfg = parse(
            r#"{"auths":{
                "quay.io":{"username":"host","password":"1"},
                "quay.io/team":{"username":"team","password":"2"},
                "quay.io/team/app":{"username":"app","password":"3"},
                "https://registry.example/v1/ignored/path":{"username":"scheme","password":"4"},
                "docker.io/library":{"username":"lib","password":"5"},
                "REGISTRY-1.DOCKER.IO":{"username":"hub","password":"6"}
            }}"#,
        )
        .unwrap();
        let user = |registry: &str, repo: &str| {
            cfg.credential(registry, repo)
                .map(|c| c.username().to_owned())
        };
        assert_eq!(user("quay.io", "team/app").as_deref(), Some("app"));
        assert_eq!(user("quay.io", "team/app2").as_deref(), Some("team"));
        assert_eq!(user("quay.io", "team/app/sub").as_deref(), Some("app"));
        assert_eq!(user("quay.io", "teams/x").as_deref(), Some("host"));
        assert_eq!(user("quay.io", "other").as_deref(), Some("host"));
        assert_eq!(
            user("registry.example", "ignored/path").as_deref(),
            Some("scheme")
        );
        assert_eq!(user("registry.example", "other").as_deref(), Some("scheme"));
        assert_eq!(user("docker.io", "library/nginx").as_deref(), Some("lib"));
        assert_eq!(user("docker.io", "me/app").as_deref(), Some("hub"));
        assert_eq!(user("index.docker.io", "me/app").as_deref(), Some("hub"));
        assert_eq!(
            normalize_auth_key("https://index.docker.io/v1/"),
            "docker.io"
        );
        assert_eq!(normalize_auth_key("Quay.io/Team/"), "quay.io/Team");
    }

    #[test]
    fn helper_names_are_program_names() {
        for bad in ["../../bin/sh", "a b", "x;rm", ".hidden", "/usr/bin/env"] {
            let err = parse(&format!(r#"{{"credsStore":{bad:?}}}"#)).unwrap_err();
            assert!(
                err.to_string().contains("not a credential helper name"),
                "{err}"
            );
            let err = parse(&format!(r#"{{"credHelpers":{{"gcr.io":{bad:?}}}}}"#)).unwrap_err();
            assert!(err.to_string().contains("credHelpers"), "{err}");
        }
        let cfg = parse(r#"{"credHelpers":{"gcr.io":"gcloud","https://123.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"}}"#).unwrap();
        assert!(!cfg.is_empty());
        assert_eq!(
            cfg.helper_for("123.dkr.ecr.us-east-1.amazonaws.com")
                .unwrap()
                .1
                .as_str(),
            "credHelper:ecr-login"
        );
        assert_eq!(helper_server("docker.io"), "https://index.docker.io/v1/");
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
        let cfg = parse(r#"{"auths":{"r":{"username":"u","password":"hunter2"}}}"#).unwrap();
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
