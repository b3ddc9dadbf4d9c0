//! The `facts.json` types: a superset of upstream troubleshoot's `FactsBundle` and `ImageFacts`.
//!
//! Field names follow upstream (`repository`, `tag`, `digest`, `registry`, `size`, `created`,
//! `labels`, `platform`, `mediaType`, `schemaVersion`, `layers`, `config`, `collectedAt`,
//! `source`, `error`); what upstream lacks is added beside (`reference`, `platforms`,
//! `attestations`, `buildInfo`, `manifestDigest`, `configDigest`, `errorDetail`). A superset never
//! changes the JSON type of an upstream field: `error` is upstream's one-line string, and the
//! typed error behind it is `errorDetail` beside it (see [`Failure`]); `created` is always
//! RFC 3339; `config.exposedPorts` and `config.volumes` map to empty objects, as Go's
//! `map[string]struct{}` expects; sizes fit int64.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::digest::Digest;
use crate::discovery::{
    DiscoveryError, NodeImage, PullFailure, PullSecretInfo, RunningDigest, SecretRef, WorkloadRef,
};
use crate::platform::Platform;
use crate::reference::ImageRef;

pub mod supply_chain;
pub use supply_chain::{
    ArtifactKind, SupplyChain, SupplyChainArtifact, SupplyChainMethod, SupplyChainSummary,
    is_referrers_tag, referrers_tag,
};

/// Format version written in [`FactsFile::version`].
pub const FACTS_VERSION: &str = "v1";

/// A whole `facts.json` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FactsFile {
    /// Always `"v1"`.
    #[schemars(extend("const" = "v1"))]
    pub version: String,
    /// When the file was generated.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub generated_at: OffsetDateTime,
    /// Upstream writes one file per namespace and names it here; absent for a cluster-wide file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// One entry per image reference.
    pub image_facts: Vec<ImageFacts>,
    /// Totals over `image_facts`.
    pub summary: Summary,
    /// Distinct platforms of the cluster's nodes (from discovery).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_platforms: Vec<Platform>,
    /// What discovery could not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discovery_errors: Vec<DiscoveryError>,
    /// The pull secrets the source holds, by namespace and name, with the registries each
    /// covers (never their contents): what the analyzers need to tell "no pull secret for this
    /// registry in this namespace".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<PullSecretInfo>,
    /// The clusters the file covers, when a run over several kubeconfig contexts or a `merge`
    /// wrote it (each entry and workload names its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
}

impl FactsFile {
    /// Redacts every entry and discovery error ([`crate::redact::redact_facts_file`]) and
    /// records the count in the summary.
    pub fn redact(&mut self) {
        self.summary.redactions += crate::redact::redact_facts_file(self);
    }

    /// A file holding `image_facts`, with its summary computed.
    pub fn new(generated_at: OffsetDateTime, image_facts: Vec<ImageFacts>) -> FactsFile {
        let summary = Summary::of(&image_facts);
        FactsFile {
            version: FACTS_VERSION.to_owned(),
            generated_at,
            namespace: None,
            image_facts,
            summary,
            cluster_platforms: Vec::new(),
            discovery_errors: Vec::new(),
            pull_secrets: Vec::new(),
            clusters: Vec::new(),
        }
    }
}

