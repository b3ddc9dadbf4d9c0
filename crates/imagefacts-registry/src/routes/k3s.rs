//! k3s / RKE2 `registries.yaml` (`/etc/rancher/k3s/registries.yaml`, `/etc/rancher/rke2/…`).
//!
//! k3s turns it into containerd host directories: each `mirrors.<registry>` lists endpoints tried
//! in order, then the registry's default endpoint (`https://<registry>/v2`; an endpoint equal to
//! it in last place is that default, not a mirror); `rewrite` patterns apply to the repository at
//! the endpoints, never at the default; `"*"` serves registries with no entry of their own (an
//! entry left with only the default endpoint is none; a `configs` entry with auth or TLS is
//! one). An endpoint without a scheme is `https://`, or `http://` for localhost on a port other
//! than 443; a path other than `/v2` is the endpoint's API root. `configs.<host>` give TLS
//! settings and credentials per host. k3s's `--disable-default-registry-endpoint` flag is not in
//! the file and not modelled.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::model::{Hop, Place, Rule, Scope, Target};
use super::{
    ClientIdentity, HostAuth, HostSettings, HostUrl, Ordered, Routes, RoutesError, Scheme,
    is_localhost, normalize_registry, parse_host_url, port_of, read_optional, regex_error, scrub,
};
use crate::config::api_host;
use crate::credentials::Credential;

#[derive(Deserialize, Default)]
struct RawRegistries {
    mirrors: Option<Ordered<Option<RawMirror>>>,
    configs: Option<Ordered<Option<RawConfig>>>,
}

#[derive(Deserialize, Default)]
struct RawMirror {
    endpoint: Option<Vec<String>>,
    rewrite: Option<Ordered<String>>,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    auth: Option<RawAuth>,
    tls: Option<RawTls>,
}

