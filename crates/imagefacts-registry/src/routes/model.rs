//! The route model every reader produces, and the one question it answers: where does a pull go.

use std::collections::BTreeMap;

use regex::Regex;

use super::types::{Blocked, Endpoint, HostAuth, HostSettings, Scheme};
use super::{normalize_registry, strip_port};
use crate::config::api_host;

/// Every route setting read from the node's configuration files and flags.
///
/// Build one per source with the readers of [`crate::routes`], then [`Routes::merge`] them.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    rules: Vec<Rule>,
    hosts: BTreeMap<String, HostSettings>,
    auths: Vec<(String, HostAuth)>,
}

/// Which pulls a rule governs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    /// Every registry (containerd `_default`, k3s `"*"`).
    Any,
    /// Hosts under a domain (`*.example.com` is `Domain("example.com")`), any port.
    Domain(String),
    /// One registry, optionally only repositories under `path` (no leading or trailing `/`).
    Prefix { registry: String, path: String },
}

impl Scope {
    /// The rule's specificity and the repository's remainder after the scope's path, if it matches.
    fn matches<'r>(&self, registry: &str, repository: &'r str) -> Option<(usize, &'r str)> {
        match self {
            Scope::Any => Some((0, repository)),
            Scope::Domain(domain) => {
                let host = strip_port(registry);
                let under = host.len() > domain.len()
                    && host.ends_with(domain.as_str())
                    && host[..host.len() - domain.len()].ends_with('.');
                under.then_some((domain.len() + 2, repository))
            }
            Scope::Prefix { registry: r, path } => {
                if r != registry {
                    return None;
                }
                if path.is_empty() {
                    return Some((r.len(), repository));
                }
                let rest = repository.strip_prefix(path.as_str())?;
                if rest.is_empty() || rest.starts_with('/') {
                    Some((r.len() + 1 + path.len(), rest.trim_start_matches('/')))
                } else {
                    None
                }
            }
        }
    }
}

/// Which pulls a hop serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    All,
    /// Only pulls by digest (registries.conf `digest-only`, containerd host without `resolve`).
    DigestOnly,
    /// Only pulls by tag (registries.conf `tag-only`).
    TagOnly,
}

impl When {
    fn allows(self, by_digest: bool) -> bool {
        match self {
            When::All => true,
            When::DigestOnly => by_digest,
            When::TagOnly => !by_digest,
        }
    }
}

/// Where a hop connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// The reference's own registry, repository unchanged.
    Registry,
    /// Another place.
    At(Place),
}

/// A host, and the namespace there that replaces the rule's matched prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    pub(super) host: String,
    pub(super) namespace: String,
    pub(super) scheme: Option<Scheme>,
    pub(super) api_root: Option<String>,
}

/// One mirror or upstream of a rule.
#[derive(Debug, Clone)]
pub(super) struct Hop {
    pub(super) target: Target,
    pub(super) when: When,
    /// Regex rewrites of the repository, first matching pattern applies (k3s).
    pub(super) rewrites: Vec<(Regex, String)>,
}

impl Hop {
    pub(super) fn new(target: Target, when: When) -> Hop {
        Hop {
            target,
            when,
            rewrites: Vec::new(),
        }
    }
}

/// What comes after a rule's mirrors.
#[derive(Debug, Clone)]
pub(super) enum Upstream {
    /// The registry itself.
    Default,
    /// A replacement (containerd `server`, registries.conf `location`) or the registry with
    /// restrictions.
    Hop(Hop),
    /// Nothing: mirrors only.
    None,
}

/// What one file says about one scope.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) scope: Scope,
    pub(super) mirrors: Vec<Hop>,
    pub(super) upstream: Upstream,
    pub(super) blocked: bool,
    pub(super) origin: String,
}

impl Rule {
    pub(super) fn new(scope: Scope, origin: &str) -> Rule {
        Rule {
            scope,
            mirrors: Vec::new(),
            upstream: Upstream::Default,
            blocked: false,
            origin: origin.to_owned(),
        }
    }
}

/// The key host settings and credentials are stored under.
fn host_key(host: &str) -> String {
    normalize_registry(host)
}

fn join_repository(namespace: &str, rest: &str) -> String {
    match (namespace.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => namespace.to_owned(),
        (false, false) => format!("{namespace}/{rest}"),
    }
}

impl Routes {
    /// Merges `other` into `self`; `self`'s settings take precedence (see the module docs).
    pub fn merge(&mut self, other: Routes) {
        self.rules.extend(other.rules);
        for (key, settings) in other.hosts {
            self.add_host(&key, settings);
        }
        for (host, auth) in other.auths {
            self.add_auth(&host, auth);
        }
    }