/// Facts about one image reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageFacts {
    /// The reference as it was written (in a pod spec, a manifest or on the command line).
    pub reference: ImageRef,
    /// Registry host (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`library/nginx`).
    pub repository: String,
    /// Tag, empty when the reference names only a digest.
    #[serde(default)]
    pub tag: String,
    /// What the reference resolves to: the index digest for a multi-platform image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    /// Digest of the primary platform's image manifest (equals `digest` for a single-platform image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    /// Digest of the primary platform's config blob (the image ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// Media type of the manifest `digest` names.
    #[serde(default)]
    pub media_type: String,
    /// Schema version of that manifest.
    #[serde(default)]
    pub schema_version: u32,
    /// Sum of the primary platform's compressed layer sizes, in bytes.
    #[serde(default)]
    #[schemars(range(max = crate::manifest::MAX_SIZE))]
    pub size: u64,
    /// Creation time from the primary platform's config, in canonical RFC 3339 (as Go's
    /// `time.Time` reads it); absent when the config has none or an unreadable one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub created: Option<String>,
    /// Labels of the primary platform's config.
    // Shared (`Arc`) by every entry of one config: 20,000 tags of one image hold one map.
    #[serde(default)]
    pub labels: Arc<BTreeMap<String, String>>,
    /// The primary platform.
    #[serde(default)]
    pub platform: Platform,
    /// The primary platform's layers, base first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Layer>,
    /// The primary platform's runtime configuration.
    // Shared by every entry of one config, as `labels`.
    #[serde(default)]
    pub config: Arc<ConfigFacts>,
    /// Every platform of a multi-platform image (empty for a single-platform image).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformFacts>,
    /// Children of an index that are not runnable images (attestations, `unknown/unknown`); listed, not fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<AttestationRef>,
    /// Build provenance from OCI annotations and labels.
    #[serde(default, skip_serializing_if = "BuildInfo::is_empty")]
    pub build_info: BuildInfo,
    /// Where the tag points now, when the facts are of a digest the reference pins beside its tag
    /// or the cluster reports running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_digest: Option<Digest>,
    /// Whether the tag has moved away from that digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_drift: Option<bool>,
    /// The workloads using this image (from discovery).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<WorkloadRef>,
    /// The clusters whose workloads use it, when the file covers several (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<String>,
    /// The digests that actually run (from pod status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub running_digests: Vec<RunningDigest>,
    /// Containers failing to pull this image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_failures: Vec<PullFailure>,
    /// Pull secrets the pods using this image name (names only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<SecretRef>,
    /// Platforms of the nodes running this image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_platforms: Vec<Platform>,
    /// The nodes holding this image (from the bundle's or cluster's node status): the digest
    /// each holds and its size there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_images: Vec<NodeImage>,
    /// Set when the nodes hold this reference at different digests (one tag, several builds).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub node_digests_differ: bool,
    /// The manifest is an OCI artifact, not an image: its `artifactType` (or its config media
    /// type when that is not an image config's). Such an entry has no platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifest an artifact describes (`subject`), when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Digest>,
    /// Signatures, attestations and SBOMs found beside the image (`--supply-chain`).
    // Boxed, as `error` and `fallback_reason`, rarely set: an entry stays small (20,000 of them
    // are held until a run ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_chain: Option<Box<SupplyChain>>,
    /// When the tag does not exist: the repository's existing tags nearest to it (at most 5,
    /// nearest first), when the tag list could be read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nearest_tags: Vec<String>,
    /// When these facts were collected.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub collected_at: OffsetDateTime,
    /// Where the facts came from (see [`FactsSource`]).
    #[serde(default)]
    pub source: FactsSource,
    /// Which credential the registry was asked with: its kind and non-secret identity
    /// (`pullSecret:shop/regcred`, `dockerConfig:<path>`, `credHelper:ecr-login`, `anonymous`);
    /// on an `auth` failure, the one refused last. Absent when no request was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_source: Option<String>,
    /// The endpoint that answered (`https://host[:port]`): the registry itself, or the mirror
    /// a route sent the request to. Absent when no request was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Why collection failed, when it did: written as upstream's `error` string and the typed
    /// `errorDetail` beside it.
    #[serde(flatten)]
    pub error: Failure,
    /// Set when `error` is set and the facts obtained before the failing step are kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
    /// Why these facts come from the cache (`source: "cache"`, `--fallback cached`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<Box<FactsError>>,
}

impl ImageFacts {
    /// An entry with only identity fields set, for the collector to fill in.
    pub fn empty(
        reference: ImageRef,
        registry: &str,
        repository: &str,
        collected_at: OffsetDateTime,
    ) -> ImageFacts {
        ImageFacts {
            reference,
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: String::new(),
            digest: None,
            manifest_digest: None,
            config_digest: None,
            media_type: String::new(),
            schema_version: 0,
            size: 0,
            created: None,
            labels: Arc::default(),
            platform: Platform::default(),
            layers: Vec::new(),
            config: Arc::default(),
            platforms: Vec::new(),
            attestations: Vec::new(),
            build_info: BuildInfo::default(),
            tag_digest: None,
            tag_drift: None,
            workloads: Vec::new(),
            clusters: Vec::new(),
            running_digests: Vec::new(),
            pull_failures: Vec::new(),
            pull_secrets: Vec::new(),
            node_platforms: Vec::new(),
            node_images: Vec::new(),
            node_digests_differ: false,
            artifact_type: None,
            subject: None,
            supply_chain: None,
            nearest_tags: Vec::new(),
            collected_at,
            source: FactsSource::Registry,
            auth_source: None,
            endpoint: None,
            error: Failure::none(),
            partial: false,
            fallback_reason: None,
        }
    }
}

