//! Where pulls go on a real node: mirrors, repository rewrites, blocked prefixes, per-host TLS and
//! per-host credentials, read from the files container runtimes read, into one [`Routes`] model.
//!
//! | source | reader | what it gives |
//! |---|---|---|
//! | containerd `certs.d` (`/etc/containerd/certs.d/<host>/hosts.toml`, legacy `*.crt`/`*.cert`/`*.key`) | [`read_containerd_hosts_dir`], [`parse_containerd_hosts`] | mirrors (`[host."…"]` in file order), `server`, capabilities, TLS, headers, `override_path`, k3s `rewrite` tables |
//! | containers `registries.conf` v2 (and v1) plus `registries.conf.d/*.conf` | [`read_registries_conf`], [`parse_registries_conf`] | longest-prefix `[[registry]]` tables, `location` rewrites, mirrors, `blocked`, `insecure`, digest/tag-only mirrors |
//! | k3s / RKE2 `registries.yaml` | [`read_k3s_registries`], [`parse_k3s_registries`] | mirror endpoints, regex `rewrite`s, `"*"`, per-host TLS and auth |
//! | `--mirror FROM=TO` | [`parse_mirror_flag`] | one mirror for a registry or namespace |
//!
//! ```
//! use std::path::Path;
//! use imagefacts_registry::routes;
//!
//! let mut all = routes::parse_mirror_flag("docker.io=http://127.0.0.1:5000")?;
//! all.merge(routes::parse_registries_conf(
//!     "[[registry]]\nlocation = \"quay.io\"\nblocked = true\n",
//!     Path::new("/etc/containers/registries.conf"),
//! )?);
//! let endpoints = all.route("docker.io", "library/nginx", false)?;
//! assert_eq!(endpoints[0].host, "127.0.0.1:5000");
//! assert_eq!(endpoints[1].host, "registry-1.docker.io");
//! assert!(all.route("quay.io", "org/app", false).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Which rule applies
//!
//! A pull of `repository` on `registry` is governed by the rules whose scope matches it with the
//! **longest prefix**, counted in characters of `registry[/namespace]` as registries.conf does:
//! `docker.io/library` (17) beats `docker.io` (9) beats `*.io`-style wildcards (their own
//! length) beats the catch-all (containerd `_default`, k3s `"*"`, `--mirror '*=…'`), which counts 0.
//! A prefix matches on path-component boundaries only (`docker.io/lib` does not match
//! `library/x`). Each format contributes at most one rule per scope, so a more specific rule from
//! any file hides less specific ones from every file, as each runtime does within its own files.
//!
//! # Merging ([`Routes::merge`])
//!
//! Sources are merged in order, the earlier ones taking precedence; merge `--mirror` flags first,
//! then the files. When several sources give a rule of the same (longest) length:
//! - the pull is blocked if any of them blocks it (the first blocking origin is named);
//! - their mirrors are concatenated in merge order, duplicates dropped;
//! - the upstream is the first one a rule sets explicitly (containerd `server`, registries.conf
//!   `location`, a rule without an upstream), else the registry itself, always tried last.
//!
//! Host settings of the same host are united (CA files added, `skip_verify`/`plain_http` if any
//! says so, the first client identity and dial timeout); the first credential given for a host wins.
//!
//! # Not modelled
//!
//! registries.conf `unqualified-search-registries`, `short-name-mode`, aliases and credential
//! helpers (short names never reach this crate); prefixes naming a tag or digest (`route` gets no
//! tag, such rules never match); containerd's `ns` query parameter on mirror requests (the
//! transport adds it when `Endpoint::mirror`); push. A malformed file is an error here, where
//! containerd logs it and falls back to the directory's certificate files and k3s skips the bad entry.

mod auth;
mod certs_d;
mod containerd;
mod flag;
mod k3s;
mod model;
mod registries_conf;
mod types;

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

