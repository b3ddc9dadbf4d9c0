//! The collection engine: turns image references (and what discovery knows of them) into
//! [`ImageFacts`], asking registries through one shared [`RegistryClient`] with the fewest requests.
//!
//! - Each distinct reference is one unit of work, however often it is listed; manifests and
//!   configs are fetched once per digest (single-flight in memory, content-addressed on disk).
//! - Every run asks the registry about every reference, with the fewest requests: a tag nothing
//!   is known about costs one `GET` of its manifest (digest and content at once); a tag whose
//!   content is cached costs one `HEAD` (and Docker Hub, whose quota counts `GET`s, is always
//!   asked with a `HEAD` first); a reference pinned by digest, or whose running digest the cluster
//!   reported, needs no resolution (one `HEAD` confirms it when its content is cached). Trusting
//!   cached tag answers is opt-in ([`CollectOptions::cache_ttl`]); [`CollectOptions::offline`]
//!   answers from the cache alone. Each entry's `source` says which.
//! - Up to [`CollectOptions::concurrency`] images at once; per-registry limits and retries live in
//!   the client, each image's retries bounded by [`CollectOptions::max_retry_time`].
//! - A failure becomes a typed error in that image's entry, handled per [`Fallback`]; an overall
//!   deadline turns unfinished images into `timeout` errors and the run still completes. A tag
//!   that does not exist gets the repository's nearest tags (`nearestTags`, from its tag list,
//!   read once per run per repository).
//! - OCI artifacts (signatures, SBOMs, Helm charts, indexes of referrers) are reported as what
//!   they are (`artifactType`, `subject`), without a platform and without fetching a config that
//!   is not an image config; [`CollectOptions::supply_chain`] looks for each image's signatures,
//!   attestations and SBOMs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use imagefacts_engine::{CollectOptions, Collector, ImageRequest};
//! use imagefacts_registry::{ClientConfig, RegistryClient};
//!
//! let client = RegistryClient::new(ClientConfig::default())?;
//! let collector = Collector::new(client, CollectOptions::default())?;
//! let facts = collector.collect(vec![ImageRequest::new("nginx:1.25")]).await?;
//! println!("{:?}", facts[0].digest);
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use imagefacts_model::discovery::{ImageUse, SecretRef};
use imagefacts_model::facts::{ErrorKind, FactsError, FactsSource, ImageFacts, Step};
use imagefacts_model::{Digest, ImageRef, Platform};
use imagefacts_registry::{CredentialChain, CredentialSource, RegistryClient, RetryWindow, Served};
use time::OffsetDateTime;

mod artifact;
pub mod cache;
mod error;
mod events;
mod facts;
mod fetch;
mod nearest;
mod supply;

pub use cache::{CacheError, DiskCache};
pub use events::{Event, EventSink, NoEvents};

use crate::fetch::Fetcher;

/// What to do when an image fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fallback {
    /// The first failure stops the run ([`CollectError::Failed`]); nothing is written.
    None,
    /// The same as [`Fallback::BestEffort`] (which now keeps what was obtained before a failure,
    /// marked `partial`); kept so that scripts naming it still work.
    Partial,
    /// Every image gets facts or a typed error; the run completes. A failed entry keeps what
    /// the steps before the failing one obtained, marked `partial`.
    #[default]
    BestEffort,
    /// An image whose registry fails is served from the on-disk cache when present
    /// (`source: "cache"`, original `collectedAt`), else gets its typed error.
    Cached,
}

/// How a [`Collector`] works.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The platform whose facts fill the top-level fields of a multi-platform image.
    pub platform: Option<Platform>,
    /// How many images are collected at once.
    pub concurrency: usize,
    /// What to do when an image fails.
    pub fallback: Fallback,
    /// Stop waiting after this long: unfinished images get a `timeout` error.
    pub deadline: Option<Duration>,
    /// On-disk cache directory (`None`: memory only).
    pub cache_dir: Option<PathBuf>,
    /// How long a cached tag → digest answer is trusted without asking the registry (default 0:
    /// always ask).
    pub cache_ttl: Duration,
    /// Make no request: answer from the cache alone.
    pub offline: bool,
    /// Platforms of an index fetched at most; the rest are listed with their digests only.
    pub max_platforms: usize,
    /// The longest one image spends retrying, over all its requests: waits for `Retry-After`
    /// and backoff, and the retried attempts (see [`RetryWindow`]).
    pub max_retry_time: Duration,
    /// Look for each image's signatures, attestations and SBOMs (`supplyChain`): the referrers
    /// API, else the tag schema from the repository's tag list, and the attestations of its
    /// index. Off by default: it costs requests (one tag list per repository, one referrers
    /// request per image where the registry has the API, one per tag found).
    pub supply_chain: bool,
}

