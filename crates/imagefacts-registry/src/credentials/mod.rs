//! Registry credentials and where they come from.
//!
//! A [`CredentialSource`] answers "which credentials for this registry (and repository)", each
//! with the [`AuthSource`] it came from (recorded per image as `authSource`, never secret).
//! Sources: docker `config.json` / containers `auth.json` files ([`DockerConfig`], with their
//! credential helpers run by a [`HelperRunner`]), the files found where docker and podman look
//! ([`default_sources`]), one credential given on the command line ([`Static`]), and nothing
//! ([`Anonymous`]); the engine adds the pods' pull secrets. Secrets never appear in `Debug`
//! output or in an error.

mod cloud;
mod defaults;
mod docker_config;
mod helper;

use std::fmt;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

pub use cloud::check_expiry;
pub use defaults::{DefaultFiles, Environment, default_sources};
pub use docker_config::{AuthfileError, DockerConfig, normalize_auth_key};
pub use helper::{DEFAULT_HELPER_TIMEOUT, HelperRunner};

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
    /// An OAuth2 refresh token (`identitytoken` in config.json, or a helper's `<token>` user),
    /// exchanged for bearer tokens with the refresh-token grant.
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

    /// The secret (password or token), for checks that must read it (never to be shown).
    pub(crate) fn secret(&self) -> &str {
        match self {
            Credential::UserPassword { password, .. } => password,
            Credential::IdentityToken { token, .. } => token,
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

/// Where a credential came from: a kind and a non-secret identity, such as
/// `pullSecret:shop/regcred`, `dockerConfig:/home/me/.docker/config.json`,
/// `credHelper:ecr-login` or `anonymous`. This is what facts.json records as `authSource`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AuthSource(Arc<str>);

impl AuthSource {
    /// `kind:identity`.
    pub fn new(kind: &str, identity: impl fmt::Display) -> AuthSource {
        AuthSource(format!("{kind}:{identity}").into())
    }

    /// No credential was sent.
    pub fn anonymous() -> AuthSource {
        AuthSource("anonymous".into())
    }

    /// The label, e.g. `credHelper:ecr-login`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthSource({})", self.0)
    }
}

/// A credential and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The credential.
    pub credential: Credential,
    /// Its source.
    pub source: AuthSource,
}

/// Why a source could not tell its credential for a registry. It is an `auth` failure of the
/// images of that registry, naming the source; it never holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialError {
    /// A credential helper is not installed, failed, timed out or answered nonsense.
    #[error("credential helper docker-credential-{helper} (from {origin}) {detail}")]
    Helper {
        /// The helper's name (`ecr-login` for `docker-credential-ecr-login`).
        helper: String,
        /// The config file that names it.
        origin: String,
        /// What went wrong.
        detail: String,
    },
    /// A credential that is known to have expired (an ECR token past its 12 hours).
    #[error("the credential from {origin} for {registry} expired at {expired}; {hint}")]
    Expired {
        /// Registry host.
        registry: String,
        /// Where the credential came from.
        origin: AuthSource,
        /// When it expired (RFC 3339).
        expired: String,
        /// How to get a fresh one.
        hint: &'static str,
    },
}

/// One answer of a source: a credential to try, or the reason none can be had.
pub type Lookup = Result<Candidate, CredentialError>;

/// Where credentials come from. Implementations must be cheap to call repeatedly (cache what
/// is expensive).
pub trait CredentialSource: Send + Sync + fmt::Debug {
    /// Every credential worth trying for `repository` on `registry` (a normalised host such as
    /// `docker.io` or `127.0.0.1:5000`), best first; empty for anonymous access. The client
    /// tries the next when the registry refuses one, as the kubelet does with a pod's pull
    /// secrets; an `Err` reached that way fails the request with it.
    fn candidates(&self, registry: &str, repository: &str) -> Vec<Lookup>;

    /// Whether [`CredentialSource::candidates`] for `registry` may block now, on a program
    /// such as a credential helper not yet asked this run; the client then calls it off its
    /// event loop, so one slow helper holds up no other request. Default: it never blocks.
    fn may_block(&self, _registry: &str) -> bool {
        false
    }

    /// The first credential for `repository` on `registry`, if any can be had.
    fn credential(&self, registry: &str, repository: &str) -> Option<Credential> {
        self.candidates(registry, repository)
            .into_iter()
            .find_map(Result::ok)
            .map(|c| c.credential)
    }
}

/// No credentials: every request is anonymous.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

impl CredentialSource for Anonymous {
    fn candidates(&self, _registry: &str, _repository: &str) -> Vec<Lookup> {
        Vec::new()
    }
}

/// Several sources asked in order; the first that has a credential for a registry wins, the
/// later ones are tried when it is refused. A source that fails ends the list there.
#[derive(Debug, Clone, Default)]
pub struct CredentialChain {
    sources: Vec<Arc<dyn CredentialSource>>,
}

