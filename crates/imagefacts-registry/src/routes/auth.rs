//! The credentials route files give per host (k3s `configs.<host>.auth`), as a credential source.

use super::Routes;
use crate::credentials::{AuthSource, Candidate, CredentialSource, Lookup, normalize_auth_key};

/// The per-host credentials of [`Routes`], recorded as `k3sRegistries:<path>`. A `*` entry
/// serves every registry without one of its own, as k3s does.
#[derive(Debug, Clone)]
pub struct RouteCredentials {
    entries: Vec<(String, Candidate)>,
}

impl RouteCredentials {
    /// The credentials `routes` holds (none when no file gave any).
    pub fn of(routes: &Routes) -> RouteCredentials {
        let entries = routes
            .credentials()
            .map(|(host, auth)| {
                let source = match auth.origin.strip_prefix("registries.yaml:") {
                    Some(path) => AuthSource::new("k3sRegistries", path),
                    None => AuthSource::new("routes", &auth.origin),
                };
                let host = if host == "*" {
                    host.to_owned()
                } else {
                    normalize_auth_key(host)
                };
                (
                    host,
                    Candidate {
                        credential: auth.credential.clone(),
                        source,
                    },
                )
            })
            .collect();
        RouteCredentials { entries }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl CredentialSource for RouteCredentials {
    fn candidates(&self, registry: &str, _repository: &str) -> Vec<Lookup> {
        let registry = normalize_auth_key(registry);
        self.entries
            .iter()
            .find(|(h, _)| *h == registry)
            .or_else(|| self.entries.iter().find(|(h, _)| h == "*"))
            .map(|(_, c)| Ok(c.clone()))
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn k3s_auth_is_a_credential_source() {
        let routes = super::super::parse_k3s_registries(
            "configs:\n  \"mirror.example:5000\":\n    auth:\n      username: u\n      password: \"p:w\"\n",
            Path::new("/etc/rancher/k3s/registries.yaml"),
        )
        .unwrap();
        let creds = RouteCredentials::of(&routes);
        let got = creds.candidates("mirror.example:5000", "x");
        let c = got[0].as_ref().unwrap();
        assert_eq!(c.credential.username(), "u");
        assert_eq!(
            c.source.as_str(),
            "k3sRegistries:/etc/rancher/k3s/registries.yaml"
        );
        assert!(creds.candidates("other.example", "x").is_empty());
    }
}