pub use auth::RouteCredentials;
pub use certs_d::read_containerd_hosts_dir;
pub use containerd::parse_containerd_hosts;
pub use flag::parse_mirror_flag;
pub use k3s::{parse_k3s_registries, read_k3s_registries};
pub use model::Routes;
pub use registries_conf::{parse_registries_conf, read_registries_conf};
pub use types::{Blocked, ClientIdentity, Endpoint, HostAuth, HostSettings, Scheme};

/// Why route configuration could not be read. Messages are one line, name the file (or flag) and
/// never quote a secret value.
#[derive(Debug, thiserror::Error)]
pub enum RoutesError {
    /// The file or directory exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML/YAML, or a value has the wrong type.
    #[error("{path}{}: {detail}", position(*.line, *.column))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error, 0 when unknown.
        line: usize,
        /// 1-based column of the error, 0 when unknown.
        column: usize,
        /// What is wrong (values quoted by the parser are masked).
        detail: String,
    },
    /// The file parses but says something invalid (bad URL, invalid regex, conflicting settings).
    #[error("{path}: {detail}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Which key, and what is wrong with it.
        detail: String,
    },
    /// A `--mirror` value is malformed.
    #[error("--mirror {value}: {detail}")]
    Flag {
        /// The flag value, with any `user:password@` masked.
        value: String,
        /// What is wrong.
        detail: String,
    },
}

fn position(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

impl RoutesError {
    pub(crate) fn invalid(path: &std::path::Path, detail: impl Into<String>) -> RoutesError {
        RoutesError::Invalid {
            path: path.to_owned(),
            detail: detail.into(),
        }
    }

    pub(crate) fn read(path: &std::path::Path, source: std::io::Error) -> RoutesError {
        RoutesError::Read {
            path: path.to_owned(),
            source,
        }
    }

    /// A TOML error with its position; the parser's message is scrubbed of quoted values.
    pub(crate) fn toml(text: &str, path: &std::path::Path, e: &toml::de::Error) -> RoutesError {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        RoutesError::Parse {
            path: path.to_owned(),
            line,
            column,
            detail: scrub(e.message()),
        }
    }
}

/// Reads a file as text; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &std::path::Path) -> Result<Option<String>, RoutesError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| RoutesError::invalid(path, "not UTF-8 text")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RoutesError::read(path, e)),
    }
}

/// Registry names as the files write them, canonical (Docker Hub's names all `docker.io`).
pub(crate) use imagefacts_model::reference::canonical_registry_host as normalize_registry;

/// `host` of `host[:port]` (IPv6 in brackets kept).
pub(crate) fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':')
        .filter(|(_, p)| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

/// The port of `host[:port]`, if any.
pub(crate) fn port_of(host: &str) -> Option<&str> {
    let bare = strip_port(host);
    host[bare.len()..].strip_prefix(':')
}

/// Whether `host` is `localhost` or a loopback IP (with any port), as containerd decides.
pub(crate) fn is_localhost(host: &str) -> bool {
    let bare = strip_port(host);
    let bare = bare.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A registry URL taken apart: `scheme://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostUrl {
    pub(crate) scheme: Scheme,
    /// `host[:port]` as written (lower case, default ports kept), userinfo dropped.
    pub(crate) host: String,
    /// Cleaned path without a trailing `/`; empty for none.
    pub(crate) path: String,
}

/// Parses `raw` as an `http(s)://` URL. Never quotes `raw` in its error (it may hold userinfo).
pub(crate) fn parse_host_url(raw: &str) -> Result<HostUrl, String> {
    let (scheme, rest) = if let Some(rest) = raw.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = raw.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Err("not an http:// or https:// URL".to_owned());
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty()
        || host.ends_with(':')
        || url::Url::parse(&format!("http://{host}/")).is_err()
    {
        return Err("has no valid host".to_owned());
    }
    let tail = &rest[end..];
    let path = tail.split(['?', '#']).next().unwrap_or_default();
    Ok(HostUrl {
        scheme,
        host: host.to_ascii_lowercase(),
        path: clean_path(path),
    })
}

/// `path` with empty and `.` segments removed and `..` applied, `/`-rooted, no trailing `/`
/// (`""` for the root).
pub(crate) fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.iter().map(|p| format!("/{p}")).collect()
}

/// 1-based line and column of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// A parser's message on one line, with the values it quotes masked: serde quotes the offending
/// input (`invalid type: string "hunter2", expected …`, ``integer `123456` ``), which may be a
/// secret. Backquoted syntax tokens and field names are kept.
pub(crate) fn scrub(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                let mut escaped = false;
                for d in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        break;
                    }
                }
                out.push_str("<value>");
            }
            '`' => {
                let name: String = chars.by_ref().take_while(|&d| d != '`').collect();
                let value = ["integer ", "floating point ", "character ", "boolean "]
                    .iter()
                    .any(|w| out.ends_with(w));
                let keep = !value;
                out.push('`');
                out.push_str(if keep { &name } else { "<value>" });
                out.push('`');
            }
            _ => out.push(c),
        }
    }
    out
}

