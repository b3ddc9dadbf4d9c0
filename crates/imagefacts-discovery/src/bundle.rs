//! The support bundle source: a troubleshoot bundle as `.tar.gz`, plain `.tar` or an extracted
//! directory, read in memory entry by entry (an archive is never extracted to disk, no link is
//! followed).
//!
//! Files read, under `cluster-resources/` (itself at the top or under one top directory):
//!
//! - `<kind>/<namespace>.json` for pods, deployments, statefulsets, daemonsets, replicasets, jobs,
//!   cronjobs, replicationcontrollers and serviceaccounts: a List object or a plain JSON array;
//! - `<kind>-errors.json`: troubleshoot's own collection errors, recorded as discovery errors;
//! - `nodes.json`, `namespaces.json` (a List, a plain array or a single object);
//! - `image-pull-secrets/<namespace>/<secret>.json` (`{"<registry>": "<username>"}`): the secret's
//!   name and registries are recorded, the usernames are not.
//!
//! Other files (services, events, logs, ...) are not looked at. A malformed or unexpected file among
//! those read is a [`DiscoveryError`] naming it, and the rest goes on.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;
use imagefacts_model::discovery::{Discovery, DiscoveryError, PullSecretInfo};
use serde_json::Value;

use crate::error::DiscoverError;
use crate::extract::{Extractor, ObjectOrigin, SourceKind};
use crate::filter::NamespaceFilter;

/// Largest bundle file read into memory (256 MiB); a larger one is a discovery error.
pub const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;

/// The directory every file discovery reads sits under.
const CLUSTER_RESOURCES: &str = "cluster-resources";

/// Reads the support bundle at `path` (a `.tar.gz`, a `.tar` or an extracted directory) and
/// extracts what it holds for the namespaces `filter` selects.
///
/// # Errors
///
/// [`DiscoverError::Read`] when `path` cannot be opened, [`DiscoverError::NotABundle`] when it is
/// neither a directory nor a tar archive (gzipped or not), [`DiscoverError::NoClusterResources`]
/// when it holds no `cluster-resources/` directory. Problems with single files are
/// [`DiscoveryError`]s in the result.
pub fn read_bundle(path: &Path, filter: &NamespaceFilter) -> Result<Discovery, DiscoverError> {
    read_bundle_with_limit(path, filter, MAX_ENTRY_BYTES)
}

/// [`read_bundle`] with another per-file size cap (for tests).
pub(crate) fn read_bundle_with_limit(
    path: &Path,
    filter: &NamespaceFilter,
    max_entry_bytes: u64,
) -> Result<Discovery, DiscoverError> {
    Ok(read_bundle_into(path, Extractor::new(filter), max_entry_bytes)?.finish())
}

