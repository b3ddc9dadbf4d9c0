//! The support bundle source: the files of a troubleshoot bundle, as the bundle reader
//! (`imagefacts-bundle`) offers them while it reads the archive or directory once. Nothing here
//! opens an archive: [`BundleScan`] only says which files it wants and decodes them.
//!
//! Files read, under `cluster-resources/` (under the bundle's top directory: `support-bundle-…`,
//! `preflightbundle-…`, any name; or the top directory itself, or one directory below):
//!
//! - `<kind>/<namespace>.json` for pods, deployments, statefulsets, daemonsets, replicasets, jobs,
//!   cronjobs, replicationcontrollers and serviceaccounts: a List object (`items: null` is an
//!   empty list, as troubleshoot ≥ 0.118 writes it), a plain JSON array (0.10) or one object;
//! - `statefulsets-errors.json/<namespace>.json`: ReplicaSets, where troubleshoot wrote them from
//!   2023-01 (#971) until v0.123.16 (#1936);
//! - `<kind>-errors.json`: troubleshoot's own collection errors, recorded as discovery errors;
//! - `nodes.json`, `namespaces.json` (a List, a plain array or a single object);
//! - `image-pull-secrets/<namespace>/<secret>.json` (`{"<registry>": "<username>"}`): the secret's
//!   name and registries are recorded, the usernames are not.
//!
//! Object files are decoded item by item as they stream in, into views holding only what
//! discovery uses: memory follows the largest object, not the file. Links are never offered by
//! the reader, so never followed. Other files (services, events, logs, custom resources and
//! their `.yaml` links) are not looked at. A malformed or unexpected file among those read is a
//! [`DiscoveryError`] naming it, and the rest goes on.

use std::collections::{BTreeSet, HashSet};
use std::io::{BufReader, Read};
use std::path::Path;

use imagefacts_model::discovery::{DiscoveryError, PullSecretInfo};
use imagefacts_model::files::FileVisitor;
use serde_json::Value;

use crate::error::DiscoverError;
use crate::extract::{Extractor, KeptObject, ObjectOrigin, SourceKind};
use crate::filter::NamespaceFilter;
use crate::{Discovered, PullSecrets};

/// Largest bundle file read whole into memory (256 MiB): error and pull-secret files, and object
/// files when the objects are kept for a new bundle. A larger one is a discovery error.
pub const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;

/// Largest object file decoded as a stream (16 GiB: the decoder keeps only one object at a time).
const MAX_STREAMED_BYTES: u64 = 16 << 30;

/// Largest error or pull-secret file (they are small lists of strings).
const MAX_SMALL_FILE: u64 = 16 * 1024 * 1024;

/// The directory every file discovery reads sits under.
const CLUSTER_RESOURCES: &str = "cluster-resources";

/// What a file of the bundle is to discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EntryKind {
    /// `<kind>/<namespace>.json`.
    Objects {
        kind: &'static str,
        namespace: String,
    },
    /// `nodes.json` or `namespaces.json`.
    ClusterObjects { kind: &'static str },
    /// `<resource>-errors.json`.
    Errors { resource: String },
    /// `image-pull-secrets/<namespace>/<secret>.json`.
    PullSecret { namespace: String, name: String },
    /// A file where only the above are expected.
    Unexpected,
    /// Not read by discovery.
    Ignored,
}