/// A regex error on one line (the `regex` crate's syntax errors span several).
pub(crate) fn regex_error(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .map_or_else(|| scrub(&text), |l| l.trim().to_owned())
}

/// Parses a Go duration (`"1s"`, `"500ms"`, `"1m30s"`).
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

/// A TOML table or YAML mapping kept in document order (containerd tries `[host."…"]` tables in
/// file order; rewrite patterns are tried in file order).
#[derive(Debug)]
pub(crate) struct Ordered<V>(pub(crate) Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for OrderedVisitor<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, V>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(Ordered(Vec::new()))
            }
        }
        d.deserialize_map(OrderedVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(normalize_registry("Index.Docker.IO"), "docker.io");
        assert_eq!(normalize_registry("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(strip_port("[::1]:5000"), "[::1]");
        assert_eq!(strip_port("host:5000"), "host");
        assert_eq!(port_of("host:5000"), Some("5000"));
        assert_eq!(port_of("host"), None);
        assert!(
            is_localhost("127.0.0.1:5000") && is_localhost("localhost") && is_localhost("[::1]:1")
        );
        assert!(!is_localhost("10.0.0.1:5000"));
        assert_eq!(clean_path("//a/./b/../c/"), "/a/c");
        assert_eq!(clean_path("/"), "");
        assert_eq!(line_col("a\nbc\nd", 4), (2, 3));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_go_duration("1x"), None);
    }

    #[test]
    fn host_urls() {
        let u = parse_host_url("https://u:secret@Mirror.Example:443/v2/proxy/?x=1").unwrap();
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(u.host, "mirror.example:443");
        assert_eq!(u.path, "/v2/proxy");
        let u = parse_host_url("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (u.scheme, u.host.as_str(), u.path.as_str()),
            (Scheme::Http, "127.0.0.1:5000", "")
        );
        let e = parse_host_url("ftp://u:secret@x").unwrap_err();
        assert!(!e.contains("secret"));
        assert!(parse_host_url("https:///path").is_err());
        assert!(parse_host_url("https://bad host/").is_err());
    }

    #[test]
    fn scrub_masks_quoted_values() {
        assert_eq!(
            scrub("invalid type: string \"hun\\\"ter2\", expected a boolean"),
            "invalid type: string <value>, expected a boolean"
        );
        assert_eq!(
            scrub("missing field `location`\nnext line"),
            "missing field `location` next line"
        );
        assert_eq!(
            scrub("invalid type: integer `123456`"),
            "invalid type: integer `<value>`"
        );
        assert_eq!(
            scrub("unclosed array table, expected `]]`"),
            "unclosed array table, expected `]]`"
        );
        let pattern = String::from("^lib(");
        let e = regex::Regex::new(&pattern).unwrap_err();
        assert_eq!(regex_error(&e), "unclosed group");
    }
}