/// Where an entry's facts came from: upstream's `source` string (`registry`, `cache` or
/// `bundle`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
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
pub enum FactsSource {
    /// The registry answered about this reference in this run.
    #[default]
    Registry,
    /// Only the on-disk cache did (`--offline`, a tag trusted within `--cache-ttl`, or
    /// `--fallback cached`); `collectedAt` is then when the cache learnt it.
    Cache,
    /// Neither could: the entry holds only what the bundle or cluster itself proves (the digest
    /// that runs, the nodes holding it).
    Bundle,
}

impl FactsSource {
    /// `registry`, `cache` or `bundle`.
    pub fn as_str(self) -> &'static str {
        match self {
            FactsSource::Registry => "registry",
            FactsSource::Cache => "cache",
            FactsSource::Bundle => "bundle",
        }
    }
}

/// One layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    /// Layer digest (of the compressed blob).
    pub digest: Digest,
    /// Compressed size in bytes.
    #[schemars(range(max = crate::manifest::MAX_SIZE))]
    pub size: u64,
    /// Layer media type.
    pub media_type: String,
}

/// The runtime configuration of an image, upstream's `config` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigFacts {
    /// User.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Exposed ports, as `{"80/tcp": {}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, Empty>,
    /// Environment (`KEY=value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Default arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cmd: Vec<String>,
    /// Volumes, as `{"/data": {}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Empty>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub working_dir: String,
}

/// Facts about one platform of a multi-platform image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformFacts {
    /// The platform, from the index.
    pub platform: Platform,
    /// Digest of this platform's manifest.
    pub manifest_digest: Digest,
    /// Media type of this platform's manifest.
    pub media_type: String,
    /// Digest of this platform's config blob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<Digest>,
    /// Sum of this platform's layer sizes.
    #[serde(default)]
    #[schemars(range(max = crate::manifest::MAX_SIZE))]
    pub size: u64,
    /// Creation time from this platform's config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Layers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Layer>,
    /// Runtime configuration.
    #[serde(default)]
    pub config: Arc<ConfigFacts>,
    /// Labels.
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub labels: Arc<BTreeMap<String, String>>,
    /// Whether this is the primary platform whose facts fill the top-level fields.
    #[serde(default)]
    pub primary: bool,
    /// Why this platform's facts are missing, when they are (`error` and `errorDetail`).
    #[serde(flatten)]
    pub error: Failure,
    /// Set when this platform was listed from the index but not fetched (past `--max-platforms`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_fetched: bool,
}

/// A child of an index that is not a runnable image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttestationRef {
    /// Digest of the child manifest.
    pub manifest_digest: Digest,
    /// Media type of the child manifest.
    pub media_type: String,
    /// Size of the child manifest.
    #[schemars(range(max = crate::manifest::MAX_SIZE))]
    pub size: u64,
    /// `vnd.docker.reference.type` (e.g. `attestation-manifest`), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_type: Option<String>,
    /// The manifest this child describes (`vnd.docker.reference.digest`), when present and a
    /// digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attests: Option<Digest>,
}

/// Build provenance from the OCI annotations and labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// `org.opencontainers.image.source`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `org.opencontainers.image.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `org.opencontainers.image.created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

impl BuildInfo {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == BuildInfo::default()
    }

    /// Reads build info from maps in order of precedence (manifest annotations before labels, say).
    pub fn from_maps(maps: &[&BTreeMap<String, String>]) -> BuildInfo {
        let get = |key: &str| {
            maps.iter()
                .find_map(|m| m.get(key).filter(|v| !v.is_empty()).cloned())
        };
        BuildInfo {
            source: get("org.opencontainers.image.source"),
            revision: get("org.opencontainers.image.revision"),
            version: get("org.opencontainers.image.version"),
            created: get("org.opencontainers.image.created"),
        }
    }
}

