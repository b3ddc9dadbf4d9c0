//! The fewest requests, and an honest account of where each answer came from.
//!
//! A tag nothing is known about is resolved by `GET`ting its manifest: the one request gives the
//! digest and the content. A tag whose last answer's content is cached is revalidated with one
//! `HEAD` (and nothing more when it has not moved), as is every tag on a registry that counts
//! `GET`s against a pull quota (Docker Hub, where `HEAD` is free). A tag beside a digest already
//! known is checked with a `HEAD`. Cached tag answers stand in for the registry only when the user
//! trusts them for a TTL or works `--offline`. Manifests and configs are fetched once per digest
//! however many references share them, in memory for the run and on disk across runs.
//! Concurrent askers for one digest share one fetch. Each image's [`Trail`] records whether the
//! registry answered about it in this run, and when any cached answer it used was obtained.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use imagefacts_model::facts::SupplyChain;
use imagefacts_model::manifest::{self, Manifest};
use imagefacts_model::reference::Target;
use imagefacts_model::{Digest, Reference};
use imagefacts_registry::{Referrers, RegistryClient, RegistryError, TagList};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

use crate::cache::DiskCache;
use crate::error::FetchError;
use crate::facts::Config;

type Cell<T> = Arc<OnceCell<Arc<T>>>;

/// Single-flight memo: one computation per key, shared by concurrent callers; failures are not kept.
#[derive(Debug)]
struct Memo<K, V> {
    cells: Mutex<HashMap<K, Cell<V>>>,
}

