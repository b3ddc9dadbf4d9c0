//! Discovery: which images a Kubernetes cluster uses, by which workloads, running which digests,
//! on which platforms, and which pull failures and pull secrets go with them: before any
//! registry is asked.
//!
//! Three sources produce the same [`Discovery`]:
//!
//! - a live cluster, through the `kube` client ([`discover_cluster`]);
//! - a saved troubleshoot support bundle: [`BundleScan`] takes the files a bundle reader
//!   (`imagefacts-bundle`, the only code that opens archives) offers as it reads the bundle once;
//! - manifest files: multi-document YAML, JSON, `kind: List`, Helm output ([`read_manifests`]).
//!
//! Each reads Kubernetes objects and feeds them to one pure extractor ([`extract`],
//! [`Extractor`]) that deduplicates images by normalised reference and reports each workload
//! under its top owner (Pod → ReplicaSet → Deployment, Pod → Job → CronJob, ...). What one
//! source cannot read (a 403, a malformed file) is a
//! [`DiscoveryError`](imagefacts_model::discovery::DiscoveryError) in the result; only what stops
//! discovery as a whole is a [`DiscoverError`].
//!
//! ```
//! use imagefacts_discovery::{extract, render_table, NamespaceFilter, ObjectOrigin, SourceKind};
//! use serde_json::json;
//!
//! let pod = json!({
//!     "kind": "Pod",
//!     "metadata": {"name": "web-1", "namespace": "shop",
//!         "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9f", "controller": true}]},
//!     "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]},
//!     "status": {"phase": "Running"},
//! });
//! let rs = json!({
//!     "kind": "ReplicaSet",
//!     "metadata": {"name": "web-5d9f", "namespace": "shop",
//!         "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": true}]},
//!     "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
//! });
//! let origin = ObjectOrigin::new(SourceKind::Manifests);
//! let d = extract([(origin.clone(), pod), (origin, rs)], &NamespaceFilter::default());
//! let w = &d.images[0].workloads[0];
//! assert_eq!((w.kind.as_str(), w.name.as_str()), ("Deployment", "web"));
//! assert_eq!(w.pods, ["web-1"]);
//! assert!(render_table(&d).starts_with("IMAGE"));
//! ```

mod bundle;
mod cluster;
mod error;
mod extract;
mod filter;
mod manifests;
pub(crate) mod names;
mod resources;
mod table;
mod view;

use std::path::PathBuf;

use imagefacts_model::discovery::Discovery;

pub use bundle::{BundleScan, MAX_ENTRY_BYTES};
pub use cluster::{
    ClusterOptions, DEFAULT_PAGE_SIZE, PullSecrets, discover_cluster, kubeconfig_contexts,
    load_kubeconfig,
};
pub use error::DiscoverError;
pub use extract::image_id::{ImageId, parse_image_id};
pub use extract::{Extractor, KeptObject, ObjectOrigin, SourceKind, extract};
pub use filter::{NamespaceFilter, glob_match, is_system_namespace};
pub use manifests::{read_manifest_text, read_manifests};
pub use names::valid_namespace;
pub use resources::{WORKLOAD_RESOURCES, WorkloadResource, resource_named, resource_of_kind};
pub use table::render_table;

/// Where to discover images (a support bundle is read by its reader into a [`BundleScan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live cluster.
    Cluster(ClusterOptions),
    /// Manifest files or directories; `-` is standard input.
    Manifests(Vec<PathBuf>),
}

/// What discovery found, and the pull secrets it read (live cluster only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    /// The images and what uses them.
    pub discovery: Discovery,
    /// Docker configs of the pull secrets the pods name, for the registry client; never written out.
    pub pull_secrets: PullSecrets,
    /// The clusters joined into it by [`Discovered::join_cluster`], in order (empty for one
    /// unnamed source).
    pub clusters: Vec<String>,
}

impl Discovered {
    /// Joins what discovery found in `cluster` into this (see [`Discovery::join_cluster`]); its
    /// pull secrets are kept apart from the other clusters' by the cluster's name.
    pub fn join_cluster(&mut self, cluster: &str, other: Discovered) {
        self.discovery.join_cluster(cluster, other.discovery);
        self.clusters.push(cluster.to_owned());
        for (secret, bytes) in other.pull_secrets.iter() {
            let mut secret = secret.clone();
            secret.cluster.get_or_insert_with(|| cluster.to_owned());
            self.pull_secrets.insert(secret, bytes.to_vec());
        }
    }
}

/// Discovers the images of `source` in the namespaces `filter` selects.
///
/// File sources are read on a blocking thread.
///
/// # Errors
///
/// What stops discovery as a whole: an unreadable path, something that is not a support bundle, an
/// unusable kubeconfig, an unreachable or unauthorised API server (see [`DiscoverError`]). Partial
/// failures are recorded in [`Discovery::errors`].
pub async fn discover(
    source: &Source,
    filter: &NamespaceFilter,
) -> Result<Discovered, DiscoverError> {
    Ok(discover_with(source, filter, Extractor::new(filter))
        .await?
        .0)
}

/// [`discover`], also returning every selected object (for writing a new support bundle), each
/// passed through `redact` first.
///
/// # Errors
///
/// As [`discover`].
pub async fn discover_with_objects(
    source: &Source,
    filter: &NamespaceFilter,
    redact: fn(&mut serde_json::Value) -> usize,
) -> Result<(Discovered, Vec<KeptObject>), DiscoverError> {
    discover_with(
        source,
        filter,
        Extractor::new(filter).keeping_objects_with(redact),
    )
    .await
}

async fn discover_with(
    source: &Source,
    filter: &NamespaceFilter,
    x: Extractor,
) -> Result<(Discovered, Vec<KeptObject>), DiscoverError> {
    type Job = Box<dyn FnOnce() -> Result<Extractor, DiscoverError> + Send>;
    let blocking = |f: Job| async move {
        match tokio::task::spawn_blocking(f).await {
            Ok(result) => result.map(|x| {
                let (discovery, kept) = x.finish_with_objects();
                (
                    Discovered {
                        discovery,
                        pull_secrets: PullSecrets::default(),
                        clusters: Vec::new(),
                    },
                    kept,
                )
            }),
            Err(join) => match join.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(DiscoverError::Interrupted),
            },
        }
    };
    match source {
        Source::Cluster(options) => cluster::discover_cluster_with(options, filter, x).await,
        Source::Manifests(paths) => {
            let paths = paths.clone();
            blocking(Box::new(move || manifests::read_manifests_into(&paths, x))).await
        }
    }
}