/// The class of a collection failure.
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
pub enum ErrorKind {
    /// Credentials missing or refused (401, 403).
    Auth,
    /// The repository, tag or digest does not exist.
    NotFound,
    /// The registry refused for too many requests (429).
    RateLimited,
    /// Connection failed (DNS, refused, reset).
    Network,
    /// TLS handshake or certificate verification failed.
    Tls,
    /// A request or the run's deadline timed out.
    Timeout,
    /// A manifest format imagefacts does not support (schema 1, unknown media type).
    Unsupported,
    /// The reference is not a valid image reference.
    InvalidReference,
    /// Content did not match its digest.
    DigestMismatch,
    /// Content exceeded its size cap.
    TooLarge,
    /// The registry answered with an unexpected error or malformed content.
    Server,
    /// `--offline`, and the cache does not hold what the facts need.
    NotCached,
    /// A manifest, index or config that is not valid JSON or lacks required fields.
    InvalidManifest,
    /// An index with no child for the platform asked for, or with artifacts and unknown
    /// platforms only.
    NoRunnablePlatform,
    /// A route forbids the pull (registries.conf `blocked`) or leaves no endpoint for it; no
    /// request was made.
    Blocked,
}

impl ErrorKind {
    /// The camelCase name used in facts.json.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "notFound",
            ErrorKind::RateLimited => "rateLimited",
            ErrorKind::Network => "network",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::InvalidReference => "invalidReference",
            ErrorKind::DigestMismatch => "digestMismatch",
            ErrorKind::TooLarge => "tooLarge",
            ErrorKind::Server => "server",
            ErrorKind::NotCached => "notCached",
            ErrorKind::InvalidManifest => "invalidManifest",
            ErrorKind::NoRunnablePlatform => "noRunnablePlatform",
            ErrorKind::Blocked => "blocked",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::Auth,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::Network,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Unsupported,
        ErrorKind::InvalidReference,
        ErrorKind::DigestMismatch,
        ErrorKind::TooLarge,
        ErrorKind::Server,
        ErrorKind::NotCached,
        ErrorKind::InvalidManifest,
        ErrorKind::NoRunnablePlatform,
        ErrorKind::Blocked,
    ];
}

/// The step of collecting an image that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    /// Parsing the reference.
    Reference,
    /// Resolving the tag to a digest.
    Resolve,
    /// Fetching the manifest or index the reference names.
    Manifest,
    /// Fetching one platform's manifest from an index.
    PlatformManifest,
    /// Fetching the image config blob.
    Config,
    /// Choosing the platform of an index.
    Platform,
    /// Confirming with the registry that cached content still stands.
    Confirm,
    /// Waiting for the run's deadline.
    Deadline,
}

/// A typed collection error, as written in facts.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FactsError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// A one-line human explanation (never contains credentials).
    pub message: String,
    /// Whether trying again later may succeed.
    pub retryable: bool,
    /// The HTTP status, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The registry's error code (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, ...), when it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// How many attempts were made, when the failure was retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// The step that failed, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

impl FactsError {
    /// An error of `kind` with `message`, nothing else known.
    pub fn new(kind: ErrorKind, message: impl Into<String>, retryable: bool) -> FactsError {
        FactsError {
            kind,
            message: message.into(),
            retryable,
            status: None,
            code: None,
            attempts: None,
            step: None,
        }
    }

    /// This error, marked as failing at `step` (a step already recorded is kept).
    pub fn at(mut self, step: Step) -> FactsError {
        self.step.get_or_insert(step);
        self
    }
}

/// An entry's failure: in JSON, upstream's `error` string (the one-line message) and beside it
/// `errorDetail`, the typed [`FactsError`] whose `message` it is. Both are absent when nothing
/// failed. Files written before `errorDetail` existed held the typed error in `error` itself;
/// they are read as well. The error is boxed: most entries have none, and each stays small.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure(pub Option<Box<FactsError>>);

impl Failure {
    /// No failure.
    pub const fn none() -> Failure {
        Failure(None)
    }

    /// The typed error, when there is one.
    pub fn get(&self) -> Option<&FactsError> {
        self.0.as_deref()
    }

    /// Whether something failed.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }

    /// Whether nothing failed.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl From<FactsError> for Failure {
    fn from(e: FactsError) -> Failure {
        Failure(Some(Box::new(e)))
    }
}

impl From<Option<FactsError>> for Failure {
    fn from(e: Option<FactsError>) -> Failure {
        Failure(e.map(Box::new))
    }
}

impl Serialize for Failure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(if self.0.is_some() { 2 } else { 0 }))?;
        if let Some(e) = &self.0 {
            map.serialize_entry("error", &e.message)?;
            map.serialize_entry("errorDetail", e)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Failure {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Failure, D::Error> {
        /// `error` as written now (a string) or before `errorDetail` (the typed object).
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum ErrorField {
            Message(String),
            Typed(FactsError),
        }
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Failure;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an entry's `error` and `errorDetail`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Failure, A::Error> {
                let (mut error, mut detail) = (None, None::<FactsError>);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "error" => error = map.next_value::<Option<ErrorField>>()?,
                        "errorDetail" => detail = map.next_value()?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                match (error, detail) {
                    (_, Some(d)) => Ok(Failure::from(d)),
                    (Some(ErrorField::Typed(d)), None) => Ok(Failure::from(d)),
                    (Some(ErrorField::Message(m)), None) => Err(serde::de::Error::custom(format!(
                        "`error` {m:?} has no `errorDetail` beside it"
                    ))),
                    (None, None) => Ok(Failure(None)),
                }
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

impl schemars::JsonSchema for Failure {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Failure".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let detail = generator.subschema_for::<FactsError>();
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "error": {
                    "description": "Why collection failed: upstream's one-line message, equal to `errorDetail.message`.",
                    "type": "string"
                },
                "errorDetail": detail
            },
            "dependentRequired": {
                "error": ["errorDetail"],
                "errorDetail": ["error"]
            }
        })
    }
}

/// `{}`: the value of a Go `map[string]struct{}` entry (`exposedPorts`, `volumes`). Any value is
/// read (and forgotten); `{}` is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Empty {}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Empty, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Empty {})
    }
}

/// The shape of a facts.json file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `error` a string, the typed error in `errorDetail` (what is written now).
    Current,
    /// Written before `errorDetail` existed: the typed error object in `error` itself.
    ErrorObjects,
}

/// Rewrites `file` (a parsed facts.json) into the [`Shape::Current`] shape in place, and says
/// which shape it had: each typed `error` object (of an entry or a platform) moves to
/// `errorDetail`, and `error` becomes its message.
pub fn upgrade(file: &mut serde_json::Value) -> Shape {
    fn fix(entry: &mut serde_json::Value) -> bool {
        let Some(obj) = entry.as_object_mut() else {
            return false;
        };
        if !obj.get("error").is_some_and(serde_json::Value::is_object) {
            return false;
        }
        let detail = obj.remove("error").unwrap_or_default();
        let message = detail.get("message").cloned().unwrap_or_default();
        obj.insert("error".to_owned(), message);
        obj.insert("errorDetail".to_owned(), detail);
        true
    }
    let mut upgraded = false;
    let entries = file
        .get_mut("imageFacts")
        .and_then(serde_json::Value::as_array_mut);
    for entry in entries.into_iter().flatten() {
        upgraded |= fix(entry);
        let platforms = entry
            .get_mut("platforms")
            .and_then(serde_json::Value::as_array_mut);
        for p in platforms.into_iter().flatten() {
            upgraded |= fix(p);
        }
    }
    if upgraded {
        Shape::ErrorObjects
    } else {
        Shape::Current
    }
}

/// `created` as a Go `time.Time` reads it: `text` parsed as RFC 3339 and written back in its
/// canonical form (`2024-05-01T12:00:00Z`), or `None` when it is not RFC 3339 at all.
pub fn rfc3339(text: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    t.format(&Rfc3339).ok()
}

/// A registry's announced pull rate limit (Docker Hub's `ratelimit-limit`/`ratelimit-remaining`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Pulls allowed per window.
    pub limit: u64,
    /// Pulls left in the current window, as last seen.
    pub remaining: u64,
    /// Window length in seconds, when announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<u64>,
}

