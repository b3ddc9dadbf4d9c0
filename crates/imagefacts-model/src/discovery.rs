//! What discovery finds in a cluster, a support bundle or manifest files, before any registry is
//! asked: which images, used by which workloads, running which digests, on which platforms.
//!
//! These types are shared by every discovery source and carried into facts.json.

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::platform::Platform;
use crate::reference::ImageRef;

/// Where discovery read something.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum SourceKind {
    /// A live cluster's API.
    Cluster,
    /// A troubleshoot support bundle.
    Bundle,
    /// Manifest files.
    Manifests,
}

impl SourceKind {
    /// `cluster`, `bundle` or `manifests`, as written in [`DiscoveryError::source`].
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Cluster => "cluster",
            SourceKind::Bundle => "bundle",
            SourceKind::Manifests => "manifests",
        }
    }
}

/// Where in a pod a container is declared.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ContainerType {
    /// `spec.initContainers`.
    Init,
    /// `spec.containers`.
    Regular,
    /// `spec.ephemeralContainers`.
    Ephemeral,
}

/// A workload container that uses an image. A pod owned by a ReplicaSet owned by a Deployment is
/// reported under the Deployment, with the pod's name kept in `pods`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRef {
    /// Namespace (empty for cluster-scoped objects, which hold no pod templates today).
    pub namespace: String,
    /// Top owner kind (`Deployment`, `StatefulSet`, `DaemonSet`, `CronJob`, `Job`, `ReplicaSet`,
    /// `ReplicationController`, `Pod`, or the kind of a manifest object holding a pod template).
    pub kind: String,
    /// Top owner name.
    pub name: String,
    /// Container name.
    pub container: String,
    /// Which list of the pod spec the container is in.
    pub container_type: ContainerType,
    /// Names of the pods behind this workload (detail): pods that exist in the cluster, i.e. that
    /// have a `status`; empty for templates without pods and for pods declared in manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
    /// Set when the owner was inferred, not read: a pod owned by a ReplicaSet missing from the
    /// source, named `<deployment>-<pod-template-hash>`, is reported under that Deployment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
    /// The cluster (kubeconfig context or `--cluster-name`) it was found in, when a run or a
    /// `merge` covers several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// How a runtime reported what it runs (`status.containerStatuses[].imageID`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum RunningDigestKind {
    /// A repository digest (`repo@sha256:…`, `docker-pullable://repo@sha256:…`): a manifest digest.
    RepoDigest,
    /// A local image ID (`docker://sha256:…`, bare `sha256:…`): the config digest, not a manifest digest.
    ImageId,
}

/// A digest that actually runs, from pod status.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct RunningDigest {
    /// `sha256:<hex>`.
    pub digest: Digest,
    /// Whether it is a manifest (repo) digest or a local image/config ID.
    pub kind: RunningDigestKind,
    /// The repository the runtime names for a repo digest (`docker.io/library/nginx`), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `namespace/pod` of every pod reporting it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
}

/// A container that cannot pull its image (`ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct PullFailure {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// The waiting reason.
    pub reason: String,
    /// The kubelet's message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// A pull secret an image would be pulled with (its name only: secrets are never written out).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// Namespace of the secret.
    pub namespace: String,
    /// Secret name.
    pub name: String,
    /// The cluster (kubeconfig context or `--cluster-name`) it was found in, when a run or a
    /// `merge` covers several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// Everything discovery knows about one image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUse {
    /// The normalised reference (`docker.io/library/nginx:1.25`), parsed once here; a reference
    /// that does not parse is kept exactly as written, so it still shows up (with its pull
    /// failures).
    pub reference: ImageRef,
    /// Other spellings of the same normalised reference (`nginx` beside `docker.io/library/nginx:latest`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<ImageRef>,
    /// Who uses it.
    #[serde(default)]
    pub workloads: Vec<WorkloadRef>,
    /// What actually runs, from pod status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_digests: Vec<RunningDigest>,
    /// Containers failing to pull it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_failures: Vec<PullFailure>,
    /// Pull secrets the pods using it name (directly or through their service account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<SecretRef>,
    /// Platforms of the nodes its pods run on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_platforms: Vec<Platform>,
    /// The nodes holding it (from their `status.images`): the digest each holds and its size on
    /// the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_images: Vec<NodeImage>,
}

/// An image a node holds, as the node reports it (`status.images[]`).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NodeImage {
    /// Node name.
    pub node: String,
    /// The manifest digest the node holds under this reference's repository, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<crate::Digest>,
    /// The size the node reports for it (`sizeBytes`: the runtime's own measure, not the
    /// registry's compressed layer sizes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// Workloads of a namespace the namespace filter left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeftOut {
    /// The namespace.
    pub namespace: String,
    /// How many distinct images its workloads use.
    pub images: usize,
}

impl ImageUse {
    /// A use of `reference` with nothing recorded yet.
    pub fn new(reference: ImageRef) -> ImageUse {
        ImageUse {
            reference,
            aliases: Vec::new(),
            workloads: Vec::new(),
            running_digests: Vec::new(),
            pull_failures: Vec::new(),
            pull_secrets: Vec::new(),
            node_platforms: Vec::new(),
            node_images: Vec::new(),
        }
    }

    /// Whether the nodes hold this reference at more than one digest (the same tag runs
    /// different builds).
    pub fn node_digests_differ(&self) -> bool {
        let mut digests = self.node_images.iter().filter_map(|n| n.digest.as_ref());
        let first = digests.next();
        digests.any(|d| Some(d) != first)
    }

    /// Distinct namespaces of the workloads.
    pub fn namespaces(&self) -> Vec<&str> {
        let mut ns: Vec<&str> = self
            .workloads
            .iter()
            .map(|w| w.namespace.as_str())
            .collect();
        ns.sort_unstable();
        ns.dedup();
        ns
    }
}

/// A node and its platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    /// Node name.
    pub name: String,
    /// `status.nodeInfo.operatingSystem/architecture` (or the `kubernetes.io/os|arch` labels).
    pub platform: Platform,
}

/// Something discovery could not read; the rest went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryError {
    /// `cluster`, `bundle` or `manifests`.
    pub source: SourceKind,
    /// The file (inside a bundle or on disk), for file sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The 1-based index of the document within a multi-document manifest file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// The namespace, when the error is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The resource (`pods`, `secrets`, ...), for API errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The verb denied (`list`, `get`), for API errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    /// The HTTP status, for API errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong.
    pub message: String,
    /// The cluster (kubeconfig context or `--cluster-name`) it was found in, when a run or a
    /// `merge` covers several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// A pull secret that exists in the cluster, by name, with the registries it holds credentials
/// for (never the credentials themselves).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct PullSecretInfo {
    /// Namespace of the secret.
    pub namespace: String,
    /// Secret name.
    pub name: String,
    /// Registry keys of its docker config (`registry.example.com`, `https://index.docker.io/v1/`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<String>,
    /// The cluster (kubeconfig context or `--cluster-name`) it was found in, when a run or a
    /// `merge` covers several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// The result of discovery from any source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    /// One entry per distinct normalised reference, sorted by reference.
    pub images: Vec<ImageUse>,
    /// The nodes seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeInfo>,
    /// Distinct platforms of the nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_platforms: Vec<Platform>,
    /// The namespaces looked at (after the namespace filter), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Pull secrets known to exist (from a bundle's `image-pull-secrets/` or read from the cluster),
    /// names and registries only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<PullSecretInfo>,
    /// What could not be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<DiscoveryError>,
    /// Namespaces whose workloads the namespace filter left out, with how many images they use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<LeftOut>,
}