impl CredentialChain {
    /// A chain over `sources`, asked in order.
    pub fn new(sources: Vec<Arc<dyn CredentialSource>>) -> CredentialChain {
        CredentialChain { sources }
    }
}

impl CredentialSource for CredentialChain {
    fn candidates(&self, registry: &str, repository: &str) -> Vec<Lookup> {
        let mut out: Vec<Lookup> = Vec::new();
        for lookup in self
            .sources
            .iter()
            .flat_map(|s| s.candidates(registry, repository))
        {
            match lookup {
                Ok(c) => {
                    let seen = out.iter().any(|o| {
                        o.as_ref()
                            .is_ok_and(|o| o.credential.identity() == c.credential.identity())
                    });
                    if !seen {
                        out.push(Ok(c));
                    }
                }
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            }
        }
        out
    }

    fn may_block(&self, registry: &str) -> bool {
        self.sources.iter().any(|s| s.may_block(registry))
    }
}

/// One credential for some registries, as given on the command line (`--creds`).
#[derive(Clone)]
pub struct Static {
    registries: Vec<String>,
    candidate: Candidate,
}

impl Static {
    /// `credential` for each of `registries` (normalised hosts), recorded as `source`.
    pub fn new(registries: Vec<String>, credential: Credential, source: AuthSource) -> Static {
        Static {
            registries: registries.iter().map(|r| normalize_auth_key(r)).collect(),
            candidate: Candidate { credential, source },
        }
    }
}

impl fmt::Debug for Static {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Static")
            .field("registries", &self.registries)
            .field("candidate", &self.candidate)
            .finish()
    }
}

impl CredentialSource for Static {
    fn candidates(&self, registry: &str, _repository: &str) -> Vec<Lookup> {
        let registry = normalize_auth_key(registry);
        if self.registries.contains(&registry) {
            vec![Ok(self.candidate.clone())]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(s: &str) -> DockerConfig {
        DockerConfig::parse(s.as_bytes(), Path::new("auth.json")).unwrap()
    }

    #[test]
    fn chain_asks_in_order() {
        let a = parse(r#"{"auths":{"r1":{"username":"a","password":"1"}}}"#);
        let b = parse(
            r#"{"auths":{"r1":{"username":"b","password":"2"},"r2":{"username":"b","password":"2"}}}"#,
        );
        let chain = CredentialChain::new(vec![Arc::new(a), Arc::new(b)]);
        assert_eq!(chain.credential("r1", "x").unwrap().username(), "a");
        assert_eq!(chain.credential("r2", "x").unwrap().username(), "b");
        assert_eq!(chain.credential("r3", "x"), None);
        assert_eq!(CredentialChain::default().credential("r1", "x"), None);
        let names: Vec<String> = chain
            .candidates("r1", "x")
            .into_iter()
            .map(|c| c.unwrap().credential.username().to_owned())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn a_failing_source_ends_the_chain() {
        #[derive(Debug)]
        struct Failing;
        impl CredentialSource for Failing {
            fn candidates(&self, _: &str, _: &str) -> Vec<Lookup> {
                vec![Err(CredentialError::Helper {
                    helper: "broken".into(),
                    origin: "config.json".into(),
                    detail: "exited with status 1".into(),
                })]
            }
        }
        let a = parse(r#"{"auths":{"r1":{"username":"a","password":"1"}}}"#);
        let b = parse(r#"{"auths":{"r1":{"username":"b","password":"2"}}}"#);
        let chain = CredentialChain::new(vec![Arc::new(a), Arc::new(Failing), Arc::new(b)]);
        let got = chain.candidates("r1", "x");
        assert_eq!(got.len(), 2);
        assert!(got[0].is_ok());
        let err = got[1].as_ref().unwrap_err().to_string();
        assert_eq!(
            err,
            "credential helper docker-credential-broken (from config.json) exited with status 1"
        );
    }

    #[test]
    fn static_credentials_go_only_to_their_registries() {
        let s = Static::new(
            vec!["index.docker.io".into(), "127.0.0.1:5000".into()],
            Credential::UserPassword {
                username: "u".into(),
                password: "p:w".into(),
            },
            AuthSource::new("creds", "u"),
        );
        assert_eq!(
            s.credential("docker.io", "library/x").unwrap().username(),
            "u"
        );
        assert!(s.credential("127.0.0.1:5000", "x").is_some());
        assert!(s.credential("127.0.0.1:5001", "x").is_none());
        assert!(!format!("{s:?}").contains("p:w"));
        assert_eq!(
            s.candidates("docker.io", "x")[0]
                .as_ref()
                .unwrap()
                .source
                .as_str(),
            "creds:u"
        );
    }

    #[test]
    fn debug_redacts() {
        let c = Credential::UserPassword {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
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
