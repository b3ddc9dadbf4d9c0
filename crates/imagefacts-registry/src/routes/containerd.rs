//! containerd `hosts.toml`: the registry host configuration of one namespace directory.
//!
//! `[host."URL"]` tables are mirrors tried in file order, then `server` (absent: the registry
//! itself over HTTPS). Capabilities without `resolve` make a host serve digest pulls only; without
//! `pull`, no pulls. Relative `ca`/`client` paths are taken from the file's directory. A host URL
//! path is the API root with `override_path = true`, else `<path>/v2`. k3s's containerd also reads
//! `[host."URL".rewrite]` regex tables.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{SeqAccess, Visitor};

use super::model::{Hop, Place, Rule, Scope, Target, Upstream, When};
use super::{
    ClientIdentity, HostSettings, Ordered, Routes, RoutesError, Scheme, normalize_registry,
    parse_go_duration, parse_host_url, port_of, regex_error,
};
use crate::config::api_host;

pub(super) fn scope_of(registry: &str) -> Scope {
    if registry == "*" || registry == "_default" {
        Scope::Any
    } else {
        Scope::Prefix {
            registry: normalize_registry(registry),
            path: String::new(),
        }
    }
}

/// Where the settings of a namespace's own upstream are kept.
pub(super) fn upstream_key(registry: &str) -> String {
    if registry == "*" || registry == "_default" {
        "*".to_owned()
    } else {
        api_host(&normalize_registry(registry)).to_owned()
    }
}