/// Default of [`CollectOptions::max_retry_time`].
pub const DEFAULT_MAX_RETRY_TIME: Duration = Duration::from_secs(120);

/// Default of [`CollectOptions::max_platforms`]: real images have at most a few dozen.
pub const DEFAULT_MAX_PLATFORMS: usize = 64;

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            platform: None,
            concurrency: 16,
            fallback: Fallback::BestEffort,
            deadline: None,
            cache_dir: None,
            cache_ttl: Duration::ZERO,
            offline: false,
            max_platforms: DEFAULT_MAX_PLATFORMS,
            max_retry_time: DEFAULT_MAX_RETRY_TIME,
            supply_chain: false,
        }
    }
}

/// One image to collect: a reference (parsed once, where it was read), with what discovery knows
/// of it. The usage moves into the facts; it is not copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// The reference, with the spelling it was written in.
    pub reference: ImageRef,
    /// Workloads, running digests and the rest, when the image was discovered.
    pub usage: Option<ImageUse>,
}

impl ImageRequest {
    /// A request for an explicit reference (parsed here).
    pub fn new(reference: &str) -> ImageRequest {
        ImageRequest {
            reference: ImageRef::parse(reference),
            usage: None,
        }
    }

    /// A request for a discovered image, carrying its usage into the facts.
    pub fn discovered(usage: ImageUse) -> ImageRequest {
        ImageRequest {
            reference: usage.reference.clone(),
            usage: Some(usage),
        }
    }
}

/// Why a run stopped without results.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// `--fallback none` and an image failed.
    #[error("{reference}: {}", error.message)]
    Failed {
        /// The reference that failed first.
        reference: ImageRef,
        /// Its error.
        error: FactsError,
    },
    /// The cache directory is unusable.
    #[error(transparent)]
    Cache(#[from] CacheError),
}

/// Collects facts for many references with one shared client.
#[derive(Debug)]
pub struct Collector {
    fetcher: Fetcher,
    options: CollectOptions,
    events: Arc<dyn EventSink>,
    pull_secrets: BTreeMap<SecretRef, Arc<dyn CredentialSource>>,
    /// Asked after the pull secrets (the user's default credential files).
    defaults: Option<Arc<dyn CredentialSource>>,
}

impl Collector {
    /// A collector using `client`.
    ///
    /// # Errors
    ///
    /// [`CollectError::Cache`] when the cache directory cannot be created.
    pub fn new(client: RegistryClient, options: CollectOptions) -> Result<Collector, CollectError> {
        let disk = match &options.cache_dir {
            Some(dir) => Some(DiskCache::open(dir, options.cache_ttl)?),
            None => None,
        };
        Ok(Collector {
            fetcher: Fetcher::new(client, disk, options.offline),
            options,
            events: Arc::new(NoEvents),
            pull_secrets: BTreeMap::new(),
            defaults: None,
        })
    }

    /// Credentials of pull secrets, by secret. An image whose pods name some of these secrets
    /// (`ImageUse::pull_secrets`) is fetched with the client's own credentials (given on the
    /// command line) first, then with these in the order the pods name them, then with the
    /// default credentials; other images never see them. So two namespaces with two
    /// credentials for one registry each use their own.
    pub fn with_pull_secrets(
        mut self,
        secrets: BTreeMap<SecretRef, Arc<dyn CredentialSource>>,
    ) -> Collector {
        self.pull_secrets = secrets;
        self
    }

    /// Credentials asked after the client's own and the pull secrets: the user's docker config
    /// and containers auth files.
    pub fn with_default_credentials(mut self, defaults: Arc<dyn CredentialSource>) -> Collector {
        self.defaults = Some(defaults);
        self
    }

    /// The fetcher for `request`: the shared caches, asking through a view of the client that
    /// bounds this image's retries by `window`, uses the pull secrets its pods name, and
    /// records what served it in `served`.
    fn fetcher_for(
        &self,
        request: &ImageRequest,
        window: RetryWindow,
        served: Arc<Served>,
    ) -> Fetcher {
        let base = &self.fetcher.client;
        let mut sources: Vec<Arc<dyn CredentialSource>> = request
            .usage
            .iter()
            .flat_map(|u| &u.pull_secrets)
            .filter_map(|s| self.pull_secrets.get(s).cloned())
            .collect();
        sources.extend(self.defaults.clone());
        let client = if sources.is_empty() {
            base.with_retry_window(window)
        } else {
            sources.insert(0, base.credential_source());
            base.with_credential_source(Arc::new(CredentialChain::new(sources)))
                .with_retry_window(window)
        };
        self.fetcher.with_client(client.with_served(served))
    }

