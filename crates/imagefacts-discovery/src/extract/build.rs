//! From the collected records to the [`Discovery`]: owner resolution, image normalisation,
//! deduplication and ordering.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use imagefacts_model::discovery::{
    ContainerType, Discovery, DiscoveryError, ImageUse, LeftOut, NodeImage, NodeInfo, PullFailure,
    RunningDigest, RunningDigestKind, SecretRef, WorkloadRef,
};
use imagefacts_model::reference::Target;
use imagefacts_model::{Digest, ImageRef, Platform, Reference};

use super::image_id::parse_image_id;
use super::object::Meta;
use super::{Extractor, WorkloadRecord, sort_errors};

/// The waiting reasons recorded as pull failures.
const PULL_FAILURE_REASONS: [&str; 3] = ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"];

/// Owner chains longer than this are cut (guards against reference cycles).
const MAX_OWNER_HOPS: usize = 16;

/// A workload container: (namespace, kind, name, container, container type).
type WorkloadKey = (String, String, String, String, ContainerType);

/// Everything known about one image while building.
#[derive(Default)]
struct ImageAcc {
    /// The reference, parsed once (normalised; as written when it does not parse).
    reference: Option<ImageRef>,
    aliases: BTreeSet<String>,
    /// By workload container: the pods, and whether the owner was inferred.
    /// (A list merged when finished, not a map: most images have one or two users, and a map's
    /// first node costs about 1.5 KiB.)
    workloads: Vec<(WorkloadKey, Vec<String>, bool)>,
    running: BTreeMap<(Digest, RunningDigestKind, Option<String>), BTreeSet<String>>,
    failures: BTreeSet<PullFailure>,
    secrets: BTreeSet<SecretRef>,
    platforms: BTreeSet<Platform>,
}

/// Looks owners up by uid, else by namespace + kind + name.
struct Owners<'a> {
    metas: &'a [Meta],
    by_uid: HashMap<&'a str, usize>,
    by_name: HashMap<(&'a str, &'a str, &'a str), usize>,
}

impl<'a> Owners<'a> {
    fn new(metas: &'a [Meta]) -> Owners<'a> {
        let mut by_uid = HashMap::new();
        let mut by_name = HashMap::new();
        for (i, m) in metas.iter().enumerate() {
            if let Some(uid) = &m.uid {
                by_uid.entry(uid.as_str()).or_insert(i);
            }
            by_name
                .entry((m.namespace.as_str(), m.kind.as_str(), m.name.as_str()))
                .or_insert(i);
        }
        Owners {
            metas,
            by_uid,
            by_name,
        }
    }

    /// The top owner of `metas[start]` (itself when it has none). A pod whose ReplicaSet is
    /// missing, named `<deployment>-<template_hash>`, is under that Deployment (inferred).
    fn top(&self, start: usize, template_hash: Option<&str>) -> Top<'a> {
        let mut cur = &self.metas[start];
        let owned = cur.owner.is_some();
        for _ in 0..MAX_OWNER_HOPS {
            let Some(owner) = &cur.owner else {
                break;
            };
            let found = owner
                .uid
                .as_deref()
                .and_then(|uid| self.by_uid.get(uid))
                .or_else(|| {
                    self.by_name.get(&(
                        cur.namespace.as_str(),
                        owner.kind.as_str(),
                        owner.name.as_str(),
                    ))
                })
                .map(|&i| &self.metas[i]);
            match found {
                Some(next) if !std::ptr::eq(next, cur) => cur = next,
                Some(_) => break,
                // An owner we have not seen (not collected, or a custom resource): it is the top,
                // unless it is a ReplicaSet that names its Deployment.
                None => {
                    let deployment = (owner.kind == "ReplicaSet")
                        .then(|| template_hash.filter(|_| std::ptr::eq(cur, &self.metas[start])))
                        .flatten()
                        .and_then(|hash| owner.name.strip_suffix(hash)?.strip_suffix('-'))
                        .filter(|d| !d.is_empty());
                    return match deployment {
                        Some(d) => Top {
                            kind: "Deployment",
                            name: d,
                            owned,
                            inferred: true,
                        },
                        None => Top {
                            kind: owner.kind.as_str(),
                            name: owner.name.as_str(),
                            owned,
                            inferred: false,
                        },
                    };
                }
            }
        }
        Top {
            kind: cur.kind.as_str(),
            name: cur.name.as_str(),
            owned,
            inferred: false,
        }
    }
}

