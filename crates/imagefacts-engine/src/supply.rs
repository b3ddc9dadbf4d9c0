//! `--supply-chain`: the signatures, attestations and SBOMs found beside an image.
//!
//! For the digest an entry describes (an index's own digest for a multi-platform image):
//!
//! 1. the BuildKit attestation manifests its index holds (`found: "index"`), each an
//!    attestation; the one attesting the primary platform is fetched (one manifest `GET`, no
//!    blob) to read its layers' `in-toto.io/predicate-type`, and an SPDX or CycloneDX predicate
//!    lists it as an SBOM too. Other children with an `artifactType` are classified by it;
//! 2. the OCI 1.1 referrers API (`found: "referrers"`); whether a registry has it is learnt from
//!    its first answer, so a registry without it (distribution 2.8 answers 404) costs that one
//!    request per run;
//! 3. the tag schema, from the repository's tag list (read once per run per repository, and
//!    shared with `nearestTags`): without the referrers API, the `sha256-<hex>` tag, an index of
//!    the referrers (fetched); and cosign's `sha256-<hex>.sig`, `.att` and `.sbom` tags, each
//!    present one asked with a `HEAD` (cosign keeps them under tags by default even where the
//!    referrers API exists, so they are looked for either way). When the tag list has more
//!    pages than are read, the tags are asked for directly instead.
//!
//! Failures never fail the image: they are written to `supplyChain.error`, beside what was
//! found. The result is kept per digest for the run.

use std::collections::HashSet;

use imagefacts_model::facts::supply_chain::{COSIGN_SUFFIXES, PREDICATE_TYPE_ANNOTATION};
use imagefacts_model::facts::{
    ArtifactKind, SupplyChain, SupplyChainArtifact, SupplyChainMethod, referrers_tag,
};
use imagefacts_model::manifest::{Descriptor, Manifest};
use imagefacts_model::{Digest, Reference};
use imagefacts_registry::{Referrers, RegistryError};

use crate::artifact::{REFERENCE_DIGEST, is_buildkit_attestation};
use crate::error::FetchError;
use crate::fetch::{Fetcher, Trail};

/// The supply chain of `digest` in `reference`'s repository, whose primary platform manifest
/// is `primary` (when it is an index that has one). Looked for once per run per digest.
pub(crate) async fn supply_chain(
    fetcher: &Fetcher,
    reference: &Reference,
    digest: &Digest,
    primary: Option<&Digest>,
) -> SupplyChain {
    let key = format!("{}@{digest}", reference.name());
    let chain = fetcher
        .supply_chain(&key, || look(fetcher, reference, digest, primary))
        .await;
    (*chain).clone()
}

/// What was found so far, and what went wrong.
#[derive(Default)]
struct Found {
    artifacts: Vec<SupplyChainArtifact>,
    errors: Vec<String>,
}

impl Found {
    /// Adds an artifact, unless one of the same kind and digest was found already.
    fn push(&mut self, artifact: SupplyChainArtifact) {
        let seen = self
            .artifacts
            .iter()
            .any(|a| a.kind == artifact.kind && a.digest == artifact.digest);
        if !seen {
            self.artifacts.push(artifact);
        }
    }

    fn descriptor(&mut self, d: &Descriptor, kind: ArtifactKind, found: &str) {
        self.push(SupplyChainArtifact {
            kind,
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            artifact_type: d.artifact_type.clone().filter(|t| !t.is_empty()),
            found: found.to_owned(),
        });
    }

    fn failed(&mut self, what: &str, e: &FetchError) {
        self.errors.push(format!("{what}: {e}"));
    }
}

async fn look(
    fetcher: &Fetcher,
    reference: &Reference,
    digest: &Digest,
    primary: Option<&Digest>,
) -> SupplyChain {
    let mut found = Found::default();
    in_index(fetcher, reference, digest, primary, &mut found).await;
    let method = match fetcher.referrers(reference, digest).await {
        Ok(Referrers::Listed(referrers)) => {
            for d in &referrers {
                let kind = ArtifactKind::of_descriptor(
                    d.artifact_type.as_deref(),
                    &d.media_type,
                    &d.annotations,
                );
                found.descriptor(d, kind, "referrers");
            }
            SupplyChainMethod::ReferrersApi
        }
        Ok(Referrers::Unsupported) => SupplyChainMethod::TagSchema,
        Err(e) => {
            found.failed("the referrers API", &e);
            SupplyChainMethod::TagSchema
        }
    };
    let fallback_index = method == SupplyChainMethod::TagSchema;
    tag_schema(fetcher, reference, digest, fallback_index, &mut found).await;
    let error = (!found.errors.is_empty()).then(|| found.errors.join("; "));
    SupplyChain::of(method, found.artifacts, error)
}

