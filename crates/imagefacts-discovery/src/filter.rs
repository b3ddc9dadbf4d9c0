//! Which namespaces discovery looks at: one namespace, or all of them narrowed by include and
//! exclude globs, with the system namespaces (`kube-*`) left out unless asked for.

/// The namespace selection shared by every source.
///
/// - `namespace` set (and `all_namespaces` not): exactly that namespace, whatever the other fields say.
/// - otherwise every namespace (a plain `NamespaceFilter::default()` selects all of them too:
///   the question is what the whole cluster runs), then:
///   - when `include` is not empty, only the namespaces matching one of its globs;
///   - never those matching one of the `exclude` globs;
///   - never a system namespace (`kube-*`) unless `include_system` is set or an `include` entry
///     names it exactly (without wildcards).
///
/// Globs know `*` (any run of characters) and `?` (one character); everything else is literal.
///
/// ```
/// use imagefacts_discovery::NamespaceFilter;
///
/// let f = NamespaceFilter { exclude: vec!["team-*".into()], ..NamespaceFilter::default() };
/// assert!(f.matches("shop"));
/// assert!(!f.matches("team-a"));
/// assert!(!f.matches("kube-system"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceFilter {
    /// `-n/--namespace`: only this namespace.
    pub namespace: Option<String>,
    /// `-A/--all-namespaces`: every namespace (overrides `namespace`).
    pub all_namespaces: bool,
    /// `--include-namespaces`: globs; when given, only matching namespaces.
    pub include: Vec<String>,
    /// `--exclude-namespaces`: globs of namespaces to leave out.
    pub exclude: Vec<String>,
    /// `--include-system-namespaces`: also look at `kube-*`.
    pub include_system: bool,
}

impl NamespaceFilter {
    /// The single namespace selected, when the filter selects exactly one by name.
    pub fn single(&self) -> Option<&str> {
        if self.all_namespaces {
            return None;
        }
        self.namespace.as_deref()
    }

    /// Whether objects of namespace `ns` are looked at.
    pub fn matches(&self, ns: &str) -> bool {
        if let Some(only) = self.single() {
            return ns == only;
        }
        if !self.include.is_empty() && !self.include.iter().any(|p| glob_match(p, ns)) {
            return false;
        }
        if self.exclude.iter().any(|p| glob_match(p, ns)) {
            return false;
        }
        if is_system_namespace(ns) && !self.include_system {
            return self.include.iter().any(|p| p == ns);
        }
        true
    }
}

/// Whether `ns` is a Kubernetes system namespace (`kube-system`, `kube-public`, `kube-node-lease`, ...).
pub fn is_system_namespace(ns: &str) -> bool {
    ns.starts_with("kube-")
}

/// Matches `text` against a glob where `*` is any run of characters (possibly empty) and `?` is
/// exactly one character; every other character matches itself.
///
/// Linear in practice: the classic two-pointer algorithm with backtracking to the last `*` only.
///
/// ```
/// use imagefacts_discovery::glob_match;
///
/// assert!(glob_match("team-*", "team-a"));
/// assert!(glob_match("*-prod", "shop-prod"));
/// assert!(glob_match("ns-?", "ns-1"));
/// assert!(!glob_match("ns-?", "ns-10"));
/// ```
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    // Position of the last `*` seen in the pattern, and the text position it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "a", false),
            ("shop", "shop", true),
            ("shop", "shops", false),
            ("shop*", "shop", true),
            ("shop*", "shop-prod", true),
            ("*prod", "shop-prod", true),
            ("*prod", "prod-shop", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("a*b*c", "abcbc", true),
            ("?", "a", true),
            ("?", "", false),
            ("??", "ab", true),
            ("team-?", "team-a", true),
            ("team-?", "team-ab", false),
            ("**", "x", true),
            ("*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("kube-*", "kube-system", true),
            ("ünï*", "ünïcode", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(glob_match(pattern, text), want, "{pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn default_selects_all_but_system() {
        let f = NamespaceFilter::default();
        assert!(f.matches("default"));
        assert!(f.matches("shop"));
        assert!(!f.matches("kube-system"));
        assert!(!f.matches("kube-public"));
        let f = NamespaceFilter {
            include_system: true,
            ..NamespaceFilter::default()
        };
        assert!(f.matches("kube-system"));
    }

    #[test]
    fn single_namespace_wins_unless_all() {
        let f = NamespaceFilter {
            namespace: Some("kube-system".into()),
            exclude: vec!["*".into()],
            ..NamespaceFilter::default()
        };
        assert!(f.matches("kube-system"));
        assert!(!f.matches("shop"));
        assert_eq!(f.single(), Some("kube-system"));
        let f = NamespaceFilter {
            all_namespaces: true,
            ..f
        };
        assert_eq!(f.single(), None);
        assert!(!f.matches("shop"), "exclude * still applies with -A");
    }

    #[test]
    fn include_and_exclude() {
        let f = NamespaceFilter {
            include: vec!["shop*".into(), "kube-system".into(), "kube-*".into()],
            exclude: vec!["*-test".into()],
            ..NamespaceFilter::default()
        };
        assert!(f.matches("shop"));
        assert!(f.matches("shop-prod"));
        assert!(!f.matches("shop-test"));
        assert!(!f.matches("batch"));
        assert!(f.matches("kube-system"), "named exactly");
        assert!(!f.matches("kube-public"), "only a glob matches it");
    }
}