/// The top owner of an object.
struct Top<'a> {
    kind: &'a str,
    name: &'a str,
    /// Whether the object has an owner at all.
    owned: bool,
    /// Whether the top was inferred from a name rather than read.
    inferred: bool,
}

/// Parses image strings once each, caching each distinct spelling.
#[derive(Default)]
struct Normaliser {
    cache: HashMap<String, ImageRef>,
}

impl Normaliser {
    /// The reference an image is listed under: normalised, else the string as written.
    fn key(&mut self, image: &str) -> ImageRef {
        if let Some(k) = self.cache.get(image) {
            return k.clone();
        }
        let key = match Reference::parse(image) {
            Ok(r) => ImageRef::normalised(r),
            Err(_) => ImageRef::parse(image),
        };
        self.cache.insert(image.to_owned(), key.clone());
        key
    }
}

pub(super) fn build(mut x: Extractor) -> Discovery {
    // Each record is dropped once its images are counted, while the images grow.
    let records = std::mem::take(&mut x.workloads);
    let owners = Owners::new(&x.metas);
    let mut images: BTreeMap<String, ImageAcc> = BTreeMap::new();
    let mut normaliser = Normaliser::default();
    for w in records {
        add_workload(&x, &owners, &mut normaliser, &mut images, &w);
    }
    let held = NodeHoldings::new(&x.node_images);
    let images = images
        .into_values()
        .map(|acc| {
            let mut image = finish_image(acc);
            image.node_images = held.of(image.reference.as_str());
            image
        })
        .collect();
    let left_out = x
        .left_out
        .iter()
        .map(|(namespace, images)| LeftOut {
            namespace: namespace.clone(),
            images: images
                .iter()
                .map(|i| normaliser.key(i).as_str().to_owned())
                .collect::<BTreeSet<_>>()
                .len(),
        })
        .filter(|l| l.images > 0)
        .collect();
    let nodes: Vec<NodeInfo> = x
        .nodes
        .iter()
        .map(|(name, platform)| NodeInfo {
            name: name.clone(),
            platform: platform.clone(),
        })
        .collect();
    let cluster_platforms: BTreeSet<Platform> = x.nodes.values().cloned().collect();
    let mut errors: Vec<DiscoveryError> = x.errors.clone();
    sort_errors(&mut errors);
    Discovery {
        images,
        nodes,
        cluster_platforms: cluster_platforms.into_iter().collect(),
        namespaces: x.namespaces.iter().cloned().collect(),
        pull_secrets: x.pull_secrets.iter().cloned().collect(),
        errors,
        left_out,
    }
}

/// What the nodes hold, by the normalised reference their `status.images` names give.
struct NodeHoldings {
    by_reference: HashMap<String, BTreeSet<NodeImage>>,
}

impl NodeHoldings {
    fn new(node_images: &[(String, Vec<String>, Option<i64>)]) -> NodeHoldings {
        let mut by_reference: HashMap<String, BTreeSet<NodeImage>> = HashMap::new();
        for (node, names, size) in node_images {
            let parsed: Vec<Reference> = names
                .iter()
                .filter_map(|n| Reference::parse(n).ok())
                .collect();
            let digest_in = |repo: &str| -> Option<Digest> {
                parsed
                    .iter()
                    .find(|r| r.name() == repo && matches!(r.target(), Target::Digest(_)))
                    .and_then(|r| r.digest().cloned())
            };
            for r in &parsed {
                let digest = match r.target() {
                    Target::Digest(d) => Some(d.clone()),
                    Target::Tag(_) => digest_in(&r.name()),
                };
                by_reference
                    .entry(r.to_string())
                    .or_default()
                    .insert(NodeImage {
                        node: node.clone(),
                        digest,
                        size_bytes: size.and_then(|s| u64::try_from(s).ok()),
                    });
            }
        }
        NodeHoldings { by_reference }
    }