    /// Reports progress to `events`.
    pub fn with_events(mut self, events: Arc<dyn EventSink>) -> Collector {
        self.events = events;
        self
    }

    /// The registry client.
    pub fn client(&self) -> &RegistryClient {
        &self.fetcher.client
    }

    /// Facts for every request, in request order. Requests naming the same reference (in any
    /// spelling) are collected once.
    ///
    /// # Errors
    ///
    /// [`CollectError::Failed`] under [`Fallback::None`] when an image fails.
    pub async fn collect(
        &self,
        requests: Vec<ImageRequest>,
    ) -> Result<Vec<ImageFacts>, CollectError> {
        // One unit of work per normalised reference; unparseable ones are their own unit.
        let mut units: Vec<usize> = Vec::new();
        let mut unit_of: HashMap<String, usize> = HashMap::new();
        let slots: Vec<usize> = requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let key = match r.reference.reference() {
                    Ok(p) => p.to_string(),
                    Err(_) => format!("invalid:{}", r.reference),
                };
                *unit_of.entry(key).or_insert_with(|| {
                    units.push(i);
                    units.len() - 1
                })
            })
            .collect();
        self.events.event(&Event::Started {
            total: requests.len(),
        });
        // A deadline too far to represent is no deadline.
        let deadline = self
            .options
            .deadline
            .and_then(|d| tokio::time::Instant::now().checked_add(d));
        let mut done: Vec<Option<ImageFacts>> = vec![None; units.len()];
        let mut stream = futures::stream::iter(units.iter().enumerate())
            .map(|(u, &i)| {
                let request = &requests[i];
                async move {
                    let work = self.collect_one(request);
                    let facts = match deadline {
                        Some(at) => match tokio::time::timeout_at(at, work).await {
                            Ok(f) => f,
                            Err(_) => deadline_reached(request, self.options.deadline),
                        },
                        None => work.await,
                    };
                    (u, facts)
                }
            })
            .buffer_unordered(self.options.concurrency.max(1));
        while let Some((u, facts)) = stream.next().await {
            if let (Fallback::None, Some(error)) = (self.options.fallback, facts.error.get()) {
                self.flush_cache();
                return Err(CollectError::Failed {
                    reference: facts.reference.clone(),
                    error: error.clone(),
                });
            }
            self.events.event(&Event::image(&facts));
            done[u] = Some(facts);
        }
        drop(stream);
        self.flush_cache();
        // Each entry keeps its own spelling, and its usage moves in.
        let finish = |mut f: ImageFacts, request: ImageRequest| {
            f.reference = request.reference;
            if let Some(usage) = request.usage {
                facts::move_usage(&mut f, usage);
            }
            f
        };
        // Every request its own unit, in order (distinct references, the usual case): the
        // entries are finished where they lie, in the same allocation (no second vector of them).
        if slots.iter().enumerate().all(|(i, &u)| i == u) {
            return Ok(done
                .into_iter()
                .zip(requests)
                .map(|(f, request)| finish(f.expect("every unit was collected"), request))
                .collect());
        }
        // Hand each unit's facts to its last request without a copy; earlier ones get clones.
        let mut uses = vec![0usize; done.len()];
        for &u in &slots {
            uses[u] += 1;
        }
        Ok(slots
            .into_iter()
            .zip(requests)
            .map(|(u, request)| {
                uses[u] -= 1;
                let f = if uses[u] == 0 {
                    done[u].take()
                } else {
                    done[u].clone()
                }
                .expect("every unit was collected");
                finish(f, request)
            })
            .collect())
    }

    fn flush_cache(&self) {
        if let Some(disk) = self.fetcher.disk() {
            disk.flush();
        }
    }

    /// The facts of one unit of work, without its usage (moved in by [`Collector::collect`]),
    /// saying which credential and endpoint this run's requests for it went to.
    async fn collect_one(&self, request: &ImageRequest) -> ImageFacts {
        let served = Arc::new(Served::default());
        let mut f = self.facts_of(request, served.clone()).await;
        let by = served.get();
        f.auth_source = by.auth_source.map(|s| s.to_string());
        f.endpoint = by.endpoint;
        f
    }

    async fn facts_of(&self, request: &ImageRequest, served: Arc<Served>) -> ImageFacts {
        let reference = match request.reference.reference() {
            Ok(r) => r,
            Err(e) => {
                return facts::invalid_reference(
                    request.reference.clone(),
                    e.to_string(),
                    OffsetDateTime::now_utc(),
                );
            }
        };
        let wanted = self.options.platform.as_ref();
        let fetcher = self.fetcher_for(
            request,
            RetryWindow::starting_now(self.options.max_retry_time),
            served,
        );
        let image_options = facts::ImageOptions {
            wanted,
            max_platforms: self.options.max_platforms,
        };
        let mut f = facts::collect_image(
            &fetcher,
            &request.reference,
            reference,
            request.usage.as_ref(),
            &image_options,
        )
        .await;
        // The last good facts are kept per digest (and platform): one entry however many
        // references name the image. A failed reference finds them through its pinned digest, the
        // digest it resolved to before failing, or the cache's last tag answer.
        let platform = wanted.map(ToString::to_string).unwrap_or_default();
        let facts_key = |digest: &Digest| format!("{digest}|{platform}");
        match (f.error.get(), self.options.fallback) {
            (None, _) => {
                if let (Some(disk), FactsSource::Registry, Some(digest)) =
                    (self.fetcher.disk(), f.source, &f.digest)
                {
                    disk.put_facts(&facts_key(digest), &f);
                }
            }
            (Some(error), Fallback::Cached) => {
                let cached = self.fetcher.disk().and_then(|disk| {
                    let digest = f
                        .digest
                        .clone()
                        .or_else(|| reference.digest().cloned())
                        .or_else(|| disk.tag(&reference.to_string()).map(|t| t.digest))?;
                    disk.facts(&facts_key(&digest))
                });
                if let Some(mut cached) = cached {
                    // The facts of the image, told of this reference.
                    cached.source = FactsSource::Cache;
                    cached.fallback_reason = Some(Box::new(error.clone()));
                    cached.reference.clone_from(&request.reference);
                    cached.registry = reference.registry().to_owned();
                    cached.repository = reference.repository().to_owned();
                    cached.tag = reference.tag().unwrap_or_default().to_owned();
                    cached.tag_digest = None;
                    cached.tag_drift = None;
                    return cached;
                }
                f = keep_what_was_obtained(f, request);
            }
            (Some(_), _) => f = keep_what_was_obtained(f, request),
        }
        // Looked for live, never from the cache (nor kept in the cached facts above); not for
        // an entry whose registry gave nothing (`source: "bundle"`).
        if self.options.supply_chain
            && !self.options.offline
            && f.source != FactsSource::Bundle
            && let Some(digest) = f.digest.clone()
        {
            let primary = f.manifest_digest.clone().filter(|m| *m != digest);
            f.supply_chain = Some(Box::new(
                supply::supply_chain(&fetcher, reference, &digest, primary.as_ref()).await,
            ));
        }
        f
    }
}

