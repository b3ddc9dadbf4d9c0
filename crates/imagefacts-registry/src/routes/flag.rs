//! `--mirror FROM=TO`: one mirror for a registry or a namespace of one.

use super::model::{Hop, Place, Rule, Scope, Target, When};
use super::{Routes, RoutesError, Scheme, normalize_registry, parse_host_url};
use crate::config::api_host;

/// Parses one `--mirror FROM=TO` value.
///
/// `FROM` is a registry (`docker.io`, `127.0.0.1:5000`), a namespace in one (`docker.io/library`),
/// or `*` for every registry. `TO` is `host[:port][/path]`, optionally with `http://` (plain HTTP,
/// used directly) or `https://`; without a scheme the transport decides. Pulls under `FROM` try
/// `TO` first, with `FROM` replaced by `TO`'s path (`docker.io/library=mirror.example/hub` sends
/// `library/nginx` to `mirror.example` as `hub/nginx`), then the registry itself. Repeat the
/// flag and merge the results for several mirrors; the first given is tried first.
///
/// # Errors
///
/// [`RoutesError::Flag`] when there is no `=`, either side is empty, `FROM` has a scheme, or `TO`
/// is not a valid host, has `user:password@`, a query or a fragment.
pub fn parse_mirror_flag(value: &str) -> Result<Routes, RoutesError> {
    let fail = |detail: &str| RoutesError::Flag {
        value: masked(value),
        detail: detail.to_owned(),
    };
    let (from, to) = value
        .split_once('=')
        .map(|(f, t)| (f.trim(), t.trim()))
        .ok_or_else(|| fail("expected FROM=TO"))?;
    if from.is_empty() || to.is_empty() {
        return Err(fail("expected FROM=TO"));
    }
    if from.contains("://") {
        return Err(fail("FROM is a registry name, without a scheme"));
    }
    let scope = match from.trim_end_matches('/') {
        "*" => Scope::Any,
        from => {
            let (host, path) = from.split_once('/').unwrap_or((from, ""));
            let bad_path = !path.is_empty()
                && (path.contains(['@', ':']) || path.split('/').any(str::is_empty));
            if host.is_empty() || bad_path {
                return Err(fail("FROM must be a registry or registry/namespace"));
            }
            Scope::Prefix {
                registry: normalize_registry(host),
                path: path.to_owned(),
            }
        }
    };
    let (scheme, full) = if to.starts_with("http://") {
        (Some(Scheme::Http), to.to_owned())
    } else if to.starts_with("https://") {
        (Some(Scheme::Https), to.to_owned())
    } else if to.contains("://") {
        return Err(fail("TO must be http://, https:// or have no scheme"));
    } else {
        (None, format!("https://{to}"))
    };
    let after_scheme = &full[full.find("://").map_or(0, |i| i + 3)..];
    if after_scheme
        .split('/')
        .next()
        .is_some_and(|a| a.contains('@'))
    {
        return Err(fail("TO must not hold user:password@"));
    }
    if after_scheme.contains(['?', '#']) {
        return Err(fail("TO must not have a query or fragment"));
    }
    let url = parse_host_url(&full).map_err(|e| fail(&format!("TO {e}")))?;
    let origin = format!("--mirror {}", masked(value));
    let mut rule = Rule::new(scope, &origin);
    rule.mirrors.push(Hop::new(
        Target::At(Place {
            host: api_host(&normalize_registry(&url.host)).to_owned(),
            namespace: url.path.trim_start_matches('/').to_owned(),
            scheme,
            api_root: None,
        }),
        When::All,
    ));
    let mut routes = Routes::default();
    routes.add_rule(rule);
    Ok(routes)
}

/// `value` with anything between a scheme and an `@` masked.
fn masked(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((before, after)) => {
            let keep = before.find("://").map_or_else(
                || before.split_once('=').map_or("", |(f, _)| f).len() + 1,
                |i| i + 3,
            );
            format!("{}<redacted>@{after}", &before[..keep.min(before.len())])
        }
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Endpoint;
    use super::*;

    fn first(flag: &str, registry: &str, repo: &str) -> Endpoint {
        parse_mirror_flag(flag)
            .unwrap()
            .route(registry, repo, false)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn forms() {
        let e = first("docker.io=http://127.0.0.1:5000", "docker.io", "library/x");
        assert_eq!(
            e,
            Endpoint {
                host: "127.0.0.1:5000".into(),
                repository: "library/x".into(),
                scheme: Some(Scheme::Http),
                api_root: None,
                mirror: true,
                origin: "--mirror docker.io=http://127.0.0.1:5000".into(),
            }
        );
        let r = parse_mirror_flag("docker.io=127.0.0.1:5000").unwrap();
        let all = r.route("index.docker.io", "library/x", false).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].scheme, all[1].host.as_str()),
            (None, "registry-1.docker.io")
        );
        #[rustfmt::skip]
        let cases = [
            ("docker.io/library=mirror.example/dockerhub", "docker.io", "library/nginx", "mirror.example", "dockerhub/nginx"),
            ("docker.io/library=mirror.example/dockerhub", "docker.io", "org/app", "registry-1.docker.io", "org/app"),
            ("docker.io=https://mirror.example:8443/hub/", "docker.io", "library/nginx", "mirror.example:8443", "hub/library/nginx"),
            ("*=mirror.example", "ghcr.io", "org/app", "mirror.example", "org/app"),
            ("quay.io=docker.io/quay", "quay.io", "org/app", "registry-1.docker.io", "quay/org/app"),
        ];
        for (flag, registry, repo, host, repository) in cases {
            let e = first(flag, registry, repo);
            assert_eq!(
                (e.host.as_str(), e.repository.as_str()),
                (host, repository),
                "{flag}"
            );
        }
        let mut two = parse_mirror_flag("docker.io=a.example").unwrap();
        two.merge(parse_mirror_flag("docker.io=b.example").unwrap());
        let hosts: Vec<String> = two
            .route("docker.io", "x", false)
            .unwrap()
            .into_iter()
            .map(|e| e.host)
            .collect();
        assert_eq!(hosts, ["a.example", "b.example", "registry-1.docker.io"]);
    }

    #[test]
    fn malformed_values_are_errors_without_secrets() {
        #[rustfmt::skip]
        let cases = [
            ("docker.io", "expected FROM=TO"),
            ("=mirror", "expected FROM=TO"),
            ("https://docker.io=mirror", "without a scheme"),
            ("docker.io=ftp://mirror", "TO must be"),
            ("docker.io=http://user:hunter2@mirror", "user:password@"),
            ("docker.io=user:hunter2@mirror", "user:password@"),
            ("docker.io=mirror?x=1", "query"),
            ("docker.io=http://", "TO has no valid host"),
            ("docker.io//x=mirror", "registry/namespace"),
        ];
        for (value, want) in cases {
            let err = parse_mirror_flag(value).unwrap_err().to_string();
            assert!(err.starts_with("--mirror "), "{err}");
            assert!(err.contains(want), "{value}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