    fn of(&self, reference: &str) -> Vec<NodeImage> {
        self.by_reference
            .get(reference)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

fn add_workload(
    x: &Extractor,
    owners: &Owners<'_>,
    normaliser: &mut Normaliser,
    images: &mut BTreeMap<String, ImageAcc>,
    w: &WorkloadRecord,
) {
    let meta = &x.metas[w.meta];
    let top = owners.top(w.meta, w.template_hash.as_deref());
    let (top_kind, top_name) = (top.kind, top.name);
    // An owned controller scaled to zero is an old revision (a Deployment's previous ReplicaSet).
    if !w.is_pod && top.owned && w.replicas == Some(0) {
        return;
    }
    let ns = meta.namespace.as_str();
    let sa_secrets = x
        .service_accounts
        .get(&(meta.namespace.clone(), w.spec.service_account.clone()))
        .map(Vec::as_slice)
        .unwrap_or_default();
    let secrets: BTreeSet<SecretRef> = w
        .spec
        .pull_secrets
        .iter()
        .chain(sa_secrets)
        .map(|name| SecretRef {
            namespace: ns.to_owned(),
            name: name.clone(),
            cluster: None,
        })
        .collect();
    let platform = w
        .in_cluster
        .then(|| w.spec.node_name.as_ref().and_then(|n| x.nodes.get(n)))
        .flatten();
    let pod_ref = format!("{ns}/{}", meta.name);
    for c in &w.spec.containers {
        let Some(image) = c.image.as_deref().filter(|i| !i.trim().is_empty()) else {
            continue;
        };
        let key = normaliser.key(image);
        let acc = images.entry(key.as_str().to_owned()).or_default();
        if image != key.as_str() {
            acc.aliases.insert(image.to_owned());
        }
        acc.reference.get_or_insert(key);
        let same = |k: &WorkloadKey| {
            k.0 == ns
                && k.1 == top_kind
                && k.2 == top_name
                && k.3 == c.name
                && k.4 == c.container_type
        };
        // The pods of one workload usually come one after another: merged on the way.
        let entry = match acc.workloads.last_mut() {
            Some(last) if same(&last.0) => last,
            _ => {
                let key = (
                    ns.to_owned(),
                    top_kind.to_owned(),
                    top_name.to_owned(),
                    c.name.clone(),
                    c.container_type,
                );
                acc.workloads.push((key, Vec::new(), false));
                acc.workloads.last_mut().expect("just pushed")
            }
        };
        entry.2 |= top.inferred;
        if w.in_cluster {
            entry.1.push(meta.name.clone());
        }
        acc.secrets.extend(secrets.iter().cloned());
        if let Some(p) = platform {
            acc.platforms.insert(p.clone());
        }
        let statuses = w
            .statuses
            .iter()
            .filter(|s| s.name == c.name && s.container_type == c.container_type);
        for s in statuses {
            if let Some(id) = s.image_id.as_deref().and_then(parse_image_id) {
                acc.running
                    .entry((id.digest, id.kind, id.repository))
                    .or_default()
                    .insert(pod_ref.clone());
            }
            if let Some((reason, message)) = &s.waiting
                && PULL_FAILURE_REASONS.contains(&reason.as_str())
            {
                acc.failures.insert(PullFailure {
                    namespace: ns.to_owned(),
                    pod: meta.name.clone(),
                    container: c.name.clone(),
                    reason: reason.clone(),
                    message: message.clone(),
                });
            }
        }
    }
}

fn finish_image(acc: ImageAcc) -> ImageUse {
    let reference = acc
        .reference
        .expect("an image is listed only with its reference");
    let mut image = ImageUse::new(reference);
    image.aliases = acc
        .aliases
        .iter()
        .map(|a| image.reference.respelled(a))
        .collect();
    let mut workloads: BTreeMap<WorkloadKey, (BTreeSet<String>, bool)> = BTreeMap::new();
    for (key, pods, inferred) in acc.workloads {
        let (all, any_inferred) = workloads.entry(key).or_default();
        all.extend(pods);
        *any_inferred |= inferred;
    }
    image.workloads = workloads
        .into_iter()
        .map(
            |((namespace, kind, name, container, container_type), (pods, inferred))| WorkloadRef {
                namespace,
                kind,
                name,
                container,
                container_type,
                pods: pods.into_iter().collect(),
                inferred,
                cluster: None,
            },
        )
        .collect();
    image.running_digests = acc
        .running
        .into_iter()
        .map(|((digest, kind, repository), pods)| RunningDigest {
            digest,
            kind,
            repository,
            pods: pods.into_iter().collect(),
        })
        .collect();
    image.pull_failures = acc.failures.into_iter().collect();
    image.pull_secrets = acc.secrets.into_iter().collect();
    image.node_platforms = acc.platforms.into_iter().collect();
    image
}
