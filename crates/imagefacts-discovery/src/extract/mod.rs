//! The pure extractor: Kubernetes objects (as JSON) in, one deduplicated [`Discovery`] out.
//!
//! Every source (cluster, bundle, manifests) reads objects and hands them here with an
//! [`ObjectOrigin`]; nothing in this module does I/O, so it is tested with tables of JSON and
//! never panics on odd input (a field of the wrong type counts as absent).

mod build;
pub(crate) mod image_id;
mod object;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use imagefacts_model::Platform;
use imagefacts_model::discovery::{Discovery, DiscoveryError, PullSecretInfo};
use serde_json::Value;

use crate::filter::NamespaceFilter;
use object::{Meta, PodSpec, Status, str_at};

/// Which kind of source an object or error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

/// Where an object was read, and what to assume when the object does not say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectOrigin {
    /// The source kind.
    pub source: SourceKind,
    /// The file it was read from (inside the bundle, or on disk).
    pub path: Option<String>,
    /// The 1-based document index within a multi-document file.
    pub document: Option<usize>,
    /// The kind to assume when the object has no `kind` (items of API and bundle lists have none).
    pub kind: Option<String>,
    /// The namespace to assume when the object has no `metadata.namespace` (the file name of a
    /// bundle's `pods/<ns>.json`; `default` for manifests).
    pub namespace: Option<String>,
}

impl ObjectOrigin {
    /// An origin in `source` with nothing else known.
    pub fn new(source: SourceKind) -> ObjectOrigin {
        ObjectOrigin {
            source,
            path: None,
            document: None,
            kind: None,
            namespace: None,
        }
    }

    /// A discovery error about this origin.
    pub(crate) fn error(&self, message: impl Into<String>) -> DiscoveryError {
        DiscoveryError {
            source: self.source.as_str().to_owned(),
            path: self.path.clone(),
            document: self.document,
            namespace: None,
            resource: None,
            verb: None,
            status: None,
            message: message.into(),
        }
    }
}

/// A pod, or an object holding a pod template.
#[derive(Debug, Clone)]
struct WorkloadRecord {
    /// Index into [`Extractor::metas`].
    meta: usize,
    is_pod: bool,
    /// A pod with a `status`: one that exists in a cluster (not a pod declared in a manifest).
    in_cluster: bool,
    spec: PodSpec,
    statuses: Vec<Status>,
    /// `spec.replicas`, when given.
    replicas: Option<i64>,
}

/// Lists nested deeper than this are not unwrapped (guards the recursion on hostile input).
const MAX_LIST_DEPTH: usize = 8;

/// Collects objects one by one, then builds the [`Discovery`].
///
/// Objects of namespaces the filter does not select are dropped as they come; only the few fields
/// discovery needs are kept, so a large bundle does not stay in memory as JSON.
///
/// ```
/// use imagefacts_discovery::{Extractor, NamespaceFilter, ObjectOrigin, SourceKind};
/// use serde_json::json;
///
/// let mut x = Extractor::new(&NamespaceFilter::default());
/// x.add(&ObjectOrigin::new(SourceKind::Manifests), json!({
///     "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
///     "spec": {"containers": [{"name": "c", "image": "nginx"}]}
/// }));
/// let d = x.finish();
/// assert_eq!(d.images[0].reference, "docker.io/library/nginx:latest");
/// assert_eq!(d.images[0].aliases, ["nginx"]);
/// ```
#[derive(Debug, Clone)]
pub struct Extractor {
    filter: NamespaceFilter,
    metas: Vec<Meta>,
    workloads: Vec<WorkloadRecord>,
    nodes: BTreeMap<String, Platform>,
    service_accounts: HashMap<(String, String), Vec<String>>,
    namespaces: BTreeSet<String>,
    pull_secrets: BTreeSet<PullSecretInfo>,
    errors: Vec<DiscoveryError>,
    kept: Option<Vec<KeptObject>>,
}