    /// Where a pull of `repository` (e.g. `library/nginx`) on `registry` (a host such as
    /// `docker.io` or `127.0.0.1:5000`; Docker Hub's aliases are accepted) goes: the mirrors in
    /// order, then the upstream unless a rule removes it. `by_digest` says whether the pull names a
    /// digest: digest-only mirrors (registries.conf `pull-from-mirror = "digest-only"`,
    /// `mirror-by-digest-only`, containerd hosts without the `resolve` capability) serve only
    /// those, tag-only mirrors only the others. After a tag is resolved, fetch what it names by
    /// digest with `by_digest = true`.
    ///
    /// The list is empty when no configured endpoint may serve the pull (a tag pull where every
    /// host lacks `resolve`).
    ///
    /// # Errors
    ///
    /// [`Blocked`] when the rule that applies blocks the pull.
    pub fn route(
        &self,
        registry: &str,
        repository: &str,
        by_digest: bool,
    ) -> Result<Vec<Endpoint>, Blocked> {
        let registry = normalize_registry(registry);
        let mut best = 0;
        let mut chosen: Vec<(&Rule, &str)> = Vec::new();
        for rule in &self.rules {
            if let Some((len, rest)) = rule.scope.matches(&registry, repository) {
                if chosen.is_empty() || len > best {
                    best = len;
                    chosen.clear();
                }
                if len == best {
                    chosen.push((rule, rest));
                }
            }
        }
        if let Some((rule, _)) = chosen.iter().find(|(r, _)| r.blocked) {
            return Err(Blocked {
                registry,
                repository: repository.to_owned(),
                origin: rule.origin.clone(),
            });
        }
        let mut out: Vec<Endpoint> = Vec::new();
        let mut push = |hop: &Hop, rest: &str, origin: &str| {
            if !hop.when.allows(by_digest) {
                return;
            }
            if let Some(e) = endpoint(hop, &registry, repository, rest, origin)
                && !out.iter().any(|o| same_place(o, &e))
            {
                out.push(e);
            }
        };
        for (rule, rest) in &chosen {
            for hop in &rule.mirrors {
                push(hop, rest, &rule.origin);
            }
        }
        match chosen
            .iter()
            .find(|(r, _)| !matches!(r.upstream, Upstream::Default))
        {
            Some((rule, rest)) => {
                if let Upstream::Hop(hop) = &rule.upstream {
                    push(hop, rest, &rule.origin);
                }
            }
            None => {
                let origin = chosen.first().map_or("default", |(r, _)| r.origin.as_str());
                push(&Hop::new(Target::Registry, When::All), repository, origin);
            }
        }
        Ok(out)
    }

    /// TLS and transport settings of `host` (`host[:port]`; Docker Hub's names all find the same
    /// entry), if any file named it: the host's own entry, else the longest `*.domain` entry
    /// covering it (registries.conf wildcard prefixes), else the catch-all entry (containerd
    /// `_default`, k3s `configs."*"`), which applies to hosts no file names specifically.
    pub fn host(&self, host: &str) -> Option<&HostSettings> {
        let key = host_key(host);
        if let Some(s) = self.hosts.get(&key) {
            return Some(s);
        }
        let bare = strip_port(&key);
        self.hosts
            .iter()
            .filter(|(k, _)| {
                k.strip_prefix('*')
                    .is_some_and(|d| d.starts_with('.') && bare.ends_with(d))
            })
            .max_by_key(|(k, _)| k.len())
            .map(|(_, v)| v)
            .or_else(|| self.hosts.get("*"))
    }

    /// Credentials that a file gave per host (only k3s `configs.<host>.auth` does), first per host,
    /// for a credential source. Hosts are normalised (`docker.io` for Docker Hub); `*` stands for
    /// every registry that has no entry of its own.
    pub fn credentials(&self) -> impl Iterator<Item = (&str, &HostAuth)> {
        self.auths.iter().map(|(h, a)| (h.as_str(), a))
    }

    /// Whether no file or flag said anything.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.hosts.is_empty() && self.auths.is_empty()
    }

    pub(super) fn add_rule(&mut self, rule: Rule) {
        self.rules.push(rule);
    }

    /// Records settings for `host` (`*` for the catch-all, `*.domain` for a wildcard).
    pub(super) fn add_host(&mut self, host: &str, settings: HostSettings) {
        let key = if host.starts_with('*') {
            host.to_ascii_lowercase()
        } else {
            host_key(host)
        };
        match self.hosts.get_mut(&key) {
            Some(s) => s.absorb(settings),
            None => {
                self.hosts.insert(key, settings);
            }
        }
    }

    pub(super) fn add_auth(&mut self, host: &str, auth: HostAuth) {
        let key = if host == "*" {
            host.to_owned()
        } else {
            host_key(host)
        };
        if !self.auths.iter().any(|(h, _)| *h == key) {
            self.auths.push((key, auth));
        }
    }
}

fn endpoint(
    hop: &Hop,
    registry: &str,
    repository: &str,
    rest: &str,
    origin: &str,
) -> Option<Endpoint> {
    let (host, mut repo, scheme, api_root) = match &hop.target {
        Target::Registry => (
            api_host(registry).to_owned(),
            repository.to_owned(),
            None,
            None,
        ),
        Target::At(p) => (
            p.host.clone(),
            join_repository(&p.namespace, rest),
            p.scheme,
            p.api_root.clone(),
        ),
    };
    if let Some((re, with)) = hop.rewrites.iter().find(|(re, _)| re.is_match(&repo)) {
        repo = re.replace_all(&repo, with.as_str()).into_owned();
    }
    if repo.is_empty() {
        return None;
    }
    Some(Endpoint {
        mirror: host_key(&host) != registry,
        host,
        repository: repo,
        scheme,
        api_root,
        origin: origin.to_owned(),
    })
}

