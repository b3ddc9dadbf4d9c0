//! Listings: a repository's tags (`tags/list`, following `Link` pagination) and an image's
//! referrers (the OCI 1.1 referrers API), asked through the same exchange as manifests and blobs
//! (so routes, credentials, retries and caps apply).

use imagefacts_model::manifest::{self, Descriptor, Manifest};
use imagefacts_model::media_type;
use imagefacts_model::{Digest, Reference};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Deserialize;

use crate::client::RegistryClient;
use crate::error::{RegistryError, Result};
use crate::response::header_str;
use crate::transport::Ask;

/// A repository's tags, as `tags/list` gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagList {
    /// The tags, in the order the registry listed them.
    pub tags: Vec<String>,
    /// `false` when the registry offered more pages than were read (the page cap).
    pub complete: bool,
}

/// What the referrers API said about an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referrers {
    /// The registry has the API: the descriptors of the manifests naming the image as their
    /// `subject` (each with its `artifactType`), possibly none.
    Listed(Vec<Descriptor>),
    /// The registry has no referrers API (it answered 404, 405, 501 or 400, or something that
    /// is not an index): referrers, if any, are kept under the tag schema.
    Unsupported,
}

/// The body of a `tags/list` page.
#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl RegistryClient {
    /// The tags of `repository` on `registry`: `GET tags/list`, then each page its `Link: <…>;
    /// rel="next"` header names, `max_pages` pages at most (each capped at
    /// [`ClientConfig::max_manifest_bytes`](crate::ClientConfig::max_manifest_bytes)).
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`]; a missing repository is [`RegistryError::NotFound`] (distribution
    /// says `NAME_UNKNOWN`), a body that is not a tag list [`RegistryError::Protocol`].
    pub async fn list_tags(
        &self,
        registry: &str,
        repository: &str,
        max_pages: usize,
    ) -> Result<TagList> {
        let mut tags = Vec::new();
        let mut path = "tags/list".to_owned();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..max_pages.max(1) {
            let x = self
                .exchange(Ask {
                    registry,
                    repository,
                    method: &Method::GET,
                    path: &path,
                    accept: Some("application/json"),
                    what: &format!("tags of {repository}"),
                    body: Some((self.config().max_manifest_bytes, "tag list")),
                })
                .await?;
            let page: TagsPage =
                serde_json::from_slice(&x.body).map_err(|e| RegistryError::Protocol {
                    registry: registry.to_owned(),
                    detail: format!("{} is not a tag list: {e}", x.url),
                })?;
            tags.extend(page.tags.unwrap_or_default());
            match next_page(&x.headers, "tags/list") {
                Some(next) if seen.insert(next.clone()) => path = next,
                _ => {
                    return Ok(TagList {
                        tags,
                        complete: true,
                    });
                }
            }
        }
        Ok(TagList {
            tags,
            complete: false,
        })
    }

    /// The referrers of `digest` in `reference`'s repository: `GET referrers/<digest>` (OCI
    /// 1.1), following `Link` pagination for `max_pages` pages at most.
    ///
    /// # Errors
    ///
    /// Any [`RegistryError`] other than the answers that mean the API is missing (those are
    /// [`Referrers::Unsupported`]).
    pub async fn referrers(
        &self,
        reference: &Reference,
        digest: &Digest,
        max_pages: usize,
    ) -> Result<Referrers> {
        let base = format!("referrers/{digest}");
        let mut path = base.clone();
        let mut found = Vec::new();
        for _ in 0..max_pages.max(1) {
            let answer = self
                .exchange(Ask {
                    registry: reference.registry(),
                    repository: reference.repository(),
                    method: &Method::GET,
                    path: &path,
                    accept: Some(media_type::OCI_INDEX),
                    what: &format!("referrers of {}@{digest}", reference.repository()),
                    body: Some((self.config().max_manifest_bytes, "referrers index")),
                })
                .await;
            let x = match answer {
                Ok(x) => x,
                Err(e) if no_referrers_api(&e) => return Ok(Referrers::Unsupported),
                Err(e) => return Err(e),
            };
            let content_type = header_str(&x.headers, "content-type");
            match manifest::parse_manifest(&x.body, content_type) {
                Ok(Manifest::Index(index)) => found.extend(index.manifests),
                _ if found.is_empty() => return Ok(Referrers::Unsupported),
                _ => {
                    return Err(RegistryError::Protocol {
                        registry: reference.registry().to_owned(),
                        detail: format!("{} is not a referrers index", x.url),
                    });
                }
            }
            match next_page(&x.headers, &base) {
                Some(next) if next != path => path = next,
                _ => break,
            }
        }
        Ok(Referrers::Listed(found))
    }
}

/// Whether `e` says the registry has no referrers API: distribution 2.8 and other registries
/// without it answer 404 (no route), some 405, 501 or 400.
fn no_referrers_api(e: &RegistryError) -> bool {
    match e {
        RegistryError::NotFound { .. } => true,
        RegistryError::Status { status, .. } => matches!(status, 400 | 405 | 501),
        _ => false,
    }
}

/// The next page of a paginated listing at `endpoint` (`tags/list`, `referrers/<digest>`):
/// `endpoint?<query>` from the `Link: <URL>; rel="next"` header (RFC 8288), whose URL names the
/// same endpoint with the query that continues the listing.
fn next_page(headers: &HeaderMap, endpoint: &str) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
            let next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            let (_, query) = target.split_once('?')?;
            (next && !query.is_empty()).then(|| format!("{endpoint}?{query}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("link", value.parse().unwrap());
        h
    }

    #[test]
    fn next_pages_from_link_headers() {
        assert_eq!(
            next_page(
                &link(r#"</v2/a/b/tags/list?n=2&last=1.1>; rel="next""#),
                "tags/list"
            )
            .as_deref(),
            Some("tags/list?n=2&last=1.1")
        );
        assert_eq!(
            next_page(
                &link(r#"<https://r.example/v2/a/tags/list?last=x>; title="x", <https://r.example/v2/a/tags/list?last=y>; rel=next"#),
                "tags/list"
            )
            .as_deref(),
            Some("tags/list?last=y")
        );
        assert_eq!(
            next_page(
                &link(r#"</v2/a/tags/list?last=x>; rel="prev""#),
                "tags/list"
            ),
            None
        );
        assert_eq!(
            next_page(&link(r#"</v2/a/tags/list>; rel="next""#), "tags/list"),
            None
        );
        assert_eq!(next_page(&HeaderMap::new(), "tags/list"), None);
    }

    #[test]
    fn answers_meaning_no_referrers_api() {
        let status = |status| RegistryError::Status {
            registry: "r".into(),
            url: "u".into(),
            status,
            code: None,
            detail: None,
            retry_after: None,
        };
        assert!(no_referrers_api(&RegistryError::NotFound {
            registry: "r".into(),
            what: "w".into(),
            code: None
        }));
        assert!(no_referrers_api(&status(405)));
        assert!(!no_referrers_api(&status(500)));
        assert!(!no_referrers_api(&RegistryError::RateLimited {
            registry: "r".into(),
            retry_after: None
        }));
    }
}