/// Feeds the objects of the bundle at `path` to `x`.
pub(crate) fn read_bundle_into(
    path: &Path,
    x: Extractor,
    max_entry_bytes: u64,
) -> Result<Extractor, DiscoverError> {
    let mut reader = BundleReader {
        x,
        max_entry_bytes,
        saw_cluster_resources: false,
    };
    let meta = std::fs::metadata(path).map_err(|source| DiscoverError::Read {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_dir() {
        reader.read_dir(path)?;
    } else {
        reader.read_archive(path)?;
    }
    if !reader.saw_cluster_resources {
        return Err(DiscoverError::NoClusterResources {
            path: path.to_owned(),
        });
    }
    Ok(reader.x)
}

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

/// The components of `path` from `cluster-resources` on, when `cluster-resources` is its first or
/// second component and the path is plain (no `..`, not absolute).
fn resource_components(path: &Path) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    let at = parts.iter().take(2).position(|p| p == CLUSTER_RESOURCES)?;
    Some(parts.split_off(at))
}

struct BundleReader {
    x: Extractor,
    max_entry_bytes: u64,
    saw_cluster_resources: bool,
}

impl BundleReader {
    /// Whether the file at `parts` (from `cluster-resources` on) is to be read, and as what.
    fn wanted(&mut self, parts: &[String]) -> Option<EntryKind> {
        self.saw_cluster_resources = true;
        let rel: Vec<&str> = parts[1..].iter().map(String::as_str).collect();
        let kind = classify(&rel);
        let selected = match &kind {
            EntryKind::Ignored => false,
            EntryKind::Objects { namespace, .. } | EntryKind::PullSecret { namespace, .. } => {
                self.x.selects(namespace)
            }
            _ => true,
        };
        selected.then_some(kind)
    }

    fn error(&mut self, path: &str, message: impl Into<String>) {
        let mut origin = ObjectOrigin::new(SourceKind::Bundle);
        origin.path = Some(path.to_owned());
        self.x.add_error(origin.error(message));
    }

    fn too_large(&mut self, path: &str, size: u64) {
        let cap = self.max_entry_bytes;
        self.error(
            path,
            format!("file of {size} bytes is larger than the {cap}-byte limit; skipped"),
        );
    }

    fn read_archive(&mut self, path: &Path) -> Result<(), DiscoverError> {
        let read_err = |source| DiscoverError::Read {
            path: path.to_owned(),
            source,
        };
        let mut file = BufReader::new(File::open(path).map_err(read_err)?);
        let gzipped = file
            .fill_buf()
            .map_err(read_err)?
            .starts_with(&[0x1f, 0x8b]);
        let stream: Box<dyn Read> = if gzipped {
            Box::new(MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let mut archive = tar::Archive::new(stream);
        let not_a_bundle = |e: std::io::Error| DiscoverError::NotABundle {
            path: path.to_owned(),
            reason: format!(
                "not a {}tar archive ({})",
                if gzipped { "gzipped " } else { "" },
                crate::error::one_line(&e.to_string())
            ),
        };
        let entries = archive.entries().map_err(not_a_bundle)?;
        for (seen, entry) in entries.enumerate() {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) if seen == 0 => return Err(not_a_bundle(e)),
                Err(e) => {
                    let message = format!(
                        "archive is corrupt after {seen} entries, the rest was not read: {e}"
                    );
                    self.error(
                        &path.display().to_string(),
                        crate::error::one_line(&message),
                    );
                    break;
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let Some(parts) = entry.path().ok().and_then(|p| resource_components(&p)) else {
                continue;
            };
            let Some(kind) = self.wanted(&parts) else {
                continue;
            };
            let name = parts.join("/");
            let size = entry.size();
            if size > self.max_entry_bytes {
                self.too_large(&name, size);
                continue;
            }
            let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            if let Err(e) = entry.read_to_end(&mut bytes) {
                self.error(&name, format!("cannot read: {e}"));
                continue;
            }
            self.handle(&name, &kind, &bytes);
        }
        Ok(())
    }

    fn read_dir(&mut self, dir: &Path) -> Result<(), DiscoverError> {
        let root = find_root(dir)?;
        self.saw_cluster_resources = true;
        let mut files = Vec::new();
        walk(
            &root.join(CLUSTER_RESOURCES),
            vec![CLUSTER_RESOURCES.to_owned()],
            &mut files,
            &mut |p, e| self.error(&p, format!("cannot list directory: {e}")),
        );
        files.sort();
        for (parts, file) in files {
            let Some(kind) = self.wanted(&parts) else {
                continue;
            };
            let name = parts.join("/");
            let size = std::fs::symlink_metadata(&file).map_or(0, |m| m.len());
            if size > self.max_entry_bytes {
                self.too_large(&name, size);
                continue;
            }
            match std::fs::read(&file) {
                Ok(bytes) => self.handle(&name, &kind, &bytes),
                Err(e) => self.error(&name, format!("cannot read: {e}")),
            }
        }
        Ok(())
    }

    /// Reads one file's content.
    fn handle(&mut self, name: &str, kind: &EntryKind, bytes: &[u8]) {
        if *kind == EntryKind::Unexpected {
            let message = "unexpected file: expected <kind>/<namespace>.json or image-pull-secrets/<namespace>/<secret>.json";
            return self.error(name, message);
        }
        let value: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => return self.error(name, format!("malformed JSON: {e}")),
        };
        let mut origin = ObjectOrigin::new(SourceKind::Bundle);
        origin.path = Some(name.to_owned());
        match kind {
            EntryKind::Objects { kind, namespace } => {
                if !is_object_file(&value, false) {
                    return self.error(name, "expected a List object or a JSON array of objects");
                }
                origin.kind = Some((*kind).to_owned());
                origin.namespace = Some(namespace.clone());
                self.x.add(&origin, value);
            }
            EntryKind::ClusterObjects { kind } => {
                if !is_object_file(&value, true) {
                    return self.error(name, "expected a List object, a JSON array or an object");
                }
                origin.kind = Some((*kind).to_owned());
                self.x.add(&origin, value);
            }
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
                });
            }
            EntryKind::Unexpected | EntryKind::Ignored => {}
        }
    }
}

/// Whether a bundle file holds objects: a List, an array, or (when `single` is allowed) one object.
fn is_object_file(v: &Value, single: bool) -> bool {
    match v {
        Value::Array(_) => true,
        Value::Object(o) => {
            o.get("items").is_some_and(Value::is_array) || (single && o.contains_key("metadata"))
        }
        _ => false,
    }
}