/// Classifies a path relative to `cluster-resources/`.
fn classify(rel: &[&str]) -> EntryKind {
    let kind_of = |dir: &str| crate::resources::resource_named(dir).map(|r| r.kind);
    match rel {
        ["nodes.json"] => EntryKind::ClusterObjects { kind: "Node" },
        ["namespaces.json"] => EntryKind::ClusterObjects { kind: "Namespace" },
        [file] => match file.strip_suffix("-errors.json") {
            Some(res) if kind_of(res).is_some() || res == "nodes" || res == "namespaces" => {
                EntryKind::Errors {
                    resource: res.to_owned(),
                }
            }
            _ => EntryKind::Ignored,
        },
        ["pods", "logs", ..] => EntryKind::Ignored,
        // ReplicaSets misfiled into a directory named like the statefulsets' error file.
        ["statefulsets-errors.json", file] => match file.strip_suffix(".json") {
            Some(ns) if !ns.is_empty() => EntryKind::Objects {
                kind: "ReplicaSet",
                namespace: ns.to_owned(),
            },
            _ => EntryKind::Unexpected,
        },
        [dir, file] if kind_of(dir).is_some() => match file.strip_suffix(".json") {
            Some(ns) if !ns.is_empty() => EntryKind::Objects {
                kind: kind_of(dir).unwrap_or_default(),
                namespace: ns.to_owned(),
            },
            _ => EntryKind::Unexpected,
        },
        [dir, _, ..] if kind_of(dir).is_some() => EntryKind::Unexpected,
        ["image-pull-secrets", ns, file] => match file.strip_suffix(".json") {
            Some(name) if !name.is_empty() => EntryKind::PullSecret {
                namespace: (*ns).to_owned(),
                name: name.to_owned(),
            },
            _ => EntryKind::Unexpected,
        },
        ["image-pull-secrets", ..] => EntryKind::Unexpected,
        _ => EntryKind::Ignored,
    }
}

/// The components of a bundle path (`<top>/cluster-resources/...`) from `cluster-resources` on,
/// and what comes before it: `cluster-resources` may be the top directory itself, sit under it,
/// or one directory below (a directory holding one extracted bundle).
fn resource_components(path: &str) -> Option<(String, Vec<&str>)> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return None;
    }
    let at = parts.iter().take(3).position(|p| *p == CLUSTER_RESOURCES)?;
    Some((parts[..at].join("/"), parts[at..].to_vec()))
}

/// Discovery over the files of one support bundle, fed by a bundle reader as a
/// [`FileVisitor`]: it says which files it wants, decodes them as they stream in, and builds the
/// discovery at the end ([`BundleScan::finish`]).
///
/// Paths are relative to the bundle's top directory (`cluster-resources/pods/shop.json`);
/// `cluster-resources/` one directory further down is found too (a directory holding one
/// extracted bundle).
#[derive(Debug)]
pub struct BundleScan {
    x: Extractor,
    max_entry_bytes: u64,
    /// Where `cluster-resources/` was found (the part of the path before it).
    roots: BTreeSet<String>,
    /// Files read, to notice one stored twice.
    seen: HashSet<String>,
}

impl FileVisitor for BundleScan {
    /// Whether discovery reads the regular file at `path` (`size` bytes).
    fn wants(&mut self, path: &str, _size: u64) -> bool {
        if let Some((root, _)) = resource_components(path) {
            self.roots.insert(root);
        }
        self.classify(path).is_some()
    }

    fn visit(&mut self, path: &str, size: u64, contents: &mut dyn Read) {
        self.read(path, size, contents);
    }
}

impl BundleScan {
    /// A scan keeping the namespaces `filter` selects.
    pub fn new(filter: &NamespaceFilter) -> BundleScan {
        BundleScan::with_extractor(Extractor::new(filter))
    }

    /// A scan feeding `x` (which may keep objects, see [`Extractor::keeping_objects`]).
    pub fn with_extractor(x: Extractor) -> BundleScan {
        BundleScan {
            x,
            max_entry_bytes: MAX_ENTRY_BYTES,
            roots: BTreeSet::new(),
            seen: HashSet::new(),
        }
    }

    /// The same with another cap on files read whole (for tests).
    pub fn with_max_entry_bytes(mut self, max: u64) -> BundleScan {
        self.max_entry_bytes = max;
        self
    }

    /// What the file at `path` is to discovery, and whether to read it.
    fn classify(&self, path: &str) -> Option<(String, EntryKind)> {
        let (_, parts) = resource_components(path)?;
        let kind = classify(&parts[1..]);
        let read = match &kind {
            EntryKind::Ignored => false,
            // Workloads of namespaces left out are read too, to say what the filter dropped.
            EntryKind::Objects { kind, namespace } => {
                *kind != "ServiceAccount" || self.x.selects(namespace)
            }
            EntryKind::PullSecret { namespace, .. } => self.x.selects(namespace),
            _ => true,
        };
        read.then(|| (parts.join("/"), kind))
    }