#[derive(Deserialize, Default)]
struct RawHostsFile {
    server: Option<String>,
    host: Option<Ordered<RawHost>>,
    capabilities: Option<Vec<String>>,
    ca: Option<Paths>,
    client: Option<Clients>,
    skip_verify: Option<bool>,
    header: Option<Ordered<Paths>>,
    override_path: Option<bool>,
    dial_timeout: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawHost {
    capabilities: Option<Vec<String>>,
    ca: Option<Paths>,
    client: Option<Clients>,
    skip_verify: Option<bool>,
    header: Option<Ordered<Paths>>,
    override_path: Option<bool>,
    dial_timeout: Option<String>,
    /// k3s's containerd: regex rewrites of the repository for this host.
    rewrite: Option<Ordered<String>>,
}

/// A string or a list of strings (`ca`, header values).
struct Paths(Vec<String>);

/// `client`: a path, a list of paths, or a list of `[cert, key]` pairs.
struct Clients(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Paths {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Paths;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Paths, E> {
                Ok(Paths(vec![s.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Paths, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Paths(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Clients {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Clients;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path, a list of paths or a list of [cert, key] pairs")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Clients, E> {
                Ok(Clients(vec![(s.to_owned(), String::new())]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Clients, A::Error> {
                let mut out = Vec::new();
                while let Some(Paths(p)) = seq.next_element::<Paths>()? {
                    let mut p = p.into_iter();
                    match (p.next(), p.next(), p.next()) {
                        (Some(cert), None, None) => out.push((cert, String::new())),
                        (Some(cert), Some(key), None) => out.push((cert, key)),
                        _ => {
                            return Err(serde::de::Error::custom(
                                "a client pair must be [cert, key]",
                            ));
                        }
                    }
                }
                Ok(Clients(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One `[host]` table or the top level, taken apart.
struct HostConfig {
    when: Option<When>,
    settings: HostSettings,
    /// Whether TLS was configured for this host (containerd then tries HTTPS before `http://`).
    explicit_tls: bool,
    override_path: bool,
    rewrites: Vec<(regex::Regex, String)>,
}

fn host_config(
    raw: RawHost,
    key: &str,
    base: &Path,
    path: &Path,
    origin: &str,
) -> Result<HostConfig, RoutesError> {
    let abs = |p: &str| {
        let p = PathBuf::from(p);
        if p.is_absolute() { p } else { base.join(p) }
    };
    let when = match raw.capabilities.as_deref() {
        None | Some([]) => Some(When::All),
        Some(caps) => {
            let (mut pull, mut resolve) = (false, false);
            for c in caps {
                match c.to_ascii_lowercase().as_str() {
                    "pull" => pull = true,
                    "resolve" => resolve = true,
                    "push" | "referrers" => {}
                    other => {
                        return Err(RoutesError::invalid(
                            path,
                            format!("{key}capabilities: unknown capability {other:?}"),
                        ));
                    }
                }
            }
            match (pull, resolve) {
                (true, true) => Some(When::All),
                (true, false) => Some(When::DigestOnly),
                (false, _) => None,
            }
        }
    };
    let explicit_tls = raw.ca.is_some() || raw.client.is_some() || raw.skip_verify.is_some();
    let clients = raw.client.map(|c| c.0).unwrap_or_default();
    let dial_timeout = match raw.dial_timeout.as_deref() {
        None | Some("") => None,
        Some(d) => Some(parse_go_duration(d).ok_or_else(|| {
            RoutesError::invalid(path, format!("{key}dial_timeout: not a duration: {d:?}"))
        })?),
    };
    let mut rewrites = Vec::new();
    for (pattern, with) in raw.rewrite.map(|r| r.0).unwrap_or_default() {
        let re = regex::Regex::new(&pattern).map_err(|e| {
            RoutesError::invalid(
                path,
                format!(
                    "{key}rewrite: invalid pattern {pattern:?}: {}",
                    regex_error(&e)
                ),
            )
        })?;
        rewrites.push((re, with));
    }
    let settings = HostSettings {
        ca_files: raw
            .ca
            .map(|c| c.0)
            .unwrap_or_default()
            .iter()
            .map(|p| abs(p))
            .collect(),
        client_identity: clients.first().map(|(cert, key)| ClientIdentity {
            cert: abs(cert),
            key: abs(if key.is_empty() { cert } else { key }),
        }),
        skip_verify: raw.skip_verify.unwrap_or(false),
        plain_http: false,
        headers: raw
            .header
            .map(|h| h.0)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(name, values)| values.0.into_iter().map(move |v| (name.clone(), v)))
            .collect(),
        dial_timeout,
        origin: origin.to_owned(),
    };
    Ok(HostConfig {
        when,
        settings,
        explicit_tls,
        override_path: raw.override_path.unwrap_or(false),
        rewrites,
    })
}

/// A host URL as containerd reads it: `https://` assumed without a scheme; the path is the API
/// root when `override_path`, else `<path>/v2`.
fn place_of(url: &str, config: &HostConfig, key: &str, path: &Path) -> Result<Place, RoutesError> {
    let full = if url.starts_with("http") || url.contains("://") {
        url.to_owned()
    } else {
        format!("https://{url}")
    };
    let u = parse_host_url(&full)
        .map_err(|e| RoutesError::invalid(path, format!("{key}: host URL {e}")))?;
    let root = if config.override_path || u.path.ends_with("/v2") {
        u.path
    } else {
        format!("{}/v2", u.path)
    };
    let scheme = match u.scheme {
        // containerd tries HTTPS first (falling back to HTTP) when TLS is configured for an
        // `http://` host on a port other than 80.
        Scheme::Http if config.explicit_tls && port_of(&u.host) != Some("80") => None,
        s => Some(s),
    };
    Ok(Place {
        host: api_host(&u.host).to_owned(),
        namespace: String::new(),
        scheme,
        api_root: (root != "/v2").then(|| format!("{root}/")),
    })
}

/// Parses the `hosts.toml` at `path` (relative `ca`/`client` paths are taken from its directory)
/// of the namespace `registry` (`docker.io`, `host:port`, or `_default` for every registry).
///
/// # Errors
///
/// [`RoutesError::Parse`] for invalid TOML or a value of the wrong type, [`RoutesError::Invalid`]
/// for an unparseable host URL, an unknown capability, a bad `dial_timeout` or rewrite pattern.
pub fn parse_containerd_hosts(
    text: &str,
    registry: &str,
    path: &Path,
) -> Result<Routes, RoutesError> {
    let raw: RawHostsFile = toml::from_str(text).map_err(|e| RoutesError::toml(text, path, &e))?;
    let origin = format!("hosts.toml:{}", path.display());
    let base = path.parent().unwrap_or(Path::new(""));
    let mut routes = Routes::default();
    let mut rule = Rule::new(scope_of(registry), &origin);
    for (url, raw_host) in raw.host.map(|h| h.0).unwrap_or_default() {
        let key = format!("host.{url:?}.");
        let config = host_config(raw_host, &key, base, path, &origin)?;
        let place = place_of(&url, &config, &format!("host.{url:?}"), path)?;
        let mut settings = config.settings;
        settings.plain_http = place.scheme.is_none() && url.starts_with("http://");
        routes.add_host(&place.host, settings);
        if let Some(when) = config.when {
            let mut hop = Hop::new(Target::At(place), when);
            hop.rewrites = config.rewrites;
            rule.mirrors.push(hop);
        }
    }
    let top = RawHost {
        capabilities: raw.capabilities,
        ca: raw.ca,
        client: raw.client,
        skip_verify: raw.skip_verify,
        header: raw.header,
        override_path: raw.override_path,
        dial_timeout: raw.dial_timeout,
        rewrite: None,
    };
    let config = host_config(top, "", base, path, &origin)?;
    match raw.server.as_deref().filter(|s| !s.is_empty()) {
        Some(server) => {
            let place = place_of(server, &config, "server", path)?;
            let mut settings = config.settings;
            settings.plain_http = place.scheme.is_none() && server.starts_with("http://");
            routes.add_host(&place.host, settings);
            rule.upstream = match config.when {
                Some(when) => Upstream::Hop(Hop::new(Target::At(place), when)),
                None => Upstream::None,
            };
        }
        None => {
            routes.add_host(&upstream_key(registry), config.settings);
            rule.upstream = match config.when {
                Some(When::All) => Upstream::Default,
                Some(when) => Upstream::Hop(Hop::new(Target::Registry, when)),
                None => Upstream::None,
            };
        }
    }
    routes.add_rule(rule);
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::super::Endpoint;
    use super::*;

    fn parse(text: &str, registry: &str) -> Result<Routes, RoutesError> {
        parse_containerd_hosts(
            text,
            registry,
            Path::new("/etc/containerd/certs.d/docker.io/hosts.toml"),
        )
    }

    const ORIGIN: &str = "hosts.toml:/etc/containerd/certs.d/docker.io/hosts.toml";

    fn ep(
        host: &str,
        repo: &str,
        scheme: Option<Scheme>,
        api_root: Option<&str>,
        mirror: bool,
    ) -> Endpoint {
        Endpoint {
            host: host.into(),
            repository: repo.into(),
            scheme,
            api_root: api_root.map(str::to_owned),
            mirror,
            origin: ORIGIN.into(),
        }
    }

    #[test]
    fn local_http_mirror_then_upstream() {
        let r = parse(
            r#"
server = "https://registry-1.docker.io"

[host."http://127.0.0.1:5000"]
  capabilities = ["pull", "resolve"]
"#,
            "docker.io",
        )
        .unwrap();
        assert_eq!(
            r.route("docker.io", "library/x", false).unwrap(),
            [
                ep(
                    "127.0.0.1:5000",
                    "library/x",
                    Some(Scheme::Http),
                    None,
                    true
                ),
                ep(
                    "registry-1.docker.io",
                    "library/x",
                    Some(Scheme::Https),
                    None,
                    false
                ),
            ]
        );
        assert!(r.route("quay.io", "x", false).unwrap()[0].origin == "default");
    }

    #[test]
    fn hosts_in_file_order_paths_capabilities_and_tls() {
        let r = parse(
            r#"
[host."https://z-public.example"]
  capabilities = ["pull"]
[host."https://harbor.example/v2/proxy-docker"]
  override_path = true
  ca = "harbor.crt"
  client = [["/etc/certs/c.cert", "/etc/certs/c.key"]]
  dial_timeout = "2s"
  [host."https://harbor.example/v2/proxy-docker".header]
    Authorization = "Basic c2VjcmV0"
[host."https://a-mirror.example/us"]
  skip_verify = true
[host."http://tls.example:5000"]
  ca = ["/abs/ca.pem", "rel.pem"]
[host."https://push-only.example"]
  capabilities = ["push"]
"#,
            "docker.io",
        )
        .unwrap();
        let tag = r.route("docker.io", "library/x", false).unwrap();
        assert_eq!(
            tag,
            [
                ep(
                    "harbor.example",
                    "library/x",
                    Some(Scheme::Https),
                    Some("/v2/proxy-docker/"),
                    true
                ),
                ep(
                    "a-mirror.example",
                    "library/x",
                    Some(Scheme::Https),
                    Some("/us/v2/"),
                    true
                ),
                ep("tls.example:5000", "library/x", None, None, true),
                ep("registry-1.docker.io", "library/x", None, None, false),
            ]
        );
        let digest = r.route("docker.io", "library/x", true).unwrap();
        assert_eq!(digest.len(), 5);
        assert_eq!(digest[0].host, "z-public.example");
        let harbor = r.host("harbor.example").unwrap();
        assert_eq!(
            harbor.ca_files,
            [PathBuf::from(
                "/etc/containerd/certs.d/docker.io/harbor.crt"
            )]
        );
        assert_eq!(
            harbor.client_identity.as_ref().unwrap().key,
            PathBuf::from("/etc/certs/c.key")
        );
        assert_eq!(harbor.dial_timeout, Some(std::time::Duration::from_secs(2)));
        assert_eq!(harbor.headers[0].0, "Authorization");
        assert!(!format!("{r:?}").contains("c2VjcmV0"));
        assert!(r.host("a-mirror.example").unwrap().skip_verify);
        let tls = r.host("tls.example:5000").unwrap();
        assert!(tls.plain_http);
        assert_eq!(
            tls.ca_files[1],
            PathBuf::from("/etc/containerd/certs.d/docker.io/rel.pem")
        );
    }

    #[test]
    fn default_namespace_and_server_only() {
        let r = parse("[host.\"https://registry.example.com\"]\n", "_default").unwrap();
        let e = r.route("quay.io", "org/app", false).unwrap();
        assert_eq!(
            e.iter().map(|e| e.host.as_str()).collect::<Vec<_>>(),
            ["registry.example.com", "quay.io"]
        );
        let r = parse("server = \"https://registry.example.com\"\n", "_default").unwrap();
        let e = r.route("quay.io", "org/app", false).unwrap();
        assert_eq!(e.len(), 1);
        assert!(e[0].mirror);
        let r = parse("capabilities = [\"pull\"]\n", "docker.io").unwrap();
        assert!(r.route("docker.io", "x", false).unwrap().is_empty());
        assert_eq!(r.route("docker.io", "x", true).unwrap().len(), 1);
    }

    #[test]
    fn k3s_rewrites_apply_to_their_host() {
        let r = parse(
            r#"
server = "https://registry-1.docker.io"
[host."https://registry.example.com:5000/v2"]
  capabilities = ["pull", "resolve"]
  [host."https://registry.example.com:5000/v2".rewrite]
    "^rancher/(.*)" = "mirrorproject/rancher-images/$1"
"#,
            "docker.io",
        )
        .unwrap();
        let e = r
            .route("docker.io", "rancher/mirrored-pause", false)
            .unwrap();
        assert_eq!(
            e[0].repository,
            "mirrorproject/rancher-images/mirrored-pause"
        );
        assert_eq!(e[0].api_root, None);
        assert_eq!(e[1].repository, "rancher/mirrored-pause");
    }

    #[test]
    fn malformed_files_are_one_line_errors_naming_the_file() {
        #[rustfmt::skip]
        let cases = [
            ("server = \n", "hosts.toml:1:"),
            ("skip_verify = \"yes\"\n", "expected a boolean"),
            ("[host.\"https://m\"]\ncapabilities = [\"fetch\"]\n", "unknown capability"),
            ("[host.\"https://m\"]\nca = 5\n", "a string or a list of strings"),
            ("[host.\"https://\"]\n", "host URL has no valid host"),
            ("[host.\"ftp://m\"]\n", "host URL"),
            ("[host.\"https://m\".rewrite]\n\"^(x\" = \"y\"\n", "unclosed group"),
            ("dial_timeout = \"soon\"\n", "dial_timeout"),
        ];
        for (text, want) in cases {
            let err = parse(text, "docker.io").unwrap_err().to_string();
            assert!(
                err.contains("/etc/containerd/certs.d/docker.io/hosts.toml"),
                "{err}"
            );
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let err = parse(
            "[header]\nAuthorization = 42\nx = \"Bearer hunter2\"\nskip_verify = \"hunter2\"",
            "docker.io",
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
