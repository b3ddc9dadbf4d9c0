//! The `imageID` a container runtime reports in pod status, in each runtime's spelling.

use imagefacts_model::discovery::RunningDigestKind;
use imagefacts_model::{Digest, Reference};

/// What an `imageID` says runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId {
    /// The digest (`sha256:<hex>`).
    pub digest: Digest,
    /// A repository (manifest) digest, or a local image (config) ID.
    pub kind: RunningDigestKind,
    /// The repository named with a repo digest, normalised (`docker.io/library/nginx`).
    pub repository: Option<String>,
}

/// Parses an `imageID` from `status.containerStatuses[]`.
///
/// | form | runtime | meaning |
/// |---|---|---|
/// | `docker-pullable://nginx@sha256:…` | dockershim, cri-dockerd | repo digest |
/// | `docker.io/library/nginx@sha256:…` | containerd, CRI-O | repo digest |
/// | `docker://sha256:…` | dockershim, image pulled by ID or built locally | image (config) ID |
/// | `sha256:…` | containerd, CRI-O without a repo digest | image (config) ID |
///
/// Any other `scheme://` prefix is read the same way. Returns `None` for an empty or unreadable
/// value (a pending container reports `""`).
///
/// ```
/// use imagefacts_discovery::parse_image_id;
/// use imagefacts_model::discovery::RunningDigestKind;
///
/// let hex = "a".repeat(64);
/// let id = parse_image_id(&format!("docker-pullable://nginx@sha256:{hex}")).unwrap();
/// assert_eq!(id.kind, RunningDigestKind::RepoDigest);
/// assert_eq!(id.repository.as_deref(), Some("docker.io/library/nginx"));
/// let id = parse_image_id(&format!("docker://sha256:{hex}")).unwrap();
/// assert_eq!(id.kind, RunningDigestKind::ImageId);
/// ```
pub fn parse_image_id(image_id: &str) -> Option<ImageId> {
    let value = image_id.trim();
    let value = match value.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains(['/', '@']) => rest,
        _ => value,
    };
    if let Some((repo, digest)) = value.rsplit_once('@') {
        let digest = Digest::parse(digest).ok()?;
        let repository = (!repo.is_empty()).then(|| normalise_repository(repo));
        return Some(ImageId {
            digest,
            kind: RunningDigestKind::RepoDigest,
            repository,
        });
    }
    let digest = match Digest::parse(value) {
        Ok(d) => d,
        // Some runtimes wrote a bare hex image ID.
        Err(_) if value.len() == 64 => Digest::parse(&format!("sha256:{value}")).ok()?,
        Err(_) => return None,
    };
    Some(ImageId {
        digest,
        kind: RunningDigestKind::ImageId,
        repository: None,
    })
}

/// `nginx` → `docker.io/library/nginx`; kept as written when it does not parse.
fn normalise_repository(repo: &str) -> String {
    Reference::parse(repo)
        .map(|r| r.name())
        .unwrap_or_else(|_| repo.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn runtime_forms() {
        use RunningDigestKind::{ImageId as Id, RepoDigest as Repo};
        type Want = Option<(RunningDigestKind, Option<&'static str>)>;
        let d = format!("sha256:{HEX}");
        let cases: Vec<(String, Want)> = vec![
            (
                format!("docker-pullable://nginx@{d}"),
                Some((Repo, Some("docker.io/library/nginx"))),
            ),
            (
                format!("docker-pullable://registry.example.com:5000/team/app@{d}"),
                Some((Repo, Some("registry.example.com:5000/team/app"))),
            ),
            (
                format!("docker.io/library/nginx@{d}"),
                Some((Repo, Some("docker.io/library/nginx"))),
            ),
            (
                format!("quay.io/prometheus/node-exporter@{d}"),
                Some((Repo, Some("quay.io/prometheus/node-exporter"))),
            ),
            (format!("docker://{d}"), Some((Id, None))),
            (d.clone(), Some((Id, None))),
            (format!("docker://{HEX}"), Some((Id, None))),
            (format!("  {d}  "), Some((Id, None))),
            (format!("@{d}"), Some((Repo, None))),
            (format!("Weird Repo@{d}"), Some((Repo, Some("Weird Repo")))),
            (String::new(), None),
            ("docker://".to_owned(), None),
            ("nginx:1.25".to_owned(), None),
            ("docker-pullable://nginx@sha256:short".to_owned(), None),
            (format!("md5:{HEX}"), None),
            ("://@".to_owned(), None),
        ];
        for (input, want) in cases {
            let got = parse_image_id(&input);
            match want {
                None => assert_eq!(got, None, "{input:?}"),
                Some((kind, repo)) => {
                    let got = got.unwrap_or_else(|| panic!("{input:?} should parse"));
                    assert_eq!(got.digest.to_string(), format!("sha256:{HEX}"), "{input:?}");
                    assert_eq!(got.kind, kind, "{input:?}");
                    assert_eq!(got.repository.as_deref(), repo, "{input:?}");
                }
            }
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for input in [
            "@",
            "@@",
            "a@b@c",
            "://",
            ":///",
            "x://y://z",
            "🦀@sha256:🦀",
            "sha256:",
        ] {
            let _ = parse_image_id(input);
        }
    }
}
