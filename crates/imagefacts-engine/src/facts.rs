//! Building [`ImageFacts`] for one reference from what the registry serves.

use std::collections::BTreeMap;

use imagefacts_model::facts::{
    AttestationRef, BuildInfo, ConfigFacts, Empty, ErrorKind, FactsError, FactsSource, Failure,
    ImageFacts, Layer, PlatformFacts, Step, rfc3339,
};
use std::sync::Arc;

use imagefacts_model::discovery::{ImageUse, RunningDigestKind};
use imagefacts_model::manifest::{Descriptor, ImageConfig, ImageIndex, ImageManifest, Manifest};
use imagefacts_model::reference::Target;
use imagefacts_model::{Digest, ImageRef, Platform, Reference};
use imagefacts_registry::{RegistryError, TagList};
use time::OffsetDateTime;

use crate::artifact::{REFERENCE_DIGEST, REFERENCE_TYPE, index_artifact_type, is_attestation};
use crate::error::{AtStep as _, FetchError, StepError};
use crate::fetch::{Fetcher, Known, Trail};
use crate::nearest::{NEAREST_TAGS, nearest_tags};

/// What entries report of a config blob, built once per blob and shared by every entry of it
/// (one image under 20,000 tags holds one label map and one runtime config).
#[derive(Debug)]
pub(crate) struct Config {
    platform: Platform,
    /// `created` in the RFC 3339 form Go's `time.Time` reads (`None`: absent or not RFC 3339).
    created: Option<String>,
    labels: Arc<BTreeMap<String, String>>,
    facts: Arc<ConfigFacts>,
}

impl Config {
    pub(crate) fn new(image: ImageConfig) -> Config {
        let platform = image.platform();
        let created = image.created.as_deref().and_then(|written| {
            let canonical = rfc3339(written);
            if canonical.is_none() {
                tracing::debug!(
                    created = written,
                    "config `created` is not RFC 3339; left out"
                );
            }
            canonical
        });
        let (labels, facts) = match image.config {
            Some(c) => {
                let keys = |m: Option<BTreeMap<String, serde_json::Value>>| {
                    m.into_iter()
                        .flat_map(BTreeMap::into_keys)
                        .map(|k| (k, Empty {}))
                        .collect()
                };
                let facts = ConfigFacts {
                    user: c.user.unwrap_or_default(),
                    exposed_ports: keys(c.exposed_ports),
                    env: c.env.unwrap_or_default(),
                    entrypoint: c.entrypoint.unwrap_or_default(),
                    cmd: c.cmd.unwrap_or_default(),
                    volumes: keys(c.volumes),
                    working_dir: c.working_dir.unwrap_or_default(),
                };
                (c.labels.unwrap_or_default(), facts)
            }
            None => Default::default(),
        };
        Config {
            platform,
            created,
            labels: Arc::new(labels),
            facts: Arc::new(facts),
        }
    }
}

/// Facts of one platform manifest, and its config when that could be read, before they are
/// placed at the top level or in `platforms`.
struct ImageDetails {
    manifest: ImageManifest,
    config: Option<Arc<Known<Config>>>,
}

impl ImageDetails {
    fn config(&self) -> Option<&Config> {
        self.config.as_ref().map(|c| &c.value)
    }

    fn labels(&self) -> Arc<BTreeMap<String, String>> {
        self.config()
            .map(|c| Arc::clone(&c.labels))
            .unwrap_or_default()
    }

    fn config_facts(&self) -> Arc<ConfigFacts> {
        self.config()
            .map(|c| Arc::clone(&c.facts))
            .unwrap_or_default()
    }

    fn created(&self) -> Option<String> {
        self.config()?.created.clone()
    }

    fn layers(&self) -> Vec<Layer> {
        self.manifest
            .layers
            .iter()
            .map(|l| Layer {
                digest: l.digest.clone(),
                size: l.size,
                media_type: l.media_type.clone(),
            })
            .collect()
    }
}

