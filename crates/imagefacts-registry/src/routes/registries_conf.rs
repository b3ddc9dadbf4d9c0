//! containers `registries.conf` (podman, CRI-O, skopeo, buildah): `[[registry]]` tables.
//!
//! The `[[registry]]` whose `prefix` (default: its `location`) is the longest match of
//! `host[/namespace…]` governs a pull; `*.example.com` prefixes match any subdomain. Its mirrors
//! are tried in order, then its `location`; both replace the matched prefix of the reference.
//! Within one file the first table of a prefix wins; drop-in files in `<path>.d/*.conf` (read in
//! name order, v2 format only) replace tables of the same prefix. The v1 format
//! (`[registries.block]`, `[registries.insecure]`) is converted, as containers/image does.
//! `unqualified-search-registries`, `short-name-mode`, `[aliases]` and credential helpers are
//! ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::model::{Hop, Place, Rule, Scope, Target, Upstream, When};
use super::{HostSettings, Routes, RoutesError, normalize_registry, read_optional};
use crate::config::api_host;

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawConf {
    registry: Option<Vec<RawRegistry>>,
    registries: Option<RawV1>,
    unqualified_search_registries: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawRegistry {
    prefix: Option<String>,
    location: Option<String>,
    insecure: Option<bool>,
    blocked: Option<bool>,
    mirror_by_digest_only: Option<bool>,
    pull_from_mirror: Option<String>,
    mirror: Option<Vec<RawMirror>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawMirror {
    location: Option<String>,
    insecure: Option<bool>,
    pull_from_mirror: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawV1 {
    search: Option<RawV1List>,
    insecure: Option<RawV1List>,
    block: Option<RawV1List>,
}

#[derive(Deserialize, Default)]
struct RawV1List {
    registries: Option<Vec<String>>,
}

/// One validated `[[registry]]` table.
struct Entry {
    prefix: String,
    location: String,
    insecure: bool,
    blocked: bool,
    mirrors: Vec<(String, bool, When)>,
    origin: String,
}

/// Reads `path` (missing: nothing) and the drop-ins in `<path>.d/*.conf` beside it
/// (`/etc/containers/registries.conf.d` for the system file).
///
/// # Errors
///
/// [`RoutesError::Read`] when a file exists but cannot be read, else as [`parse_registries_conf`];
/// a v1 drop-in is [`RoutesError::Invalid`].
pub fn read_registries_conf(path: &Path) -> Result<Routes, RoutesError> {
    let mut by_prefix: BTreeMap<String, Entry> = BTreeMap::new();
    if let Some(text) = read_optional(path)? {
        for e in parse_entries(&text, path, false)? {
            by_prefix.insert(e.prefix.clone(), e);
        }
    }
    let mut dir = path.as_os_str().to_owned();
    dir.push(".d");
    let dir = PathBuf::from(dir);
    let mut drop_ins: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf") && p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(RoutesError::read(&dir, e)),
    };
    drop_ins.sort();
    for file in drop_ins {
        if let Some(text) = read_optional(&file)? {
            for e in parse_entries(&text, &file, true)? {
                by_prefix.insert(e.prefix.clone(), e);
            }
        }
    }
    Ok(to_routes(by_prefix.into_values()))
}

/// Parses one registries.conf file (v2, or v1) found at `path`.
///
/// # Errors
///
/// [`RoutesError::Parse`] for invalid TOML or a value of the wrong type; [`RoutesError::Invalid`]
/// for what containers/image refuses: a `location` with a URI scheme, a table with neither
/// `prefix` nor `location`, a badly formed wildcard, an unknown `pull-from-mirror`, one set on a
/// registry or beside `mirror-by-digest-only`, conflicting `insecure`/`blocked` for one location,
/// v1 and v2 mixed.
pub fn parse_registries_conf(text: &str, path: &Path) -> Result<Routes, RoutesError> {
    let mut seen = BTreeMap::new();
    for e in parse_entries(text, path, false)? {
        seen.entry(e.prefix.clone()).or_insert(e);
    }
    Ok(to_routes(seen.into_values()))
}

/// The file's tables in file order, one per prefix (the first wins).
fn parse_entries(text: &str, path: &Path, drop_in: bool) -> Result<Vec<Entry>, RoutesError> {
    let raw: RawConf = toml::from_str(text).map_err(|e| RoutesError::toml(text, path, &e))?;
    let invalid = |detail: String| RoutesError::invalid(path, detail);
    let origin = format!("registries.conf:{}", path.display());
    let v1 = raw.registries.unwrap_or_default();
    let list = |l: Option<RawV1List>| l.and_then(|l| l.registries).unwrap_or_default();
    let (blocked, insecure) = (list(v1.block), list(v1.insecure));
    let v1_set = !blocked.is_empty() || !insecure.is_empty() || !list(v1.search).is_empty();
    let mut raws = raw.registry.unwrap_or_default();
    if v1_set {
        if drop_in {
            return Err(invalid(
                "must be in the v2 format, not v1 ([registries.*])".into(),
            ));
        }
        if !raws.is_empty() || raw.unqualified_search_registries.is_some() {
            return Err(invalid(
                "mixes the v1 ([registries.*]) and v2 formats".into(),
            ));
        }
        for (host, is_blocked) in blocked
            .iter()
            .map(|h| (h, true))
            .chain(insecure.iter().map(|h| (h, false)))
        {
            match raws
                .iter_mut()
                .find(|r| r.location.as_deref() == Some(host.as_str()))
            {
                Some(r) if is_blocked => r.blocked = Some(true),
                Some(r) => r.insecure = Some(true),
                None => raws.push(RawRegistry {
                    location: Some(host.clone()),
                    blocked: Some(is_blocked),
                    insecure: Some(!is_blocked),
                    ..RawRegistry::default()
                }),
            }
        }
    }
    let mut out: Vec<Entry> = Vec::new();
    for (i, r) in raws.into_iter().enumerate() {
        let at = format!("registry[{i}]");
        let location = parse_location(r.location.as_deref().unwrap_or(""))
            .map_err(|e| invalid(format!("{at}.location {e}")))?;
        let prefix = match r.prefix.as_deref() {
            None | Some("") if location.is_empty() => {
                return Err(invalid(format!("{at}: neither prefix nor location is set")));
            }
            None | Some("") => location.clone(),
            Some(p) => {
                let p = parse_location(p).map_err(|e| invalid(format!("{at}.prefix {e}")))?;
                if let Some(domain) = p.strip_prefix("*.") {
                    if domain.contains(['/', '@', ':']) || domain.contains('*') {
                        return Err(invalid(format!(
                            "{at}.prefix {p:?}: a wildcard must be of the form *.example.com"
                        )));
                    }
                } else if location.is_empty() {
                    return Err(invalid(format!(
                        "{at}: location is unset and prefix is not of the form *.example.com"
                    )));
                }
                p
            }
        };
        if r.pull_from_mirror.is_some() {
            return Err(invalid(format!(
                "{at}: pull-from-mirror may only be set on a [[registry.mirror]]"
            )));
        }
        let digest_only = r.mirror_by_digest_only.unwrap_or(false);
        let mut mirrors = Vec::new();
        for (j, m) in r.mirror.unwrap_or_default().into_iter().enumerate() {
            let at = format!("{at}.mirror[{j}]");
            let location = parse_location(m.location.as_deref().unwrap_or(""))
                .map_err(|e| invalid(format!("{at}.location {e}")))?;
            if location.is_empty() {
                return Err(invalid(format!("{at}: location is unset")));
            }
            let when = match (m.pull_from_mirror.as_deref(), digest_only) {
                (Some(_), true) => {
                    return Err(invalid(format!(
                        "{at}: pull-from-mirror and the registry's mirror-by-digest-only are both set"
                    )));
                }
                (None | Some("") | Some("all"), false) => When::All,
                (None, true) => When::DigestOnly,
                (Some("digest-only"), false) => When::DigestOnly,
                (Some("tag-only"), false) => When::TagOnly,
                (Some(other), false) => {
                    return Err(invalid(format!(
                        "{at}: unsupported pull-from-mirror {other:?} (all, digest-only or tag-only)"
                    )));
                }
            };
            mirrors.push((location, m.insecure.unwrap_or(false), when));
        }
        let entry = Entry {
            prefix,
            location,
            insecure: r.insecure.unwrap_or(false),
            blocked: r.blocked.unwrap_or(false),
            mirrors,
            origin: origin.clone(),
        };
        let key = |e: &Entry| {
            if e.location.is_empty() {
                e.prefix.clone()
            } else {
                e.location.clone()
            }
        };
        if let Some(other) = out.iter().find(|o| key(o) == key(&entry)) {
            for (what, a, b) in [
                ("insecure", other.insecure, entry.insecure),
                ("blocked", other.blocked, entry.blocked),
            ] {
                if a != b {
                    return Err(invalid(format!(
                        "registry {:?} is defined more than once with conflicting {what}",
                        key(&entry)
                    )));
                }
            }
        }
        if !out.iter().any(|o| o.prefix == entry.prefix) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// A prefix or location as containers/image accepts it: no URI scheme, no trailing `/`.
fn parse_location(text: &str) -> Result<String, String> {
    let trimmed = text.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err("must not have a URI scheme".to_owned());
    }
    Ok(trimmed.to_owned())
}

/// `host[/path]` with the host normalised.
fn split(text: &str) -> (String, String) {
    let (host, path) = text.split_once('/').unwrap_or((text, ""));
    (normalize_registry(host), path.to_owned())
}

fn place(location: &str) -> Place {
    let (host, namespace) = split(location);
    Place {
        host: api_host(&host).to_owned(),
        namespace,
        scheme: None,
        api_root: None,
    }
}

fn insecure() -> HostSettings {
    HostSettings {
        skip_verify: true,
        plain_http: true,
        ..HostSettings::default()
    }
}

fn to_routes(entries: impl Iterator<Item = Entry>) -> Routes {
    let mut routes = Routes::default();
    for e in entries {
        let scope = match e.prefix.strip_prefix("*.") {
            Some(domain) => Scope::Domain(domain.to_ascii_lowercase()),
            None => {
                let (registry, path) = split(&e.prefix);
                if path.contains([':', '@']) {
                    // Names a tag or digest: `route` is never asked about one.
                    continue;
                }
                Scope::Prefix { registry, path }
            }
        };
        let mut rule = Rule::new(scope.clone(), &e.origin);
        rule.blocked = e.blocked;
        if !e.location.is_empty() {
            let (host, path) = split(&e.location);
            let same = matches!(&scope, Scope::Prefix { registry, path: p } if *registry == host && *p == path);
            if !same {
                rule.upstream = Upstream::Hop(Hop::new(Target::At(place(&e.location)), When::All));
            }
        }
        if e.insecure {
            let host = if e.location.is_empty() {
                e.prefix.clone()
            } else {
                place(&e.location).host
            };
            routes.add_host(
                &host,
                HostSettings {
                    origin: e.origin.clone(),
                    ..insecure()
                },
            );
        }
        for (location, is_insecure, when) in e.mirrors {
            let p = place(&location);
            if is_insecure {
                routes.add_host(
                    &p.host,
                    HostSettings {
                        origin: e.origin.clone(),
                        ..insecure()
                    },
                );
            }
            rule.mirrors.push(Hop::new(Target::At(p), when));
        }
        routes.add_rule(rule);
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::super::Endpoint;
    use super::*;

    const PATH: &str = "/etc/containers/registries.conf";

    fn parse(text: &str) -> Result<Routes, RoutesError> {
        parse_registries_conf(text, Path::new(PATH))
    }

    fn hops(r: &Routes, registry: &str, repo: &str, by_digest: bool) -> Vec<String> {
        r.route(registry, repo, by_digest)
            .unwrap()
            .iter()
            .map(|e| format!("{}/{}", e.host, e.repository))
            .collect()
    }

    #[test]
    fn local_mirror_then_docker_hub() {
        let r = parse(
            r#"
unqualified-search-registries = ["docker.io"]
short-name-mode = "enforcing"

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "127.0.0.1:5000"
insecure = true
"#,
        )
        .unwrap();
        let origin = format!("registries.conf:{PATH}");
        assert_eq!(
            r.route("docker.io", "library/x", false).unwrap(),
            [
                Endpoint {
                    host: "127.0.0.1:5000".into(),
                    repository: "library/x".into(),
                    scheme: None,
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
                    origin: origin.clone(),
                },
            ]
        );
        let local = r.host("127.0.0.1:5000").unwrap();
        assert!(local.skip_verify && local.plain_http);
        assert_eq!(local.origin, origin);
        assert!(r.host("docker.io").is_none());
    }

    #[test]
    fn longest_prefix_location_rewrites_wildcards_and_mirror_modes() {
        let r = parse(
            r#"
[[registry]]
prefix = "docker.io"
location = "mirror.example/dockerhub"

[[registry]]
prefix = "docker.io/library"
location = "mirror.example/lib"
mirror-by-digest-only = true
[[registry.mirror]]
location = "digests.example/lib"

[[registry]]
prefix = "docker.io/library"
location = "ignored.example"

[[registry]]
prefix = "*.corp.example"
insecure = true
[[registry.mirror]]
location = "cache.corp.example/all"
pull-from-mirror = "tag-only"

[[registry]]
location = "quay.io"
blocked = true

[[registry]]
prefix = "quay.io/allowed"
location = "quay.io/allowed"
"#,
        )
        .unwrap();
        #[rustfmt::skip]
        let cases: [(&str, &str, bool, &[&str]); 6] = [
            ("docker.io", "library/nginx", false, &["mirror.example/lib/nginx"]),
            ("docker.io", "library/nginx", true, &["digests.example/lib/nginx", "mirror.example/lib/nginx"]),
            ("index.docker.io", "org/app", false, &["mirror.example/dockerhub/org/app"]),
            ("git.corp.example:5000", "team/app", false, &["cache.corp.example/all/team/app", "git.corp.example:5000/team/app"]),
            ("git.corp.example", "team/app", true, &["git.corp.example/team/app"]),
            ("quay.io", "allowed/x", false, &["quay.io/allowed/x"]),
        ];
        for (registry, repo, by_digest, want) in cases {
            assert_eq!(
                hops(&r, registry, repo, by_digest),
                want,
                "{registry}/{repo} {by_digest}"
            );
        }
        assert!(r.host("git.corp.example:5000").unwrap().skip_verify);
        let err = r.route("quay.io", "org/x", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("quay.io/org/x is blocked by registries.conf:{PATH}")
        );
    }

    #[test]
    fn v1_format_blocks_and_marks_insecure() {
        let r = parse(
            "[registries.search]\nregistries = ['docker.io']\n[registries.insecure]\nregistries = ['10.0.0.1:5000']\n[registries.block]\nregistries = ['evil.example']\n",
        )
        .unwrap();
        assert!(r.route("evil.example", "x", false).is_err());
        assert!(r.host("10.0.0.1:5000").unwrap().plain_http);
    }

    #[test]
    fn malformed_files_are_one_line_errors_naming_the_file() {
        #[rustfmt::skip]
        let cases = [
            ("[[registry]\n", ":1:"),
            ("[[registry]]\nlocation = 5\n", "invalid type"),
            ("[[registry]]\nlocation = \"https://x\"\n", "registry[0].location must not have a URI scheme"),
            ("[[registry]]\nblocked = true\n", "neither prefix nor location"),
            ("[[registry]]\nprefix = \"docker.io\"\nblocked = true\n", "location is unset"),
            ("[[registry]]\nprefix = \"*.x.com/ns\"\n", "wildcard"),
            ("[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"sometimes\"\n", "unsupported pull-from-mirror"),
            ("[[registry]]\nlocation = \"a\"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = \"m\"\npull-from-mirror = \"all\"\n", "both set"),
            ("[[registry]]\nlocation = \"a\"\npull-from-mirror = \"all\"\n", "only be set on a [[registry.mirror]]"),
            ("[[registry]]\nlocation = \"a\"\n[[registry.mirror]]\ninsecure = true\n", "mirror[0]: location is unset"),
            ("[[registry]]\nprefix = \"a/x\"\nlocation = \"a\"\n[[registry]]\nprefix = \"a/y\"\nlocation = \"a\"\nblocked = true\n", "conflicting blocked"),
            ("[[registry]]\nlocation = \"a\"\n[registries.block]\nregistries = [\"b\"]\n", "mixes"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(PATH), "{err}");
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn drop_ins_replace_tables_of_the_same_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("registries.conf");
        std::fs::write(&main, "[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"old.example\"\n\n[[registry]]\nlocation = \"quay.io\"\nblocked = true\n").unwrap();
        let d = dir.path().join("registries.conf.d");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("10-hub.conf"), "[[registry]]\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"new.example\"\n").unwrap();
        std::fs::write(d.join("20-ignored.txt"), "not toml [").unwrap();
        let r = read_registries_conf(&main).unwrap();
        let e = r.route("docker.io", "library/x", false).unwrap();
        assert_eq!(e[0].host, "new.example");
        assert!(e[0].origin.ends_with("10-hub.conf"), "{}", e[0].origin);
        assert!(
            r.route("quay.io", "x", false)
                .unwrap_err()
                .origin
                .ends_with("registries.conf")
        );
        std::fs::write(
            d.join("30-v1.conf"),
            "[registries.block]\nregistries = [\"x\"]\n",
        )
        .unwrap();
        let err = read_registries_conf(&main).unwrap_err().to_string();
        assert!(
            err.contains("30-v1.conf") && err.contains("v2 format"),
            "{err}"
        );
        assert!(
            read_registries_conf(&dir.path().join("missing.conf"))
                .unwrap()
                .is_empty()
        );
    }
}