#[derive(Deserialize, Default)]
struct RawAuth {
    username: Option<String>,
    password: Option<String>,
    auth: Option<String>,
    identity_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawTls {
    ca_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    insecure_skip_verify: Option<bool>,
}

/// Reads a `registries.yaml`; a missing file gives empty routes.
///
/// # Errors
///
/// [`RoutesError::Read`] when it exists but cannot be read, else as [`parse_k3s_registries`].
pub fn read_k3s_registries(path: &Path) -> Result<Routes, RoutesError> {
    match read_optional(path)? {
        Some(text) => parse_k3s_registries(&text, path),
        None => Ok(Routes::default()),
    }
}

/// Parses a `registries.yaml` found at `path`.
///
/// # Errors
///
/// [`RoutesError::Parse`] for invalid YAML or a value of the wrong type; [`RoutesError::Invalid`]
/// for an endpoint that is not a URL, an invalid rewrite pattern or an `auth` that is not base64 of
/// `user:password`. No message quotes a credential.
pub fn parse_k3s_registries(text: &str, path: &Path) -> Result<Routes, RoutesError> {
    let blank = text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    });
    if blank {
        return Ok(Routes::default());
    }
    let raw: RawRegistries = serde_saphyr::from_str(text).map_err(|e| yaml_error(path, &e))?;
    let origin = format!("registries.yaml:{}", path.display());
    let invalid = |detail: String| RoutesError::invalid(path, detail);
    let mut routes = Routes::default();

    let configs = raw.configs.map(|c| c.0).unwrap_or_default();
    let mirrors = raw.mirrors.map(|m| m.0).unwrap_or_default();
    let mut explicit_tls: Vec<String> = Vec::new();
    let mut configured: Vec<String> = Vec::new();
    for (key, config) in &configs {
        let Some(config) = config else { continue };
        let host = if key == "*" {
            "*".to_owned()
        } else {
            normalize_registry(key)
        };
        if let Some(auth) = &config.auth
            && let Some(credential) =
                credential(auth).map_err(|what| invalid(format!("configs.{key:?}.auth: {what}")))?
        {
            routes.add_auth(
                &host,
                HostAuth {
                    credential,
                    origin: origin.clone(),
                },
            );
        }
        let mut settings = HostSettings {
            origin: origin.clone(),
            ..HostSettings::default()
        };
        if let Some(tls) = &config.tls {
            let set =
                |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(PathBuf::from);
            settings.ca_files.extend(set(&tls.ca_file));
            let (cert, key_file) = (set(&tls.cert_file), set(&tls.key_file));
            settings.client_identity = match (cert, key_file) {
                (Some(cert), Some(key)) => Some(ClientIdentity { cert, key }),
                (Some(cert), None) => Some(ClientIdentity {
                    key: cert.clone(),
                    cert,
                }),
                (None, Some(_)) => {
                    return Err(invalid(format!(
                        "configs.{key:?}.tls: key_file without cert_file"
                    )));
                }
                (None, None) => None,
            };
            settings.skip_verify = tls.insecure_skip_verify.unwrap_or(false);
            if !settings.ca_files.is_empty()
                || settings.client_identity.is_some()
                || settings.skip_verify
            {
                explicit_tls.push(host.clone());
            }
        }
        let upstream_host = if host == "*" {
            host.clone()
        } else {
            api_host(&host).to_owned()
        };
        routes.add_host(&upstream_host, settings);
        // k3s writes a host directory for a registry with auth or TLS, which hides `"*"`'s
        // endpoints from it.
        if (config.auth.is_some() || config.tls.is_some()) && host != "*" {
            configured.push(host.clone());
            let wildcard = mirrors.iter().any(|(k, _)| k == "*");
            if wildcard && !mirrors.iter().any(|(k, _)| normalize_registry(k) == host) {
                routes.add_rule(Rule::new(
                    Scope::Prefix {
                        registry: host,
                        path: String::new(),
                    },
                    &origin,
                ));
            }
        }
    }

    for (key, mirror) in mirrors {
        let mirror = mirror.unwrap_or_default();
        let (scope, default) = if key == "*" {
            (Scope::Any, None)
        } else {
            let registry = normalize_registry(&key);
            let default = endpoint_url(&registry).ok();
            (
                Scope::Prefix {
                    registry,
                    path: String::new(),
                },
                default,
            )
        };
        let mut rewrites = Vec::new();
        for (pattern, with) in mirror.rewrite.map(|r| r.0).unwrap_or_default() {
            let re = regex::Regex::new(&pattern).map_err(|e| {
                invalid(format!(
                    "mirrors.{key:?}.rewrite: invalid pattern {pattern:?}: {}",
                    regex_error(&e)
                ))
            })?;
            rewrites.push((re, with));
        }
        let mut rule = Rule::new(scope, &origin);
        let endpoints = mirror.endpoint.unwrap_or_default();
        let mut seen: Vec<HostUrl> = Vec::new();
        for (i, raw_endpoint) in endpoints.iter().enumerate() {
            let url = endpoint_url(raw_endpoint)
                .map_err(|e| invalid(format!("mirrors.{key:?}.endpoint[{i}]: {e}")))?;
            if seen.contains(&url) {
                continue;
            }
            seen.push(url.clone());
            if i + 1 == endpoints.len() && default.as_ref() == Some(&url) {
                break; // The default endpoint, tried last anyway, without rewrites.
            }
            let tls = explicit_tls.contains(&normalize_registry(&url.host));
            let scheme = match url.scheme {
                Scheme::Http if tls && port_of(&url.host) != Some("80") => None,
                s => Some(s),
            };
            routes.add_host(
                &url.host,
                HostSettings {
                    plain_http: scheme.is_none(),
                    origin: origin.clone(),
                    ..HostSettings::default()
                },
            );
            let mut hop = Hop::new(
                Target::At(Place {
                    api_root: (url.path != "/v2").then(|| format!("{}/", url.path)),
                    host: url.host,
                    namespace: String::new(),
                    scheme,
                }),
                super::model::When::All,
            );
            hop.rewrites = rewrites.clone();
            rule.mirrors.push(hop);
        }
        // k3s writes no host directory for a registry left with only its default endpoint.
        if let Scope::Prefix { registry, .. } = &rule.scope {
            if rule.mirrors.is_empty() && !configured.contains(registry) {
                continue;
            }
            let settings = HostSettings {
                origin: origin.clone(),
                ..HostSettings::default()
            };
            routes.add_host(api_host(registry), settings);
        }
        routes.add_rule(rule);
    }
    Ok(routes)
}