/// An object read by a source and selected by the filter, kept to be written out again (into a
/// new support bundle): its kind, its namespace (`None` for cluster-scoped kinds) and the object.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptObject {
    /// The object's kind (`Pod`, `Deployment`, `Node`, ...).
    pub kind: String,
    /// Its namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// The object as read.
    pub object: Value,
}

impl Extractor {
    /// An extractor keeping the namespaces `filter` selects.
    pub fn new(filter: &NamespaceFilter) -> Extractor {
        Extractor {
            filter: filter.clone(),
            metas: Vec::new(),
            workloads: Vec::new(),
            nodes: BTreeMap::new(),
            service_accounts: HashMap::new(),
            namespaces: BTreeSet::new(),
            pull_secrets: BTreeSet::new(),
            errors: Vec::new(),
            kept: None,
        }
    }

    /// Also keeps every selected object, for [`Extractor::finish_with_objects`].
    pub fn keeping_objects(mut self) -> Extractor {
        self.kept = Some(Vec::new());
        self
    }

    fn keep(&mut self, kind: &str, namespace: Option<&str>, obj: &Value) {
        if let Some(kept) = &mut self.kept {
            kept.push(KeptObject {
                kind: kind.to_owned(),
                namespace: namespace.map(str::to_owned),
                object: obj.clone(),
            });
        }
    }

    /// [`Extractor::finish`], also returning the objects kept (see [`Extractor::keeping_objects`]).
    pub fn finish_with_objects(mut self) -> (Discovery, Vec<KeptObject>) {
        let kept = self.kept.take().unwrap_or_default();
        (self.finish(), kept)
    }

    /// Whether the filter selects namespace `ns` (sources use it to skip whole files or requests).
    pub fn selects(&self, ns: &str) -> bool {
        self.filter.matches(ns)
    }

    /// Adds one object: a workload, pod, node, namespace or service account; a `List` (or any
    /// `<Kind>List`) or a JSON array is unwrapped into its items. Other objects are kept only as
    /// possible owners of workloads.
    pub fn add(&mut self, origin: &ObjectOrigin, object: Value) {
        self.add_at_depth(origin, &object, 0);
    }

    /// Records an error found by a source.
    pub fn add_error(&mut self, error: DiscoveryError) {
        self.errors.push(error);
    }

    /// Records a pull secret known to exist (dropped when its namespace is not selected).
    pub fn add_pull_secret(&mut self, info: PullSecretInfo) {
        if self.filter.matches(&info.namespace) {
            self.pull_secrets.insert(info);
        }
    }

    fn add_at_depth(&mut self, origin: &ObjectOrigin, object: &Value, depth: usize) {
        if let Some(items) = object.as_array() {
            self.add_items(origin, items, origin.kind.clone(), depth);
            return;
        }
        if !object.is_object() {
            self.errors
                .push(origin.error("not a Kubernetes object (expected a JSON/YAML mapping)"));
            return;
        }
        let kind = str_at(object, &["kind"]).or(origin.kind.as_deref());
        let Some(kind) = kind else {
            // Not a Kubernetes object (a Helm values file, a Chart.yaml, ...): nothing to read.
            return;
        };
        if let Some(items) = object.get("items").and_then(Value::as_array)
            && (kind == "List" || kind.ends_with("List"))
        {
            let item_kind = kind
                .strip_suffix("List")
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .or_else(|| origin.kind.clone());
            self.add_items(origin, items, item_kind, depth);
            return;
        }
        let kind = kind.to_owned();
        self.add_object(origin, object, &kind);
    }

    fn add_items(
        &mut self,
        origin: &ObjectOrigin,
        items: &[Value],
        kind: Option<String>,
        depth: usize,
    ) {
        if depth >= MAX_LIST_DEPTH {
            self.errors
                .push(origin.error("lists nested too deeply; the inner ones were skipped"));
            return;
        }
        let origin = ObjectOrigin {
            kind,
            ..origin.clone()
        };
        for item in items {
            self.add_at_depth(&origin, item, depth + 1);
        }
    }