    /// Reads one file the scan wanted. Problems with it are discovery errors naming it.
    fn read(&mut self, path: &str, size: u64, contents: &mut dyn Read) {
        let Some((name, kind)) = self.classify(path) else {
            return;
        };
        if !self.seen.insert(name.clone()) {
            self.error(&name, "stored twice in the archive; every copy was read");
        }
        if kind == EntryKind::Unexpected {
            let message = "unexpected file: expected <kind>/<namespace>.json or image-pull-secrets/<namespace>/<secret>.json";
            return self.error(&name, message);
        }
        let mut origin = ObjectOrigin::new(SourceKind::Bundle);
        origin.path = Some(name.clone());
        match &kind {
            EntryKind::Objects { kind, namespace } => {
                origin.kind = Some((*kind).to_owned());
                origin.namespace = Some(namespace.clone());
                // A namespace left out is read only to count its images: its problems are not
                // the user's question.
                let report = self.x.selects(namespace);
                self.x.looked_at(namespace);
                self.objects(&name, &origin, size, contents, report);
            }
            EntryKind::ClusterObjects { kind } => {
                origin.kind = Some((*kind).to_owned());
                self.objects(&name, &origin, size, contents, true);
            }
            EntryKind::Errors { .. } | EntryKind::PullSecret { .. } => {
                let Some(value) = self.whole(&name, size, contents, MAX_SMALL_FILE) else {
                    return;
                };
                self.small_file(&name, &origin, &kind, &value);
            }
            EntryKind::Unexpected | EntryKind::Ignored => {}
        }
    }

    fn error(&mut self, path: &str, message: impl Into<String>) {
        let mut origin = ObjectOrigin::new(SourceKind::Bundle);
        origin.path = Some(path.to_owned());
        self.x.add_error(origin.error(message));
    }