/// A facts entry for a reference that could not be parsed.
pub(crate) fn invalid_reference(
    input: ImageRef,
    message: String,
    now: OffsetDateTime,
) -> ImageFacts {
    let mut f = ImageFacts::empty(input, "", "", now);
    f.error = FactsError::new(ErrorKind::InvalidReference, message, false)
        .at(Step::Reference)
        .into();
    f
}

/// Collects the facts of `reference` (written as `written`), using what discovery knows of it
/// (the usage itself is moved in afterwards). Never fails: a failure is recorded in the entry's `error`, naming the step that failed, beside
/// whatever the steps before it obtained. `source` and `collectedAt` say truthfully whether the
/// registry answered in this run.
pub(crate) async fn collect_image(
    fetcher: &Fetcher,
    written: &ImageRef,
    reference: &Reference,
    usage: Option<&ImageUse>,
    options: &ImageOptions<'_>,
) -> ImageFacts {
    let now = OffsetDateTime::now_utc();
    let mut facts = ImageFacts::empty(
        written.clone(),
        reference.registry(),
        reference.repository(),
        now,
    );
    facts.tag = reference.tag().unwrap_or_default().to_owned();
    let trail = Trail::default();
    let mut result = fill(fetcher, reference, usage, options, &mut facts, &trail).await;
    // Every run asks the registry about every reference at least once: content the caches
    // supplied entirely is confirmed with one HEAD, unless the user trusts cached tag answers.
    if result.is_ok() && !trail.was_asked() && !trail.trusted_cached_tag() && !fetcher.offline() {
        let confirm = match reference.digest() {
            Some(_) => reference.clone(),
            None => facts
                .digest
                .clone()
                .map_or_else(|| reference.clone(), |d| reference.with_digest(d)),
        };
        result = fetcher.confirm(&confirm, &trail).await.at(Step::Confirm);
    }
    // A registry's error is its answer (or its silence) in this run.
    let registry_failed = matches!(&result, Err(e) if matches!(*e.error, FetchError::Registry(_)));
    if let Err(e) = result {
        tracing::debug!(reference = %reference, step = ?e.step, error = %e.error, "image failed");
        facts.error = e.to_facts_error().into();
    }
    if !trail.was_asked() && !registry_failed {
        facts.source = FactsSource::Cache;
        facts.collected_at = trail.cached_at().unwrap_or(now);
    }
    facts
}

/// Moves discovery's view of an image into its facts.
pub(crate) fn move_usage(facts: &mut ImageFacts, usage: ImageUse) {
    facts.node_digests_differ = usage.node_digests_differ();
    facts.workloads = usage.workloads;
    facts.set_clusters_from_workloads();
    facts.running_digests = usage.running_digests;
    facts.pull_failures = usage.pull_failures;
    facts.pull_secrets = usage.pull_secrets;
    facts.node_platforms = usage.node_platforms;
    facts.node_images = usage.node_images;
}

/// What the cluster itself proves about an image whose registry could not be asked: the
/// manifest digest that runs (pod status), else the one digest its nodes hold. `None` when it
/// proves nothing.
pub(crate) fn proven_digest(reference: &Reference, usage: &ImageUse) -> Option<Digest> {
    running_manifest_digest(reference, Some(usage)).or_else(|| {
        let mut digests = usage.node_images.iter().filter_map(|n| n.digest.clone());
        let first = digests.next()?;
        digests.all(|d| d == first).then_some(first)
    })
}

/// The manifest digest the cluster runs for `reference`, when pod status names one for its repository.
fn running_manifest_digest(reference: &Reference, usage: Option<&ImageUse>) -> Option<Digest> {
    let name = reference.name();
    usage?
        .running_digests
        .iter()
        .filter(|r| r.kind == RunningDigestKind::RepoDigest)
        // Discovery normalised the repository the runtime names (`docker.io/library/nginx`).
        .filter(|r| r.repository.as_deref().is_none_or(|repo| repo == name))
        .map(|r| r.digest.clone())
        .next()
}

