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
use serde_json::value::RawValue;

use crate::filter::NamespaceFilter;
use crate::names;
use crate::view::{self, Event, Object};
use object::{Meta, PodSpec, Status};

pub use imagefacts_model::discovery::SourceKind;

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
            source: self.source,
            path: self.path.clone(),
            document: self.document,
            namespace: self.namespace.clone(),
            resource: None,
            verb: None,
            status: None,
            message: message.into(),
            cluster: None,
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
    /// The `pod-template-hash` label (of a pod), telling a Deployment's ReplicaSet by name.
    template_hash: Option<String>,
}

/// The label a Deployment puts on its ReplicaSets' pods.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

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
    /// Applied to each object kept, before it is kept (redaction for a new bundle).
    redact: fn(&mut Value) -> usize,
    /// What each node holds: `(node, names, sizeBytes)` of its `status.images`.
    node_images: Vec<(String, Vec<String>, Option<i64>)>,
    /// Images of the workloads in namespaces the filter left out, by namespace.
    left_out: BTreeMap<String, BTreeSet<String>>,
}

/// An object read by a source and selected by the filter, kept to be written out again (into a
/// new support bundle): its kind, its namespace (`None` for cluster-scoped kinds) and the object
/// as compact JSON (about the size it had on the wire, not a parsed tree).
#[derive(Debug, Clone)]
pub struct KeptObject {
    /// The object's kind (`Pod`, `Deployment`, `Node`, ...).
    pub kind: String,
    /// Its namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// The object as read.
    pub object: Box<RawValue>,
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
            redact: |_| 0,
            node_images: Vec::new(),
            left_out: BTreeMap::new(),
        }
    }

    /// Also keeps every selected object, for [`Extractor::finish_with_objects`].
    pub fn keeping_objects(self) -> Extractor {
        self.keeping_objects_with(|_| 0)
    }

    /// [`Extractor::keeping_objects`], each object passed through `redact` before it is kept
    /// (so that what is kept to be written out again holds no secret).
    pub fn keeping_objects_with(mut self, redact: fn(&mut Value) -> usize) -> Extractor {
        self.kept = Some(Vec::new());
        self.redact = redact;
        self
    }

    /// Whether objects are kept (then [`Extractor::add`] must be given them as values).
    pub fn keeps_objects(&self) -> bool {
        self.kept.is_some()
    }

    fn keep(&mut self, kind: &str, namespace: Option<&str>, obj: Option<&Value>) {
        let (Some(kept), Some(obj)) = (&mut self.kept, obj) else {
            return;
        };
        let mut obj = obj.clone();
        (self.redact)(&mut obj);
        match serde_json::value::to_raw_value(&obj) {
            Ok(object) => kept.push(KeptObject {
                kind: kind.to_owned(),
                namespace: namespace.map(str::to_owned),
                object,
            }),
            Err(e) => tracing::debug!(error = %e, "object not kept"),
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

    /// Records `ns` as looked at (a bundle's file of that namespace was read, even one listing
    /// nothing), when the filter selects it.
    pub fn looked_at(&mut self, ns: &str) {
        if self.filter.matches(ns) {
            self.namespaces.insert(ns.to_owned());
        }
    }

    /// Adds one object: a workload, pod, node, namespace or service account; a `List` (or any
    /// `<Kind>List`) or a JSON array is unwrapped into its items. Other objects are kept only as
    /// possible owners of workloads.
    pub fn add(&mut self, origin: &ObjectOrigin, object: Value) {
        if self.kept.is_some() {
            self.add_value_keeping(origin, &object, origin.kind.clone(), 0);
            return;
        }
        let mut events = Vec::new();
        let _ = view::decode(&object, origin.kind.clone(), &mut |e| events.push(e));
        for e in events {
            self.add_event(origin, e, None);
        }
    }

    /// Adds what [`view::decode`] found.
    pub(crate) fn add_event(&mut self, origin: &ObjectOrigin, event: Event, value: Option<&Value>) {
        match event {
            Event::Object(object, default_kind) => {
                let kind = object.kind.get().map(str::to_owned).or(default_kind);
                // Without a kind it is no Kubernetes object (a Helm values file, a Chart.yaml).
                if let Some(kind) = kind {
                    self.add_object(origin, &object, &kind, value);
                }
            }
            Event::NotAnObject => self
                .errors
                .push(origin.error("not a Kubernetes object (expected a JSON/YAML mapping)")),
            Event::TooDeep => self
                .errors
                .push(origin.error("lists nested too deeply; the inner ones were skipped")),
            Event::BadItems => self
                .errors
                .push(origin.error("a List whose items is neither an array nor null")),
        }
    }

    /// [`Extractor::add`] when objects are kept: the tree is walked as a value so that each
    /// object is kept as read.
    fn add_value_keeping(
        &mut self,
        origin: &ObjectOrigin,
        value: &Value,
        kind: Option<String>,
        depth: usize,
    ) {
        let items = match value {
            Value::Array(items) => Some((items, kind.clone())),
            Value::Object(o) => match o.get("items") {
                Some(Value::Array(items)) => {
                    let list_kind = o
                        .get("kind")
                        .and_then(Value::as_str)
                        .and_then(|k| k.strip_suffix("List"))
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .or(kind.clone());
                    Some((items, list_kind))
                }
                Some(Value::Null) => return,
                _ => None,
            },
            _ => None,
        };
        if let Some((items, item_kind)) = items {
            if depth >= view::MAX_LIST_DEPTH {
                return self.add_event(origin, Event::TooDeep, None);
            }
            for item in items {
                self.add_value_keeping(origin, item, item_kind.clone(), depth + 1);
            }
            return;
        }
        let mut events = Vec::new();
        let _ = view::decode(value, kind, &mut |e| events.push(e));
        for e in events {
            self.add_event(origin, e, Some(value));
        }
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

    fn add_object(
        &mut self,
        origin: &ObjectOrigin,
        obj: &Object,
        kind: &str,
        value: Option<&Value>,
    ) {
        match kind {
            "Node" => {
                if let Some(name) = obj.metadata.name.get() {
                    if let Err(reason) = names::check_subdomain(name) {
                        return self.errors.push(
                            origin
                                .error(format!("node {}: {reason}; skipped", names::quoted(name))),
                        );
                    }
                    self.keep(kind, None, value);
                    if let Some(platform) = object::node_platform(obj) {
                        self.nodes.insert(name.to_owned(), platform);
                    }
                    for image in obj.status.images.iter() {
                        self.node_images.push((
                            name.to_owned(),
                            image.names.0.clone(),
                            image.size_bytes.0,
                        ));
                    }
                }
                return;
            }
            "Namespace" => {
                if let Some(name) = obj.metadata.name.get()
                    && self.filter.matches(name)
                {
                    if let Err(reason) = names::check_namespace(name) {
                        return self.errors.push(origin.error(format!(
                            "namespace {}: {reason}; skipped",
                            names::quoted(name)
                        )));
                    }
                    self.keep(kind, None, value);
                    self.namespaces.insert(name.to_owned());
                }
                return;
            }
            _ => {}
        }
        let namespace = obj
            .metadata
            .namespace
            .get()
            .or(origin.namespace.as_deref())
            .unwrap_or("default");
        if let Err(reason) = names::check_namespace(namespace) {
            return self.errors.push(origin.error(format!(
                "{kind} {}: namespace {}: {reason}; skipped",
                names::quoted(obj.metadata.name.get().unwrap_or_default()),
                names::quoted(namespace)
            )));
        }
        if !self.filter.matches(namespace) {
            if let Some(spec) = object::pod_spec_of(obj, kind) {
                let images = self.left_out.entry(namespace.to_owned()).or_default();
                for c in PodSpec::read(spec).containers {
                    images.extend(c.image);
                }
            }
            return;
        }
        if let Some(name) = obj.metadata.name.get()
            && let Err(reason) = names::check_subdomain(name)
        {
            return self.errors.push(DiscoveryError {
                namespace: Some(namespace.to_owned()),
                ..origin.error(format!("{kind} {}: {reason}; skipped", names::quoted(name)))
            });
        }
        self.keep(kind, Some(namespace), value);
        let Some(meta) = Meta::read(&obj.metadata, kind, namespace) else {
            return;
        };
        self.namespaces.insert(namespace.to_owned());
        if kind == "ServiceAccount" {
            let names = object::secret_names(&obj.image_pull_secrets);
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
            in_cluster: is_pod && obj.has_status,
            statuses: if is_pod {
                object::statuses(&obj.status)
            } else {
                Vec::new()
            },
            replicas: obj.spec.as_ref().and_then(|s| s.replicas.0),
            template_hash: obj.metadata.labels.0.get(POD_TEMPLATE_HASH).cloned(),
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
