//! The fewest requests: tags resolved with one `HEAD` (or not at all when the cache knows them),
//! manifests and configs fetched once per digest however many references share them, in memory
//! for the run and on disk across runs. Concurrent askers for one digest share one fetch.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use imagefacts_model::manifest::{self, ImageConfig, Manifest};
use imagefacts_model::reference::Target;
use imagefacts_model::{Digest, Reference};
use imagefacts_registry::{RegistryClient, RegistryError};
use tokio::sync::OnceCell;

use crate::cache::DiskCache;

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

    fn insert(&self, key: &K, value: Arc<V>) {
        let _ = self.cell(key).set(value);
    }

    async fn get_or_try_init<F, Fut>(&self, key: &K, init: F) -> Result<Arc<V>, RegistryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, RegistryError>>,
    {
        let cell = self.cell(key);
        cell.get_or_try_init(|| async { init().await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// A manifest known by digest.
#[derive(Debug)]
pub(crate) struct KnownManifest {
    pub(crate) manifest: Manifest,
}

/// What every [`Fetcher`] view of a run shares: content is content whoever asked for it.
#[derive(Debug)]
struct Caches {
    disk: Option<DiskCache>,
    manifests: Memo<Digest, KnownManifest>,
    configs: Memo<Digest, ImageConfig>,
    tags: Memo<String, Digest>,
}

/// Fetches through the memory and disk caches.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    pub(crate) client: RegistryClient,
    caches: Arc<Caches>,
}

impl Fetcher {
    pub(crate) fn new(client: RegistryClient, disk: Option<DiskCache>) -> Fetcher {
        Fetcher {
            client,
            caches: Arc::new(Caches {
                disk,
                manifests: Memo::new(),
                configs: Memo::new(),
                tags: Memo::new(),
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

    /// The digest a tagged reference points to: from the caches, else one `HEAD`; a registry that
    /// sends no `Docker-Content-Digest` costs a `GET`, whose manifest is kept.
    pub(crate) async fn tag_digest(&self, reference: &Reference) -> Result<Digest, RegistryError> {
        if let Target::Digest(d) = reference.target() {
            return Ok(d.clone());
        }
        let key = reference.to_string();
        let digest = self
            .caches
            .tags
            .get_or_try_init(&key, || async {
                if let Some(d) = self.caches.disk.as_ref().and_then(|c| c.tag(&key)) {
                    return Ok(d);
                }
                let digest = match self.client.head_manifest(reference).await?.digest {
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
                Ok(digest)
            })
            .await?;
        Ok((*digest).clone())
    }

    fn remember_manifest(&self, digest: &Digest, bytes: &[u8], manifest: Manifest) {
        if let Some(c) = &self.caches.disk {
            c.put_blob(digest, bytes);
        }
        self.caches
            .manifests
            .insert(digest, Arc::new(KnownManifest { manifest }));
    }

    /// The manifest `digest` of `reference`'s repository: memory, disk, or one `GET`.
    pub(crate) async fn manifest(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<Arc<KnownManifest>, RegistryError> {
        self.caches
            .manifests
            .get_or_try_init(digest, || async {
                let cached = self.caches.disk.as_ref().and_then(|c| c.blob(digest));
                if let Some(Ok(manifest)) = cached.map(|b| manifest::parse_manifest(&b, None)) {
                    return Ok(KnownManifest { manifest });
                }
                let fetched = self
                    .client
                    .get_manifest(&reference.with_digest(digest.clone()))
                    .await?;
                if let Some(c) = &self.caches.disk {
                    c.put_blob(&fetched.digest, &fetched.bytes);
                }
                Ok(KnownManifest {
                    manifest: fetched.manifest,
                })
            })
            .await
    }

    /// The config blob `digest`: memory, disk, or one `GET` from `reference`'s repository.
    pub(crate) async fn config(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<Arc<ImageConfig>, RegistryError> {
        self.caches
            .configs
            .get_or_try_init(digest, || async {
                let cached = self.caches.disk.as_ref().and_then(|c| c.blob(digest));
                if let Some(Ok(config)) = cached.map(|b| manifest::parse_config(&b)) {
                    return Ok(config);
                }
                let (bytes, config) = self
                    .client
                    .get_config(reference.registry(), reference.repository(), digest)
                    .await?;
                if let Some(c) = &self.caches.disk {
                    c.put_blob(digest, &bytes);
                }
                Ok(config)
            })
            .await
    }
}