    /// A whole file as JSON, within `limit` bytes.
    fn whole(
        &mut self,
        name: &str,
        size: u64,
        contents: &mut dyn Read,
        limit: u64,
    ) -> Option<Value> {
        let limit = limit.min(self.max_entry_bytes);
        if size > limit {
            self.error(
                name,
                format!("file of {size} bytes is larger than the {limit}-byte limit; skipped"),
            );
            return None;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        if let Err(e) = contents.take(limit).read_to_end(&mut bytes) {
            self.error(name, format!("cannot read: {e}"));
            return None;
        }
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(name, format!("malformed JSON: {e}"));
                None
            }
        }
    }

    /// An object file: streamed into the extractor, or read whole when objects are kept.
    fn objects(
        &mut self,
        name: &str,
        origin: &ObjectOrigin,
        size: u64,
        contents: &mut dyn Read,
        report: bool,
    ) {
        if self.x.keeps_objects() && report {
            if let Some(value) = self.whole(name, size, contents, self.max_entry_bytes) {
                self.x.add(origin, value);
            }
            return;
        }
        if size > MAX_STREAMED_BYTES {
            return self.x.add_error(origin.error(format!(
                "file of {size} bytes is larger than the {MAX_STREAMED_BYTES}-byte limit; skipped"
            )));
        }
        let reader = BufReader::with_capacity(256 * 1024, contents.take(MAX_STREAMED_BYTES));
        let mut de = serde_json::Deserializer::from_reader(reader);
        let x = &mut self.x;
        // One object at a time, handed over as soon as it is decoded.
        let result = crate::view::decode(&mut de, origin.kind.clone(), &mut |e| {
            if report || matches!(e, crate::view::Event::Object(..)) {
                x.add_event(origin, e, None);
            }
        })
        .and_then(|_| de.end());
        if let Err(e) = result
            && report
        {
            self.x
                .add_error(origin.error(format!("malformed JSON: {e}")));
        }
    }

    fn small_file(&mut self, name: &str, origin: &ObjectOrigin, kind: &EntryKind, value: &Value) {
        match kind {
            EntryKind::Errors { resource } => {
                let Some(messages) = value.as_array() else {
                    return self.error(name, "expected a JSON array of error messages");
                };
                for m in messages {
                    let message = m.as_str().map_or_else(|| m.to_string(), str::to_owned);
                    self.x.add_error(DiscoveryError {
                        resource: Some(resource.clone()),
                        ..origin.error(message)
                    });
                }
            }
            EntryKind::PullSecret {
                namespace,
                name: secret,
            } => {
                let Some(map) = value.as_object() else {
                    return self.error(name, "expected a JSON object of registry names");
                };
                self.x.add_pull_secret(PullSecretInfo {
                    namespace: namespace.clone(),
                    name: secret.clone(),
                    registries: map.keys().cloned().collect(),
                    cluster: None,
                });
            }
            _ => {}
        }
    }

    /// The discovery of the bundle at `path` (named in errors), and the objects kept.
    ///
    /// # Errors
    ///
    /// [`DiscoverError::NoClusterResources`] when no file was under a `cluster-resources/`
    /// directory, [`DiscoverError::NotABundle`] when several directories hold one.
    pub fn finish(self, path: &Path) -> Result<(Discovered, Vec<KeptObject>), DiscoverError> {
        match self.roots.len() {
            0 => {
                return Err(DiscoverError::NoClusterResources {
                    path: path.to_owned(),
                });
            }
            1 => {}
            _ => {
                return Err(DiscoverError::NotABundle {
                    path: path.to_owned(),
                    reason: format!(
                        "several directories hold {CLUSTER_RESOURCES}/: {}",
                        self.roots.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        let (discovery, kept) = self.x.finish_with_objects();
        Ok((
            Discovered {
                discovery,
                pull_secrets: PullSecrets::default(),
                clusters: Vec::new(),
            },
            kept,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_bundle_paths() {
        let objects = |kind: &'static str, ns: &str| EntryKind::Objects {
            kind,
            namespace: ns.to_owned(),
        };
        let cases: Vec<(&str, EntryKind)> = vec![
            ("pods/shop.json", objects("Pod", "shop")),
            ("cronjobs/batch.json", objects("CronJob", "batch")),
            ("serviceaccounts/a.json", objects("ServiceAccount", "a")),
            ("nodes.json", EntryKind::ClusterObjects { kind: "Node" }),
            (
                "namespaces.json",
                EntryKind::ClusterObjects { kind: "Namespace" },
            ),
            (
                "pods-errors.json",
                EntryKind::Errors {
                    resource: "pods".into(),
                },
            ),
            ("services-errors.json", EntryKind::Ignored),
            ("services/shop.json", EntryKind::Ignored),
            (
                "statefulsets-errors.json",
                EntryKind::Errors {
                    resource: "statefulsets".into(),
                },
            ),
            (
                "statefulsets-errors.json/shop.json",
                objects("ReplicaSet", "shop"),
            ),
            ("pods/logs/shop/web/nginx.log", EntryKind::Ignored),
            ("pods/shop.yaml", EntryKind::Unexpected),
            ("pods/.json", EntryKind::Unexpected),
            ("deployments/shop/web.json", EntryKind::Unexpected),
            (
                "image-pull-secrets/shop/regcred.json",
                EntryKind::PullSecret {
                    namespace: "shop".into(),
                    name: "regcred".into(),
                },
            ),
            ("image-pull-secrets/shop.json", EntryKind::Unexpected),
            ("custom-resource-definitions.json", EntryKind::Ignored),
        ];
        for (path, want) in cases {
            let rel: Vec<&str> = path.split('/').collect();
            assert_eq!(classify(&rel), want, "{path}");
        }
    }

    #[test]
    fn finds_cluster_resources_at_top_or_below() {
        let ok = [
            (
                "cluster-resources/pods/a.json",
                "",
                "cluster-resources/pods/a.json",
            ),
            (
                "bundle-1/cluster-resources/nodes.json",
                "bundle-1",
                "cluster-resources/nodes.json",
            ),
            (
                "./bundle/cluster-resources/x",
                "bundle",
                "cluster-resources/x",
            ),
            (
                "parent/bundle/cluster-resources/x",
                "parent/bundle",
                "cluster-resources/x",
            ),
        ];
        for (path, root, want) in ok {
            let (r, parts) = resource_components(path).unwrap();
            assert_eq!(
                (r.as_str(), parts.join("/").as_str()),
                (root, want),
                "{path}"
            );
        }
        for path in [
            "a/b/c/cluster-resources/pods/a.json",
            "../cluster-resources/pods/a.json",
            "bundle/../cluster-resources/pods/a.json",
            "bundle/other/x.json",
        ] {
            assert_eq!(resource_components(path), None, "{path}");
        }
    }

    fn scan(files: &[(&str, &[u8])], limit: u64) -> crate::Discovered {
        let mut scan = BundleScan::new(&NamespaceFilter::default()).with_max_entry_bytes(limit);
        for (path, data) in files {
            if scan.wants(path, data.len() as u64) {
                scan.visit(path, data.len() as u64, &mut &data[..]);
            }
        }
        scan.finish(Path::new("b.tar")).unwrap().0
    }

    #[test]
    fn small_files_over_the_cap_are_errors_and_the_rest_goes_on() {
        let errors = format!("[{}]", vec!["\"denied\""; 100].join(","));
        let node = br#"{"kind":"NodeList","items":[{"metadata":{"name":"n"},"status":{"nodeInfo":{"architecture":"amd64","operatingSystem":"linux"}}}]}"#;
        let d = scan(
            &[
                ("b/cluster-resources/pods-errors.json", errors.as_bytes()),
                ("b/cluster-resources/nodes.json", node),
            ],
            200,
        );
        assert_eq!(d.discovery.nodes.len(), 1);
        assert_eq!(d.discovery.errors.len(), 1);
        assert_eq!(
            d.discovery.errors[0].path.as_deref(),
            Some("cluster-resources/pods-errors.json")
        );
        assert!(
            d.discovery.errors[0].message.contains("200-byte limit"),
            "{}",
            d.discovery.errors[0].message
        );
    }

    #[test]
    fn odd_shapes_are_errors_naming_the_file() {
        let files: [(&str, &[u8]); 5] = [
            ("b/cluster-resources/pods/a.json", b"\"just a string\""),
            (
                "b/cluster-resources/namespaces.json",
                br#"{"metadata":{"name":"solo"}}"#,
            ),
            ("b/cluster-resources/image-pull-secrets/a/s.json", b"[1]"),
            ("b/cluster-resources/pods-errors.json", b"{}"),
            ("b/cluster-resources/pods/b.json", b"[{\"metadata\":"),
        ];
        let d = scan(&files, MAX_ENTRY_BYTES).discovery;
        assert_eq!(
            d.namespaces,
            ["a", "b", "solo"],
            "namespaces of the files read, and a single Namespace object"
        );
        let paths: Vec<&str> = d.errors.iter().filter_map(|e| e.path.as_deref()).collect();
        assert_eq!(
            paths,
            [
                "cluster-resources/image-pull-secrets/a/s.json",
                "cluster-resources/pods-errors.json",
                "cluster-resources/pods/a.json",
                "cluster-resources/pods/b.json",
            ]
        );
    }

    #[test]
    fn no_or_several_cluster_resources_are_fatal() {
        let scan = BundleScan::new(&NamespaceFilter::default());
        assert!(matches!(
            scan.finish(Path::new("x")),
            Err(DiscoverError::NoClusterResources { .. })
        ));
        let mut scan = BundleScan::new(&NamespaceFilter::default());
        scan.wants("a/cluster-resources/nodes.json", 0);
        scan.wants("b/cluster-resources/nodes.json", 0);
        assert!(matches!(
            scan.finish(Path::new("x")),
            Err(DiscoverError::NotABundle { .. })
        ));
    }
}