fn same_place(a: &Endpoint, b: &Endpoint) -> bool {
    a.host == b.host
        && a.repository == b.repository
        && a.scheme == b.scheme
        && a.api_root == b.api_root
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn place(host: &str, namespace: &str) -> Target {
        Target::At(Place {
            host: host.into(),
            namespace: namespace.into(),
            scheme: None,
            api_root: None,
        })
    }

    fn prefix(registry: &str, path: &str) -> Scope {
        Scope::Prefix {
            registry: registry.into(),
            path: path.into(),
        }
    }

    fn hosts(r: &Routes, registry: &str, repo: &str, by_digest: bool) -> Vec<String> {
        r.route(registry, repo, by_digest)
            .unwrap()
            .iter()
            .map(|e| format!("{}/{}", e.host, e.repository))
            .collect()
    }

    #[test]
    fn scopes_match_on_component_boundaries_and_longest_wins() {
        let mut r = Routes::default();
        for (scope, host) in [
            (Scope::Any, "any"),
            (prefix("docker.io", ""), "hub"),
            (prefix("docker.io", "library"), "lib"),
            (Scope::Domain("example.com".into()), "wild"),
        ] {
            let mut rule = Rule::new(scope, host);
            rule.mirrors.push(Hop::new(place(host, ""), When::All));
            r.add_rule(rule);
        }
        // The matched prefix is replaced by the mirror's (empty) namespace.
        let cases: [(&str, &str, &[&str]); 7] = [
            (
                "docker.io",
                "library/nginx",
                &["lib/nginx", "registry-1.docker.io/library/nginx"],
            ),
            (
                "docker.io",
                "librarything/x",
                &["hub/librarything/x", "registry-1.docker.io/librarything/x"],
            ),
            ("docker.io", "library", &["registry-1.docker.io/library"]),
            (
                "registry-1.docker.io",
                "org/x",
                &["hub/org/x", "registry-1.docker.io/org/x"],
            ),
            (
                "a.b.example.com:5000",
                "x",
                &["wild/x", "a.b.example.com:5000/x"],
            ),
            ("example.com", "x", &["any/x", "example.com/x"]),
            ("ghcr.io", "x", &["any/x", "ghcr.io/x"]),
        ];
        for (registry, repo, want) in cases {
            assert_eq!(hosts(&r, registry, repo, false), want, "{registry}/{repo}");
        }
        assert_eq!(
            hosts(&Routes::default(), "docker.io", "library/x", false),
            ["registry-1.docker.io/library/x"]
        );
    }

    #[test]
    fn equal_rules_concatenate_and_the_first_explicit_upstream_wins() {
        let mut a = Routes::default();
        let mut rule = Rule::new(prefix("docker.io", ""), "a");
        rule.mirrors.push(Hop::new(place("m1", ""), When::All));
        a.add_rule(rule);
        let mut b = Routes::default();
        let mut rule = Rule::new(prefix("docker.io", ""), "b");
        rule.mirrors.push(Hop::new(place("m1", ""), When::All));
        rule.mirrors
            .push(Hop::new(place("m2", "dh"), When::DigestOnly));
        rule.upstream = Upstream::None;
        b.add_rule(rule);
        a.merge(b);
        let e = a.route("docker.io", "library/x", true).unwrap();
        let got: Vec<(&str, &str, &str)> = e
            .iter()
            .map(|e| (e.host.as_str(), e.repository.as_str(), e.origin.as_str()))
            .collect();
        assert_eq!(got, [("m1", "library/x", "a"), ("m2", "dh/library/x", "b")]);
        assert!(e.iter().all(|e| e.mirror));
        assert_eq!(hosts(&a, "docker.io", "library/x", false), ["m1/library/x"]);
    }

    #[test]
    fn host_settings_unite_and_fall_back() {
        let mut r = Routes::default();
        let s = |ca: &str, origin: &str| HostSettings {
            ca_files: vec![ca.into()],
            origin: origin.into(),
            ..HostSettings::default()
        };
        r.add_host("registry-1.docker.io", s("a.crt", "a"));
        r.add_host("docker.io", s("b.crt", "b"));
        r.add_host("*.example.com", s("w.crt", "w"));
        r.add_host("*", s("any.crt", "any"));
        let hub = r.host("index.docker.io").unwrap();
        assert_eq!(
            hub.ca_files,
            [PathBuf::from("a.crt"), PathBuf::from("b.crt")]
        );
        assert_eq!(hub.origin, "a, b");
        assert_eq!(r.host("x.example.com:5000").unwrap().origin, "w");
        assert_eq!(r.host("ghcr.io").unwrap().origin, "any");
        assert!(Routes::default().host("ghcr.io").is_none());
        let secret = HostSettings {
            headers: vec![("Authorization".into(), "Bearer hunter2".into())],
            ..HostSettings::default()
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