impl<K: Eq + Hash + Clone, V> Memo<K, V> {
    fn new() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }

    fn cell(&self, key: &K) -> Cell<V> {
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }

    /// Whether `key` has a value already.
    fn holds(&self, key: &K) -> bool {
        self.cells
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .is_some_and(|c| c.initialized())
    }

    fn insert(&self, key: &K, value: Arc<V>) {
        let _ = self.cell(key).set(value);
    }

    async fn get_or_try_init<F, Fut>(&self, key: &K, init: F) -> Result<Arc<V>, FetchError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, FetchError>>,
    {
        let cell = self.cell(key);
        cell.get_or_try_init(|| async { init().await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// Where one image's facts came from, gathered while they are collected.
#[derive(Debug, Default)]
pub(crate) struct Trail {
    /// The registry answered a request about this reference in this run.
    asked: AtomicBool,
    /// A tag answer was taken from the cache without asking (within `--cache-ttl`, or offline).
    trusted_cached_tag: AtomicBool,
    /// The oldest time at which a cached answer this image used was obtained.
    cached_at: Mutex<Option<OffsetDateTime>>,
}

impl Trail {
    fn asked(&self) {
        self.asked.store(true, Ordering::Relaxed);
    }

    fn cached(&self, at: Option<OffsetDateTime>) {
        let Some(at) = at else { return };
        let mut oldest = self.cached_at.lock().unwrap_or_else(|e| e.into_inner());
        if oldest.is_none_or(|o| at < o) {
            *oldest = Some(at);
        }
    }

    /// Whether the registry answered about this reference in this run.
    pub(crate) fn was_asked(&self) -> bool {
        self.asked.load(Ordering::Relaxed)
    }

    /// Whether a cached tag answer stood in for the registry.
    pub(crate) fn trusted_cached_tag(&self) -> bool {
        self.trusted_cached_tag.load(Ordering::Relaxed)
    }

    /// When the cached answers used were obtained (the oldest of them).
    pub(crate) fn cached_at(&self) -> Option<OffsetDateTime> {
        *self.cached_at.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A value and, when it was read from the disk cache, when it had been stored there.
#[derive(Debug)]
pub(crate) struct Known<T> {
    pub(crate) value: T,
    cached_at: Option<OffsetDateTime>,
}

/// A tag's digest, and whether the registry said so in this run.
#[derive(Debug)]
struct TagAnswer {
    digest: Digest,
    /// `None`: the registry answered in this run; else when the cached answer was obtained.
    cached_at: Option<OffsetDateTime>,
}

/// What every [`Fetcher`] view of a run shares: content is content whoever asked for it.
#[derive(Debug)]
struct Caches {
    disk: Option<DiskCache>,
    offline: bool,
    manifests: Memo<Digest, Known<Manifest>>,
    configs: Memo<Digest, Known<Config>>,
    tags: Memo<String, TagAnswer>,
    /// Each repository's tag list, read once per run (failures too: a registry that refuses to
    /// list is asked once), by `registry/repository`.
    tag_lists: Memo<String, Result<Arc<TagList>, RegistryError>>,
    /// Whether each registry has the referrers API, learnt from its first answer.
    referrers_api: Memo<String, bool>,
    /// What `--supply-chain` found, by `registry/repository@digest`.
    supply_chains: Memo<String, SupplyChain>,
}

/// Pages of a repository's tag list read at most.
pub(crate) const TAG_LIST_PAGES: usize = 20;
/// Pages of an image's referrers read at most.
const REFERRERS_PAGES: usize = 4;

/// Fetches through the memory and disk caches.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    pub(crate) client: RegistryClient,
    caches: Arc<Caches>,
}

impl Fetcher {
    /// A fetcher asking through `client`; with `offline`, only the caches answer.
    pub(crate) fn new(client: RegistryClient, disk: Option<DiskCache>, offline: bool) -> Fetcher {
        Fetcher {
            client,
            caches: Arc::new(Caches {
                disk,
                offline,
                manifests: Memo::new(),
                configs: Memo::new(),
                tags: Memo::new(),
                tag_lists: Memo::new(),
                referrers_api: Memo::new(),
                supply_chains: Memo::new(),
            }),
        }
    }

    /// The same caches, asking through `client` (another credential source).
    pub(crate) fn with_client(&self, client: RegistryClient) -> Fetcher {
        Fetcher {
            client,
            caches: self.caches.clone(),
        }
    }

    pub(crate) fn disk(&self) -> Option<&DiskCache> {
        self.caches.disk.as_ref()
    }

    /// Whether no request may be made.
    pub(crate) fn offline(&self) -> bool {
        self.caches.offline
    }

    fn not_cached(&self, what: String) -> Result<(), FetchError> {
        if self.caches.offline {
            Err(FetchError::NotCached { what })
        } else {
            Ok(())
        }
    }

    /// The digest a tagged reference points to, asked once per run (see the module
    /// documentation for which request); `HEAD` when `head` says the content is known already.
    pub(crate) async fn tag_digest(
        &self,
        reference: &Reference,
        trail: &Trail,
    ) -> Result<Digest, FetchError> {
        self.ask_tag(reference, trail, true).await
    }

    /// The digest a tagged reference points to, for describing it: a `GET` of the manifest when
    /// nothing is known (its content is kept for the manifest step), else a `HEAD`.
    pub(crate) async fn resolve(
        &self,
        reference: &Reference,
        trail: &Trail,
    ) -> Result<Digest, FetchError> {
        self.ask_tag(reference, trail, false).await
    }

    async fn ask_tag(
        &self,
        reference: &Reference,
        trail: &Trail,
        content_known: bool,
    ) -> Result<Digest, FetchError> {
        if let Target::Digest(d) = reference.target() {
            return Ok(d.clone());
        }
        let key = reference.to_string();
        let answer = self
            .caches
            .tags
            .get_or_try_init(&key, || async {
                let cached = self.caches.disk.as_ref().and_then(|c| c.tag(&key));
                if let Some(t) = cached.as_ref().filter(|t| t.fresh || self.caches.offline) {
                    return Ok(TagAnswer {
                        digest: t.digest.clone(),
                        cached_at: Some(t.stored_at),
                    });
                }
                self.not_cached(format!("tag {key}"))?;
                let revalidate = cached.is_some_and(|t| self.holds_manifest(&t.digest));
                let head_digest = match head_first(reference, content_known || revalidate) {
                    true => self.client.head_manifest(reference).await?.digest,
                    false => None,
                };
                // No HEAD, or one without a `Docker-Content-Digest`: the GET tells.
                let digest = match head_digest {
                    Some(d) => d,
                    None => {
                        let fetched = self.client.get_manifest(reference).await?;
                        self.remember_manifest(&fetched.digest, &fetched.bytes, fetched.manifest);
                        fetched.digest
                    }
                };
                if let Some(c) = &self.caches.disk {
                    c.put_tag(&key, &digest);
                }
                Ok(TagAnswer {
                    digest,
                    cached_at: None,
                })
            })
            .await?;
        match answer.cached_at {
            None => trail.asked(),
            Some(at) => {
                trail.trusted_cached_tag.store(true, Ordering::Relaxed);
                trail.cached(Some(at));
            }
        }
        Ok(answer.digest.clone())
    }

    /// Whether the manifest `digest` is at hand without a request (in memory or on disk).
    fn holds_manifest(&self, digest: &Digest) -> bool {
        self.caches.manifests.holds(digest)
            || self
                .caches
                .disk
                .as_ref()
                .is_some_and(|c| c.has_blob(digest))
    }

    /// Asks the registry whether `reference` still exists and may be read (one `HEAD`), for an
    /// image whose content the caches supplied entirely.
    pub(crate) async fn confirm(
        &self,
        reference: &Reference,
        trail: &Trail,
    ) -> Result<(), FetchError> {
        let head = self.client.head_manifest(reference).await?;
        trail.asked();
        match (reference.target(), head.digest) {
            (Target::Digest(want), Some(got)) if *want != got => Err(FetchError::Registry(
                imagefacts_registry::RegistryError::DigestMismatch {
                    url: reference.to_string(),
                    expected: want.clone(),
                    actual: got,
                },
            )),
            _ => Ok(()),
        }
    }

    fn remember_manifest(&self, digest: &Digest, bytes: &[u8], manifest: Manifest) {
        if let Some(c) = &self.caches.disk {
            c.put_blob(digest, bytes);
        }
        self.caches.manifests.insert(
            digest,
            Arc::new(Known {
                value: manifest,
                cached_at: None,
            }),
        );
    }

    /// The manifest `digest` of `reference`'s repository: memory, disk, or one `GET`.
    pub(crate) async fn manifest(
        &self,
        reference: &Reference,
        digest: &Digest,
        trail: &Trail,
    ) -> Result<Arc<Known<Manifest>>, FetchError> {
        let known = self
            .caches
            .manifests
            .get_or_try_init(digest, || async {
                let disk = self.caches.disk.as_ref();
                if let Some(manifest) = disk
                    .and_then(|c| c.blob(digest))
                    .and_then(|b| manifest::parse_manifest(&b, None).ok())
                {
                    return Ok(Known {
                        value: manifest,
                        cached_at: disk.and_then(|c| c.blob_time(digest)),
                    });
                }
                self.not_cached(format!("manifest {digest}"))?;
                let fetched = self
                    .client
                    .get_manifest(&reference.with_digest(digest.clone()))
                    .await?;
                trail.asked();
                if let Some(c) = disk {
                    c.put_blob(&fetched.digest, &fetched.bytes);
                }
                Ok(Known {
                    value: fetched.manifest,
                    cached_at: None,
                })
            })
            .await?;
        trail.cached(known.cached_at);
        Ok(known)
    }

    /// The config blob `digest`: memory, disk, or one `GET` from `reference`'s repository.
    pub(crate) async fn config(
        &self,
        reference: &Reference,
        digest: &Digest,
        trail: &Trail,
    ) -> Result<Arc<Known<Config>>, FetchError> {
        let known = self
            .caches
            .configs
            .get_or_try_init(digest, || async {
                let disk = self.caches.disk.as_ref();
                if let Some(config) = disk
                    .and_then(|c| c.blob(digest))
                    .and_then(|b| manifest::parse_config(&b).ok())
                {
                    return Ok(Known {
                        value: Config::new(config),
                        cached_at: disk.and_then(|c| c.blob_time(digest)),
                    });
                }
                self.not_cached(format!("config {digest}"))?;
                let (bytes, config) = self
                    .client
                    .get_config(reference.registry(), reference.repository(), digest)
                    .await?;
                trail.asked();
                if let Some(c) = disk {
                    c.put_blob(digest, &bytes);
                }
                Ok(Known {
                    value: Config::new(config),
                    cached_at: None,
                })
            })
            .await?;
        trail.cached(known.cached_at);
        Ok(known)
    }
}

impl Fetcher {
    /// The tags of `reference`'s repository, read once per run however many images ask (the
    /// answer, or the failure, is shared).
    pub(crate) async fn tag_list(&self, reference: &Reference) -> Result<Arc<TagList>, FetchError> {
        let key = reference.name();
        let answer = self
            .caches
            .tag_lists
            .get_or_try_init(&key, || async {
                self.not_cached(format!("the tags of {key}"))?;
                Ok(self
                    .client
                    .list_tags(reference.registry(), reference.repository(), TAG_LIST_PAGES)
                    .await
                    .map(Arc::new))
            })
            .await?;
        (*answer).clone().map_err(FetchError::Registry)
    }

    /// The referrers of `digest` (OCI 1.1 API). Whether a registry has the API is learnt from
    /// its first answer: the other images wait for it, and ask nothing when it has none.
    pub(crate) async fn referrers(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<Referrers, FetchError> {
        self.not_cached(format!("the referrers of {digest}"))?;
        let mut first = None;
        let slot = &mut first;
        let supported = self
            .caches
            .referrers_api
            .get_or_try_init(&reference.registry().to_owned(), || async move {
                let answer = self
                    .client
                    .referrers(reference, digest, REFERRERS_PAGES)
                    .await?;
                let supported = matches!(answer, Referrers::Listed(_));
                *slot = Some(answer);
                Ok(supported)
            })
            .await?;
        match (first, *supported) {
            (Some(answer), _) => Ok(answer),
            (None, false) => Ok(Referrers::Unsupported),
            (None, true) => Ok(self
                .client
                .referrers(reference, digest, REFERRERS_PAGES)
                .await?),
        }
    }

    /// The supply chain of the image `key` names (`registry/repository@digest`), looked for
    /// once per run by `look`.
    pub(crate) async fn supply_chain<F, Fut>(&self, key: &str, look: F) -> Arc<SupplyChain>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = SupplyChain>,
    {
        let looked = self
            .caches
            .supply_chains
            .get_or_try_init(&key.to_owned(), || async { Ok(look().await) })
            .await;
        match looked {
            Ok(chain) => chain,
            // The look never fails; its failures are in the chain's `error`.
            Err(e) => Arc::new(SupplyChain {
                error: Some(e.to_string()),
                ..SupplyChain::default()
            }),
        }
    }
}

/// Whether a tag is asked with a `HEAD` first (then a `GET` only for content not at hand): when
/// its content is known or cached already, so the `HEAD` is all it costs; and always on Docker
/// Hub, whose pull quota counts manifest `GET`s but not `HEAD`s. Otherwise the `GET` alone
/// gives the digest and the content, one request instead of two.
fn head_first(reference: &Reference, content_at_hand: bool) -> bool {
    content_at_hand || reference.is_docker_hub()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_asked_first() {
        let local = Reference::parse("127.0.0.1:5000/app:1").unwrap();
        let hub = Reference::parse("nginx:1.25").unwrap();
        assert!(!head_first(&local, false), "nothing known: GET only");
        assert!(head_first(&local, true), "content cached: HEAD revalidates");
        assert!(
            head_first(&hub, false),
            "Docker Hub: HEAD is not counted as a pull"
        );
        assert!(head_first(&hub, true));
    }
}