/// The directory holding `cluster-resources/`: `dir` itself or its one subdirectory that does.
fn find_root(dir: &Path) -> Result<PathBuf, DiscoverError> {
    if dir.join(CLUSTER_RESOURCES).is_dir() {
        return Ok(dir.to_owned());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| DiscoverError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut roots: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.join(CLUSTER_RESOURCES).is_dir())
        .collect();
    roots.sort();
    match roots.len() {
        0 => Err(DiscoverError::NoClusterResources {
            path: dir.to_owned(),
        }),
        1 => Ok(roots.remove(0)),
        _ => Err(DiscoverError::NotABundle {
            path: dir.to_owned(),
            reason: format!(
                "several top directories hold {CLUSTER_RESOURCES}/: {}",
                roots
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

/// Collects the regular files under `dir` (symbolic links are not followed).
fn walk(
    dir: &Path,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, PathBuf)>,
    on_error: &mut dyn FnMut(String, std::io::Error),
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return on_error(prefix.join("/"), e),
    };
    for entry in entries.filter_map(Result::ok) {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let mut parts = prefix.clone();
        parts.push(entry.file_name().to_string_lossy().into_owned());
        if file_type.is_dir() {
            walk(&entry.path(), parts, out, on_error);
        } else if file_type.is_file() {
            out.push((parts, entry.path()));
        }
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
    fn finds_cluster_resources_at_top_or_one_below() {
        let ok = [
            (
                "cluster-resources/pods/a.json",
                "cluster-resources/pods/a.json",
            ),
            (
                "bundle-1/cluster-resources/nodes.json",
                "cluster-resources/nodes.json",
            ),
            ("./bundle/cluster-resources/x", "cluster-resources/x"),
        ];
        for (path, want) in ok {
            let got = resource_components(Path::new(path)).map(|p| p.join("/"));
            assert_eq!(got.as_deref(), Some(want), "{path}");
        }
        for path in [
            "a/b/cluster-resources/pods/a.json",
            "/cluster-resources/pods/a.json",
            "../cluster-resources/pods/a.json",
            "bundle/../cluster-resources/pods/a.json",
            "bundle/other/x.json",
        ] {
            assert_eq!(resource_components(Path::new(path)), None, "{path}");
        }
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn entries_over_the_cap_are_errors_and_the_rest_goes_on() {
        let big = format!("[{}]", vec!["{}"; 100].join(","));
        let node = br#"{"kind":"NodeList","items":[{"metadata":{"name":"n"},"status":{"nodeInfo":{"architecture":"amd64","operatingSystem":"linux"}}}]}"#;
        let archive = tar_of(&[
            ("b/cluster-resources/pods/big.json", big.as_bytes()),
            ("b/cluster-resources/nodes.json", node),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.tar");
        std::fs::write(&path, archive).unwrap();
        let d = read_bundle_with_limit(&path, &NamespaceFilter::default(), 200).unwrap();
        assert_eq!(d.nodes.len(), 1);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(
            d.errors[0].path.as_deref(),
            Some("cluster-resources/pods/big.json")
        );
        assert!(
            d.errors[0].message.contains("200-byte limit"),
            "{}",
            d.errors[0].message
        );

        // The same from a directory.
        let root = dir.path().join("extracted/cluster-resources/pods");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("big.json"), &big).unwrap();
        let d = read_bundle_with_limit(
            &dir.path().join("extracted"),
            &NamespaceFilter::default(),
            200,
        )
        .unwrap();
        assert!(d.errors[0].message.contains("limit"), "{:?}", d.errors);
    }

    #[test]
    fn links_and_odd_shapes_in_an_archive() {
        let mut builder = tar::Builder::new(Vec::new());
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        link.set_mode(0o777);
        builder
            .append_link(
                &mut link,
                "b/cluster-resources/pods/shop.json",
                "/etc/passwd",
            )
            .unwrap();
        let files: [(&str, &[u8]); 4] = [
            ("b/cluster-resources/pods/a.json", b"\"just a string\""),
            (
                "b/cluster-resources/namespaces.json",
                br#"{"metadata":{"name":"solo"}}"#,
            ),
            ("b/cluster-resources/image-pull-secrets/a/s.json", b"[1]"),
            ("b/cluster-resources/pods-errors.json", b"{}"),
        ];
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, data).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.tar");
        std::fs::write(&path, builder.into_inner().unwrap()).unwrap();
        let d = read_bundle(&path, &NamespaceFilter::default()).unwrap();
        assert_eq!(d.namespaces, ["solo"], "a single Namespace object");
        let paths: Vec<&str> = d.errors.iter().filter_map(|e| e.path.as_deref()).collect();
        assert_eq!(
            paths,
            [
                "cluster-resources/image-pull-secrets/a/s.json",
                "cluster-resources/pods-errors.json",
                "cluster-resources/pods/a.json",
            ],
            "the symbolic link is not followed nor reported"
        );
    }
}