/// An endpoint as k3s normalises it: a scheme added when missing (`http` for localhost on a port
/// other than 443), Docker Hub's `docker.io` as `registry-1.docker.io`, an empty path as `/v2`.
fn endpoint_url(raw: &str) -> Result<HostUrl, String> {
    let full = if raw.contains("://") {
        raw.to_owned()
    } else {
        let authority = raw.split('/').next().unwrap_or(raw);
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let http = is_localhost(host) && port_of(host).is_some_and(|p| p != "443");
        format!("{}://{raw}", if http { "http" } else { "https" })
    };
    let mut url = parse_host_url(&full)?;
    url.host = api_host(&url.host).to_owned();
    if url.path.is_empty() {
        url.path = "/v2".to_owned();
    }
    Ok(url)
}

/// The credential an `auth` block gives; `Err` says what is wrong without quoting it.
fn credential(auth: &RawAuth) -> Result<Option<Credential>, &'static str> {
    let text = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let mut username = text(&auth.username).unwrap_or_default();
    let mut password = text(&auth.password).unwrap_or_default();
    if let Some(encoded) = text(&auth.auth) {
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or("auth is not base64 of user:password")?;
        let (u, p) = decoded
            .split_once(':')
            .ok_or("auth does not hold user:password")?;
        (username, password) = (u.to_owned(), p.to_owned());
    }
    Ok(match text(&auth.identity_token) {
        Some(token) => Some(Credential::IdentityToken { username, token }),
        None if !username.is_empty() || !password.is_empty() => {
            Some(Credential::UserPassword { username, password })
        }
        None => None,
    })
}