/// The artifacts `digest`'s own index holds (nothing when it is not an index).
async fn in_index(
    fetcher: &Fetcher,
    reference: &Reference,
    digest: &Digest,
    primary: Option<&Digest>,
    found: &mut Found,
) {
    let trail = Trail::default();
    // Read when the entry was collected: this is the run's memory, not a request.
    let Ok(top) = fetcher.manifest(reference, digest, &trail).await else {
        return;
    };
    let Manifest::Index(index) = &top.value else {
        return;
    };
    for d in &index.manifests {
        if is_buildkit_attestation(d) {
            found.descriptor(d, ArtifactKind::Attestation, "index");
            let attests = d.annotations.get(REFERENCE_DIGEST);
            if primary.is_some_and(|p| attests.is_some_and(|a| *a == p.to_string())) {
                match fetcher.manifest(reference, &d.digest, &trail).await {
                    Ok(m) => {
                        if let Manifest::Image(m) = &m.value {
                            let sbom = m.layers.iter().any(|l| {
                                l.annotations
                                    .get(PREDICATE_TYPE_ANNOTATION)
                                    .is_some_and(|p| {
                                        ArtifactKind::of_predicate_type(p) == ArtifactKind::Sbom
                                    })
                            });
                            if sbom {
                                found.descriptor(d, ArtifactKind::Sbom, "index");
                            }
                        }
                    }
                    Err(e) => found.failed(&format!("attestation manifest {}", d.digest), &e),
                }
            }
        } else if d.artifact_type.as_deref().is_some_and(|t| !t.is_empty()) {
            let kind = ArtifactKind::of_descriptor(
                d.artifact_type.as_deref(),
                &d.media_type,
                &d.annotations,
            );
            found.descriptor(d, kind, "index");
        }
    }
}

/// The tag schema's tags of `digest`: cosign's, and with `fallback_index` the OCI 1.1 fallback
/// referrers index.
async fn tag_schema(
    fetcher: &Fetcher,
    reference: &Reference,
    digest: &Digest,
    fallback_index: bool,
    found: &mut Found,
) {
    let base = referrers_tag(digest);
    let mut wanted: Vec<(String, Option<ArtifactKind>)> = Vec::new();
    if fallback_index {
        wanted.push((base.clone(), None));
    }
    for suffix in COSIGN_SUFFIXES {
        wanted.push((
            format!("{base}.{suffix}"),
            ArtifactKind::of_cosign_suffix(suffix),
        ));
    }
    let list = match fetcher.tag_list(reference).await {
        Ok(list) => list,
        Err(e) => {
            found.failed(&format!("the tags of {}", reference.name()), &e);
            return;
        }
    };
    let present: HashSet<&str> = list.tags.iter().map(String::as_str).collect();
    for (tag, kind) in wanted {
        // A tag list cut short may lack the tag: it is asked for directly.
        if !present.contains(tag.as_str()) && list.complete {
            continue;
        }
        let Ok(tagged) = reference.with_tag(&tag) else {
            continue;
        };
        let at = format!("tag:{tag}");
        let result = match kind {
            None => fallback_referrers(fetcher, &tagged, &at, found).await,
            Some(kind) => cosign_tag(fetcher, &tagged, kind, &at, found).await,
        };
        match result {
            Err(FetchError::Registry(RegistryError::NotFound { .. })) if !list.complete => {}
            Err(e) => found.failed(&at, &e),
            Ok(()) => {}
        }
    }
}

/// The OCI 1.1 fallback tag `sha256-<hex>`: an index listing the referrers (fetched).
async fn fallback_referrers(
    fetcher: &Fetcher,
    tagged: &Reference,
    at: &str,
    found: &mut Found,
) -> Result<(), FetchError> {
    let fetched = fetcher.client.get_manifest(tagged).await?;
    match &fetched.manifest {
        Manifest::Index(index) => {
            for d in &index.manifests {
                let kind = ArtifactKind::of_descriptor(
                    d.artifact_type.as_deref(),
                    &d.media_type,
                    &d.annotations,
                );
                found.descriptor(d, kind, at);
            }
        }
        // Not an index of referrers: the manifest itself is what the tag holds.
        Manifest::Image(m) => {
            let artifact_type = m.artifact().map(str::to_owned);
            let kind = ArtifactKind::of_media_type(
                artifact_type.as_deref().unwrap_or(&m.config.media_type),
            );
            found.push(SupplyChainArtifact {
                kind,
                digest: fetched.digest.clone(),
                media_type: m.media_type.clone(),
                artifact_type,
                found: at.to_owned(),
            });
        }
    }
    Ok(())
}

/// One of cosign's tags: its digest and media type from a `HEAD` (a `GET` only when the
/// registry sends no digest), nothing fetched.
async fn cosign_tag(
    fetcher: &Fetcher,
    tagged: &Reference,
    kind: ArtifactKind,
    at: &str,
    found: &mut Found,
) -> Result<(), FetchError> {
    let head = fetcher.client.head_manifest(tagged).await?;
    let (digest, media_type) = match head.digest {
        Some(d) => (d, head.media_type.unwrap_or_default()),
        None => {
            let fetched = fetcher.client.get_manifest(tagged).await?;
            (fetched.digest, fetched.manifest.media_type().to_owned())
        }
    };
    let media_type = media_type.split(';').next().unwrap_or("").trim().to_owned();
    found.push(SupplyChainArtifact {
        kind,
        digest,
        media_type,
        artifact_type: None,
        found: at.to_owned(),
    });
    Ok(())
}