/// Per-image settings of a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ImageOptions<'a> {
    /// The platform whose facts fill the top level.
    pub(crate) wanted: Option<&'a Platform>,
    /// Platforms of an index fetched at most (the primary among them).
    pub(crate) max_platforms: usize,
}

async fn fill(
    fetcher: &Fetcher,
    reference: &Reference,
    usage: Option<&ImageUse>,
    options: &ImageOptions<'_>,
    facts: &mut ImageFacts,
    trail: &Trail,
) -> Result<(), StepError> {
    // What to describe: the digest a reference pins, else the digest the cluster reports running,
    // else what the tag resolves to. With a tag beside a known digest, one HEAD (or the cache)
    // tells whether the tag still points there.
    let known = reference
        .digest()
        .cloned()
        .or_else(|| running_manifest_digest(reference, usage));
    let resolved = known.is_none();
    let digest = match (known, reference.tag()) {
        (Some(known), Some(tag)) => {
            let tagged = if reference.digest().is_some() {
                reference.with_tag(tag).ok()
            } else {
                Some(reference.clone())
            };
            if let Some(tagged) = tagged {
                match fetcher.tag_digest(&tagged, trail).await {
                    Ok(now) => {
                        facts.tag_drift = Some(now != known);
                        facts.tag_digest = Some(now);
                    }
                    Err(e) => {
                        tracing::debug!(reference = %reference, error = %e, "tag drift unknown")
                    }
                }
            }
            known
        }
        (Some(known), None) => known,
        (None, _) => match fetcher.resolve(reference, trail).await {
            Ok(d) => d,
            Err(e) => {
                let (e, tags) = explain_not_found(fetcher, reference, e).await;
                // A missing tag of a repository that exists: the tags nearest to it.
                if let (Some(tags), Target::Tag(tag), Some(RegistryError::NotFound { .. })) =
                    (tags, reference.target(), e.registry())
                {
                    facts.nearest_tags = nearest_tags(tag, &tags.tags, NEAREST_TAGS);
                }
                return Err(StepError::new(Step::Resolve, e));
            }
        },
    };
    // A digest the registry (or the cache) resolved is a fact obtained; one the reference pins
    // or the cluster reports becomes one when its manifest is read.
    if resolved {
        facts.digest = Some(digest.clone());
    }
    let top = match fetcher.manifest(reference, &digest, trail).await {
        Ok(top) => top,
        Err(e) => {
            let (e, _) = explain_not_found(fetcher, reference, e).await;
            return Err(StepError::new(Step::Manifest, e));
        }
    };
    facts.digest = Some(digest.clone());
    facts.media_type = top.value.media_type().to_owned();
    facts.schema_version = top.value.schema_version();
    match &top.value {
        Manifest::Image(manifest) => {
            facts.manifest_digest = Some(digest);
            // An artifact (a signature, an SBOM, a Helm chart) is reported as what it is; its
            // config is fetched only when it is an image config.
            facts.artifact_type = manifest.artifact().map(str::to_owned);
            facts.subject = manifest.subject.as_ref().map(|s| s.digest.clone());
            let (details, failed) = if manifest.has_image_config() {
                details(fetcher, reference, manifest, trail).await
            } else {
                let details = ImageDetails {
                    manifest: (**manifest).clone(),
                    config: None,
                };
                (details, None)
            };
            if let Some(config) = details.config() {
                facts.platform = config.platform.clone();
            }
            fill_primary(facts, &details, &[]);
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Manifest::Index(index) => {
            fill_index(fetcher, reference, options, index, facts, trail).await?;
        }
    }
    Ok(())
}

/// A 404 on a tag says neither whether the repository exists (distribution answers
/// `MANIFEST_UNKNOWN` for both) nor anything at all on a `HEAD`; the repository's tag list
/// (read once per run, shared by every image of the repository) tells which it was:
/// `NAME_UNKNOWN` for a missing repository, `MANIFEST_UNKNOWN` for a missing tag, and then
/// which tags there are.
async fn explain_not_found(
    fetcher: &Fetcher,
    reference: &Reference,
    e: FetchError,
) -> (FetchError, Option<Arc<TagList>>) {
    let Some(RegistryError::NotFound {
        registry,
        what,
        code,
    }) = e.registry()
    else {
        return (e, None);
    };
    if code.as_deref() == Some("NAME_UNKNOWN") {
        return (e, None);
    }
    match fetcher.tag_list(reference).await {
        Err(FetchError::Registry(RegistryError::NotFound { .. })) => {
            let e = FetchError::Registry(RegistryError::NotFound {
                registry: registry.clone(),
                what: format!("repository {}", reference.repository()),
                code: Some("NAME_UNKNOWN".to_owned()),
            });
            (e, None)
        }
        Ok(tags) => {
            let e = FetchError::Registry(RegistryError::NotFound {
                registry: registry.clone(),
                what: what.clone(),
                code: Some("MANIFEST_UNKNOWN".to_owned()),
            });
            (e, Some(tags))
        }
        Err(_) => (e, None),
    }
}

/// The details of `manifest`: its config fetched, or the config step's error beside what the
/// manifest alone gives.
async fn details(
    fetcher: &Fetcher,
    reference: &Reference,
    manifest: &ImageManifest,
    trail: &Trail,
) -> (ImageDetails, Option<StepError>) {
    let config = fetcher
        .config(reference, &manifest.config.digest, trail)
        .await
        .at(Step::Config);
    let (config, failed) = match config {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e)),
    };
    (
        ImageDetails {
            manifest: manifest.clone(),
            config,
        },
        failed,
    )
}