/// Totals over a facts file, upstream's `summary` plus error classes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of entries.
    pub total_images: usize,
    /// Number of distinct registries.
    pub unique_registries: usize,
    /// Number of distinct registry/repository pairs.
    pub unique_repositories: usize,
    /// Sum of `size` over entries with distinct digests.
    #[schemars(range(max = crate::manifest::MAX_SIZE))]
    pub total_size: u64,
    /// Number of entries carrying an error.
    pub collection_errors: usize,
    /// Error count per class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_kind: BTreeMap<ErrorKind, usize>,
    /// Error count per registry and class.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_registry: BTreeMap<String, BTreeMap<ErrorKind, usize>>,
    /// Entries whose registry answered in this run (`source: "registry"`).
    #[serde(default)]
    pub from_registry: usize,
    /// Entries answered by the cache alone (`source: "cache"`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub from_cache: usize,
    /// Entries holding only what the bundle or cluster proves (`source: "bundle"`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub from_bundle: usize,
    /// Pull rate limits the registries announced, by registry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rate_limits: BTreeMap<String, RateLimit>,
    /// Values hidden by redaction, each counted once: by name (secret-looking env variables,
    /// labels, annotations), and by value in every free string (URL userinfo, signed-URL
    /// parameters, `Authorization` credentials, secret options and `-D…password=` properties in
    /// entrypoint, cmd and env). 0 with `--no-redact`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redactions: usize,
    /// Supply-chain totals (`--supply-chain`): entries looked at, signed, attested, with an
    /// SBOM; absent when no entry was looked at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supply_chain: Option<SupplyChainSummary>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn is_empty_map(m: &Arc<BTreeMap<String, String>>) -> bool {
    m.is_empty()
}

impl Summary {
    /// Computes the summary of `facts`.
    pub fn of(facts: &[ImageFacts]) -> Summary {
        // An entry whose reference does not parse has no registry: it counts in no registry
        // or repository total.
        let real = |f: &&ImageFacts| !f.registry.is_empty();
        let registries: BTreeSet<&str> = facts
            .iter()
            .filter(real)
            .map(|f| f.registry.as_str())
            .collect();
        let repositories: BTreeSet<(&str, &str)> = facts
            .iter()
            .filter(real)
            .map(|f| (f.registry.as_str(), f.repository.as_str()))
            .collect();
        let mut seen = BTreeSet::new();
        let total_size = crate::manifest::sum_sizes(
            facts
                .iter()
                .filter(|f| f.digest.as_ref().is_none_or(|d| seen.insert(d.clone())))
                .map(|f| f.size),
        );
        let mut errors_by_kind = BTreeMap::new();
        let mut errors_by_registry: BTreeMap<String, BTreeMap<ErrorKind, usize>> = BTreeMap::new();
        for f in facts {
            if let Some(e) = f.error.get() {
                *errors_by_kind.entry(e.kind).or_insert(0) += 1;
                if f.registry.is_empty() {
                    continue;
                }
                *errors_by_registry
                    .entry(f.registry.clone())
                    .or_default()
                    .entry(e.kind)
                    .or_insert(0) += 1;
            }
        }
        Summary {
            total_images: facts.len(),
            unique_registries: registries.len(),
            unique_repositories: repositories.len(),
            total_size,
            collection_errors: facts.iter().filter(|f| f.error.is_some()).count(),
            errors_by_kind,
            errors_by_registry,
            from_registry: facts
                .iter()
                .filter(|f| f.source == FactsSource::Registry)
                .count(),
            from_cache: facts
                .iter()
                .filter(|f| f.source == FactsSource::Cache)
                .count(),
            from_bundle: facts
                .iter()
                .filter(|f| f.source == FactsSource::Bundle)
                .count(),
            rate_limits: BTreeMap::new(),
            redactions: 0,
            supply_chain: SupplyChainSummary::of(
                facts.iter().filter_map(|f| f.supply_chain.as_deref()),
            ),
        }
    }
}

/// The JSON Schema (draft 2020-12) of a facts.json file, generated from these types: the
/// published specification of the format (`schema/facts.v1.schema.json`).
pub fn facts_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(FactsFile))
        .expect("a generated schema serialises");
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), "urn:imagefacts:facts:v1".into());
        obj.insert("title".into(), "imagefacts facts.json v1".into());
    }
    schema
}

#[cfg(test)]
mod tests;