/// A failed entry keeps what the steps before the failing one obtained (the digest, media type,
/// layers and platforms a manifest gave), marked `partial`, as upstream troubleshoot keeps them;
/// its `source` says whether the registry or the cache gave them. Content the cache supplied
/// that the registry then refused to confirm is not presented at all. An entry left without a
/// digest holds what the cluster itself proves (the digest that runs, `source: "bundle"`).
fn keep_what_was_obtained(f: ImageFacts, request: &ImageRequest) -> ImageFacts {
    let mut f = if f.error.get().and_then(|e| e.step) == Some(Step::Confirm) {
        identity_only(f)
    } else {
        f
    };
    if f.digest.is_some() || !f.platforms.is_empty() {
        f.partial = true;
        return f;
    }
    let proven = request.usage.as_ref().and_then(|usage| {
        let reference = request.reference.reference().ok()?;
        facts::proven_digest(reference, usage)
    });
    if let Some(digest) = proven {
        f.digest = Some(digest);
        f.source = FactsSource::Bundle;
    }
    f
}

/// `f` with only its identity, error and source.
fn identity_only(f: ImageFacts) -> ImageFacts {
    let mut out = ImageFacts::empty(f.reference, &f.registry, &f.repository, f.collected_at);
    out.tag = f.tag;
    out.error = f.error;
    out.source = f.source;
    out
}

fn deadline_reached(request: &ImageRequest, deadline: Option<Duration>) -> ImageFacts {
    let (registry, repository, tag) = match request.reference.reference() {
        Ok(r) => (
            r.registry().to_owned(),
            r.repository().to_owned(),
            r.tag().unwrap_or_default().to_owned(),
        ),
        Err(_) => Default::default(),
    };
    let mut f = ImageFacts::empty(
        request.reference.clone(),
        &registry,
        &repository,
        OffsetDateTime::now_utc(),
    );
    f.tag = tag;
    f.error = FactsError::new(
        ErrorKind::Timeout,
        format!(
            "the run's deadline ({}s) passed before this image was collected",
            deadline.unwrap_or_default().as_secs()
        ),
        true,
    )
    .at(Step::Deadline)
    .into();
    f
}