/// Fills the top level from the primary platform's details: what its manifest gives always,
/// what its config gives when it was read.
fn fill_primary(
    facts: &mut ImageFacts,
    details: &ImageDetails,
    extra_annotations: &[&BTreeMap<String, String>],
) {
    let labels = details.labels();
    let mut maps = vec![&details.manifest.annotations];
    maps.extend_from_slice(extra_annotations);
    maps.push(labels.as_ref());
    facts.build_info = BuildInfo::from_maps(&maps);
    facts.config_digest = details
        .manifest
        .has_image_config()
        .then(|| details.manifest.config.digest.clone());
    facts.size = details.manifest.layers_size();
    facts.created = details.created();
    facts.layers = details.layers();
    facts.config = details.config_facts();
    facts.labels = labels;
}

/// Index of the primary child: the wanted platform, else linux/amd64, else the first.
fn primary_index(children: &[(Platform, &Descriptor)], wanted: Option<&Platform>) -> Option<usize> {
    if let Some(w) = wanted {
        return children.iter().position(|(p, _)| p.matches(w));
    }
    children
        .iter()
        .position(|(p, _)| p.matches(&Platform::linux_amd64()))
        .or((!children.is_empty()).then_some(0))
}

async fn fill_index(
    fetcher: &Fetcher,
    reference: &Reference,
    options: &ImageOptions<'_>,
    index: &ImageIndex,
    facts: &mut ImageFacts,
    trail: &Trail,
) -> Result<(), StepError> {
    facts.subject = index.subject.as_ref().map(|s| s.digest.clone());
    facts.artifact_type = index_artifact_type(index);
    let mut children = Vec::new();
    for d in &index.manifests {
        if is_attestation(d) {
            facts.attestations.push(AttestationRef {
                manifest_digest: d.digest.clone(),
                media_type: d.media_type.clone(),
                size: d.size,
                reference_type: d.annotations.get(REFERENCE_TYPE).cloned(),
                attests: d
                    .annotations
                    .get(REFERENCE_DIGEST)
                    .and_then(|a| Digest::parse(a).ok()),
            });
        } else if let Some(p) = &d.platform {
            children.push((Platform::from(p), d));
        }
    }
    // An index of artifacts only (referrers, attestations) is reported as an artifact: it has
    // no platform to run, and that is no error.
    if children.is_empty() && facts.artifact_type.is_some() {
        return Ok(());
    }
    let primary = primary_index(&children, options.wanted);
    // The primary and the first others up to the cap are fetched; the rest are listed only.
    let cap = options.max_platforms.max(1);
    let others = cap - usize::from(primary.is_some());
    let fetched: Vec<bool> = (0..children.len())
        .scan(0usize, |taken, i| {
            Some(if Some(i) == primary {
                true
            } else if *taken < others {
                *taken += 1;
                true
            } else {
                false
            })
        })
        .collect();
    if fetched.iter().any(|f| !f) {
        tracing::debug!(
            reference = %reference,
            children = children.len(),
            cap,
            "index has more platforms than --max-platforms: the rest are listed, not fetched"
        );
    }
    let fetches =
        children
            .iter()
            .zip(&fetched)
            .filter(|(_, f)| **f)
            .map(|((_, d), _)| async move {
                let child = fetcher
                    .manifest(reference, &d.digest, trail)
                    .await
                    .at(Step::PlatformManifest)?;
                match &child.value {
                    Manifest::Image(m) => Ok(details(fetcher, reference, m, trail).await),
                    Manifest::Index(_) => Err(FetchError::Registry(RegistryError::Protocol {
                        registry: reference.registry().to_owned(),
                        detail: format!("index child {} is itself an index", d.digest),
                    }))
                    .at(Step::PlatformManifest),
                }
            });
    let mut results = futures::future::join_all(fetches).await.into_iter();
    let mut primary_error = None;
    for (i, ((platform, d), was_fetched)) in children.iter().zip(&fetched).enumerate() {
        let is_primary = Some(i) == primary;
        let mut pf = PlatformFacts {
            platform: platform.clone(),
            manifest_digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            config_digest: None,
            size: 0,
            created: None,
            layers: Vec::new(),
            config: Arc::default(),
            labels: Arc::default(),
            primary: is_primary,
            error: Failure::none(),
            not_fetched: !was_fetched,
        };
        let failed = match was_fetched.then(|| results.next()).flatten() {
            None => None,
            Some(Ok((details, failed))) => {
                pf.config_digest = Some(details.manifest.config.digest.clone());
                pf.size = details.manifest.layers_size();
                pf.created = details.created();
                pf.layers = details.layers();
                pf.config = details.config_facts();
                pf.labels = details.labels();
                if is_primary {
                    facts.manifest_digest = Some(d.digest.clone());
                    facts.platform = platform.clone();
                    fill_primary(facts, &details, &[&index.annotations]);
                }
                failed
            }
            Some(Err(e)) => Some(e),
        };
        if let Some(e) = failed {
            pf.error = e.to_facts_error().into();
            if is_primary {
                primary_error = Some(e);
            }
        }
        facts.platforms.push(pf);
    }
    if let Some(e) = primary_error {
        return Err(e);
    }
    if primary.is_none() {
        const SHOWN: usize = 10;
        let mut available: Vec<String> = children
            .iter()
            .take(SHOWN)
            .map(|(p, _)| p.to_string())
            .collect();
        if children.len() > SHOWN {
            available.push(format!("and {} more", children.len() - SHOWN));
        }
        let message = match options.wanted {
            Some(w) => format!(
                "no {w} image in {reference} (available: {})",
                available.join(", ")
            ),
            None => format!("{reference} is an index without runnable images"),
        };
        return Err(StepError::new(
            Step::Platform,
            FetchError::NoRunnablePlatform { message },
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::tests::desc;

    #[test]
    fn primary_choice() {
        let a = desc(Some(("linux", "arm64")), &[], None);
        let b = desc(Some(("linux", "amd64")), &[], None);
        let children = vec![
            (Platform::from(a.platform.as_ref().unwrap()), &a),
            (Platform::from(b.platform.as_ref().unwrap()), &b),
        ];
        assert_eq!(primary_index(&children, None), Some(1));
        let arm: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(primary_index(&children, Some(&arm)), Some(0));
        let s390: Platform = "linux/s390x".parse().unwrap();
        assert_eq!(primary_index(&children, Some(&s390)), None);
        assert_eq!(primary_index(&children[..1], None), Some(0));
        assert_eq!(primary_index(&[], None), None);
    }
}