    fn add_object(&mut self, origin: &ObjectOrigin, obj: &Value, kind: &str) {
        match kind {
            "Node" => {
                self.keep(kind, None, obj);
                if let (Some(name), Some(platform)) = (
                    str_at(obj, &["metadata", "name"]),
                    object::node_platform(obj),
                ) {
                    self.nodes.insert(name.to_owned(), platform);
                }
                return;
            }
            "Namespace" => {
                if let Some(name) = str_at(obj, &["metadata", "name"])
                    && self.filter.matches(name)
                {
                    self.keep(kind, None, obj);
                    self.namespaces.insert(name.to_owned());
                }
                return;
            }
            _ => {}
        }
        let namespace = str_at(obj, &["metadata", "namespace"])
            .or(origin.namespace.as_deref())
            .unwrap_or("default");
        if !self.filter.matches(namespace) {
            return;
        }
        self.keep(kind, Some(namespace), obj);
        let Some(meta) = Meta::read(obj, kind, namespace) else {
            return;
        };
        self.namespaces.insert(namespace.to_owned());
        if kind == "ServiceAccount" {
            let names = object::secret_names(obj);
            self.service_accounts
                .insert((meta.namespace, meta.name), names);
            return;
        }
        let Some(spec) = object::pod_spec_of(obj, kind) else {
            self.metas.push(meta);
            return;
        };
        let spec = PodSpec::read(spec);
        for c in &spec.containers {
            if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
                self.errors.push(DiscoveryError {
                    namespace: Some(namespace.to_owned()),
                    ..origin.error(format!(
                        "{kind} {namespace}/{}: container {:?} has no image",
                        meta.name, c.name
                    ))
                });
            }
        }
        let is_pod = kind == "Pod";
        let record = WorkloadRecord {
            meta: self.metas.len(),
            is_pod,
            in_cluster: is_pod && obj.get("status").is_some_and(Value::is_object),
            statuses: if is_pod {
                object::statuses(obj)
            } else {
                Vec::new()
            },
            replicas: object::get(obj, &["spec", "replicas"]).and_then(Value::as_i64),
            spec,
        };
        self.metas.push(meta);
        self.workloads.push(record);
    }

    /// Builds the discovery: images sorted by reference, every list inside sorted and deduplicated,
    /// errors sorted.
    pub fn finish(self) -> Discovery {
        build::build(self)
    }
}

/// Builds the [`Discovery`] of `objects`, keeping the namespaces `filter` selects.
///
/// A pure function: the same objects give the same result whatever their order.
///
/// ```
/// use imagefacts_discovery::{extract, NamespaceFilter, ObjectOrigin, SourceKind};
/// use serde_json::json;
///
/// let origin = ObjectOrigin::new(SourceKind::Manifests);
/// let deploy = json!({"kind": "Deployment", "metadata": {"name": "web"},
///     "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}});
/// let d = extract([(origin, deploy)], &NamespaceFilter::default());
/// assert_eq!(d.images[0].reference, "docker.io/library/nginx:1.25");
/// assert_eq!(d.images[0].workloads[0].kind, "Deployment");
/// assert_eq!(d.images[0].workloads[0].namespace, "default");
/// ```
pub fn extract(
    objects: impl IntoIterator<Item = (ObjectOrigin, Value)>,
    filter: &NamespaceFilter,
) -> Discovery {
    let mut x = Extractor::new(filter);
    for (origin, object) in objects {
        x.add(&origin, object);
    }
    x.finish()
}

/// Sorts and deduplicates errors so that every source reports them in one stable order.
pub(crate) fn sort_errors(errors: &mut Vec<DiscoveryError>) {
    errors.sort_by(|a, b| {
        (
            &a.source,
            &a.path,
            a.document,
            &a.namespace,
            &a.resource,
            &a.verb,
            a.status,
            &a.message,
        )
            .cmp(&(
                &b.source,
                &b.path,
                b.document,
                &b.namespace,
                &b.resource,
                &b.verb,
                b.status,
                &b.message,
            ))
    });
    errors.dedup();
}

#[cfg(test)]
mod tests;