/// A YAML error with its position, without the parser's source snippet (which may show a secret).
fn yaml_error(path: &Path, e: &serde_saphyr::Error) -> RoutesError {
    let (line, column) = e
        .location()
        .map(|l| {
            (
                usize::try_from(l.line()).unwrap_or(0),
                usize::try_from(l.column()).unwrap_or(0),
            )
        })
        .unwrap_or((0, 0));
    let message = e.without_snippet().to_string();
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => &message,
    };
    RoutesError::Parse {
        path: path.to_owned(),
        line,
        column,
        detail: scrub(message),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Endpoint;
    use super::*;

    const PATH: &str = "/etc/rancher/k3s/registries.yaml";

    fn parse(text: &str) -> Result<Routes, RoutesError> {
        parse_k3s_registries(text, Path::new(PATH))
    }

    fn hops(r: &Routes, registry: &str, repo: &str) -> Vec<String> {
        r.route(registry, repo, false)
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}{}{}",
                    e.host,
                    e.api_root.as_deref().unwrap_or("/v2/"),
                    e.repository
                )
            })
            .collect()
    }

    #[test]
    fn local_http_mirror_then_docker_hub() {
        let r = parse("mirrors:\n  docker.io:\n    endpoint:\n      - \"http://127.0.0.1:5000\"\n")
            .unwrap();
        let origin = format!("registries.yaml:{PATH}");
        assert_eq!(
            r.route("docker.io", "library/x", false).unwrap(),
            [
                Endpoint {
                    host: "127.0.0.1:5000".into(),
                    repository: "library/x".into(),
                    scheme: Some(Scheme::Http),
                    api_root: None,
                    mirror: true,
                    origin: origin.clone(),
                },
                Endpoint {
                    host: "registry-1.docker.io".into(),
                    repository: "library/x".into(),
                    scheme: None,
                    api_root: None,
                    mirror: false,
                    origin,
                },
            ]
        );
    }

    #[test]
    fn endpoints_rewrites_wildcard_and_configs() {
        let r = parse(
            r#"
mirrors:
  docker.io:
    endpoint:
      - registry.example.com:5000
      - https://harbor.example/proxy/docker
      - localhost:5001
      - https://registry.example.com:5000/v2
      - docker.io
    rewrite:
      "^rancher/(.*)": "mirrorproject/rancher-images/$1"
      "^(.*)$": "all/$1"
  "*":
    endpoint:
      - "https://cache.example"
  quay.io:
configs:
  "cache.example":
    auth:
      username: bob
      password: hunter2
  "10.0.0.9:5000":
    tls:
      ca_file: /etc/ssl/ca.pem
      insecure_skip_verify: true
  ghcr.io:
    auth:
      auth: YWxpY2U6cGE6c3M=
  "*":
    tls:
      insecure_skip_verify: true
"#,
        )
        .unwrap();
        assert_eq!(
            hops(&r, "docker.io", "rancher/pause"),
            [
                "registry.example.com:5000/v2/mirrorproject/rancher-images/pause",
                "harbor.example/proxy/docker/mirrorproject/rancher-images/pause",
                "localhost:5001/v2/mirrorproject/rancher-images/pause",
                "registry-1.docker.io/v2/rancher/pause",
            ]
        );
        assert_eq!(
            hops(&r, "docker.io", "library/x")[0],
            "registry.example.com:5000/v2/all/library/x"
        );
        let e = r.route("docker.io", "library/x", false).unwrap();
        assert_eq!(e[0].scheme, Some(Scheme::Https));
        assert_eq!(e[2].scheme, Some(Scheme::Http));
        assert_eq!(
            hops(&r, "registry.k8s.io", "pause"),
            ["cache.example/v2/pause", "registry.k8s.io/v2/pause"]
        );
        // An entry without endpoints or a config of its own leaves a registry to "*"; a config of
        // its own keeps it from "*".
        assert_eq!(
            hops(&r, "quay.io", "x"),
            ["cache.example/v2/x", "quay.io/v2/x"]
        );
        assert_eq!(hops(&r, "ghcr.io", "x"), ["ghcr.io/v2/x"]);

        let creds: Vec<(&str, &str)> = r
            .credentials()
            .map(|(h, a)| (h, a.credential.username()))
            .collect();
        assert_eq!(creds, [("cache.example", "bob"), ("ghcr.io", "alice")]);
        assert!(matches!(
            &r.credentials().nth(1).unwrap().1.credential,
            Credential::UserPassword { password, .. } if password == "pa:ss"
        ));
        assert!(!format!("{r:?}").contains("hunter2"));
        let tls = r.host("10.0.0.9:5000").unwrap();
        assert!(tls.skip_verify && tls.ca_files == [PathBuf::from("/etc/ssl/ca.pem")]);
        assert!(
            r.host("registry.k8s.io").unwrap().skip_verify,
            "\"*\" applies to unnamed hosts"
        );
        assert!(!r.host("registry-1.docker.io").unwrap().skip_verify);
        assert!(!r.host("cache.example").unwrap().skip_verify);
    }

    #[test]
    fn http_endpoint_with_tls_config_tries_https_first() {
        let r = parse("mirrors:\n  docker.io:\n    endpoint: [\"http://10.0.0.9:5000\"]\nconfigs:\n  10.0.0.9:5000:\n    tls:\n      ca_file: /ca.pem\n").unwrap();
        let e = r.route("docker.io", "x", false).unwrap();
        assert_eq!(e[0].scheme, None);
        assert!(r.host("10.0.0.9:5000").unwrap().plain_http);
    }

    #[test]
    fn malformed_files_are_one_line_errors_without_secrets() {
        #[rustfmt::skip]
        let cases = [
            ("mirrors: [\n", "registries.yaml:1:"),
            ("mirrors:\n  docker.io:\n    endpoint: 5\n", "registries.yaml:3:"),
            ("mirrors:\n  docker.io:\n    endpoint: [\"ftp://x\"]\n", "endpoint[0]: not an http"),
            ("mirrors:\n  docker.io:\n    endpoint: [\"https://\"]\n", "no valid host"),
            ("mirrors:\n  docker.io:\n    rewrite:\n      \"^(x\": y\n", "invalid pattern \"^(x\": unclosed group"),
            ("configs:\n  r:\n    auth:\n      auth: hunter2\n", "not base64"),
            ("configs:\n  r:\n    auth: \"hunter2\"\n", "registries.yaml:3:"),
            ("configs:\n  r:\n    auth:\n      password: [hunter2]\n", "registries.yaml:4:"),
            ("configs:\n  r:\n    auth:\n      username: {hunter2: x}\n", PATH),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(PATH), "{shown}");
            assert!(shown.contains(want), "{text:?}: {shown}");
            assert!(!shown.contains('\n'), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
        }
    }

    #[test]
    fn missing_or_blank_files_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            read_k3s_registries(&dir.path().join("registries.yaml"))
                .unwrap()
                .is_empty()
        );
        let file = dir.path().join("blank.yaml");
        std::fs::write(&file, "# nothing yet\n").unwrap();
        assert!(read_k3s_registries(&file).unwrap().is_empty());
        std::fs::write(
            &file,
            "mirrors:\n  docker.io:\n    endpoint: [\"http://127.0.0.1:5000\"]\n",
        )
        .unwrap();
        assert_eq!(
            read_k3s_registries(&file)
                .unwrap()
                .route("docker.io", "x", false)
                .unwrap()
                .len(),
            2
        );
    }
}
