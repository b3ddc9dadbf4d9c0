//! Support bundles in the layouts real troubleshoot versions write (the facts are in
//! `shared/notes/TROUBLESHOOT.md`). One cluster is rendered the way each version wrote it.
//!
//! The cluster's objects have the noise of real `kubectl` output (managed fields, resource
//! versions, conditions, last-applied annotations), and every layout has the quirks found in the
//! field: plain arrays, `items: null`, misfiled ReplicaSets, missing kinds and `.yaml` symlinks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::sha256_digest;

/// Top directory (and archive name) of support bundles.
const TOP: &str = "support-bundle-2026-11-28T10_00_00";
/// Top directory (and archive name) of preflight bundles.
const PREFLIGHT_TOP: &str = "preflightbundle-2026-11-28T10_00_00";
/// 2026-11-28T10:00:00Z, the mtime of every archive entry.
const MTIME: u64 = 1_795_860_000;
const CREATED: &str = "2026-11-20T08:00:00Z";
const STARTED: &str = "2026-11-27T06:12:41Z";

/// Which troubleshoot version's bundle layout to mimic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TroubleshootLayout {
    /// v0.10.x (2021): plain JSON arrays whose items carry no `kind`/`apiVersion`; no
    /// `daemonsets/`, `replicasets/` or `image-pull-secrets/`.
    V0_10,
    /// v0.57: List objects; no `replicasets/` (pods name ReplicaSets the bundle lacks).
    V0_57,
    /// v0.100: ReplicaSets misfiled in the *directory* `cluster-resources/statefulsets-errors.json/`.
    V0_100,
    /// v0.118: like v0.100, and empty namespaces' lists have `"items": null`.
    V0_118,
    /// v0.123.16: `replicasets/` written correctly; `"items": null` for empty namespaces.
    V0_123_16,
    /// 2026-08 (#2117): like v0.123.16 plus custom resources, each `.json` with a `.yaml` symlink.
    CustomResources2026_08,
    /// A preflight bundle: the v0.123.16 layout under `preflightbundle-<timestamp>/`.
    Preflight,
    /// A k3s-like cluster whose only workloads run in `kube-system` (v0.123.16 layout).
    KubeSystemOnly,
}

impl TroubleshootLayout {
    /// Every layout, oldest first.
    pub const ALL: [TroubleshootLayout; 8] = [
        TroubleshootLayout::V0_10,
        TroubleshootLayout::V0_57,
        TroubleshootLayout::V0_100,
        TroubleshootLayout::V0_118,
        TroubleshootLayout::V0_123_16,
        TroubleshootLayout::CustomResources2026_08,
        TroubleshootLayout::Preflight,
        TroubleshootLayout::KubeSystemOnly,
    ];

    /// Short name for test output: `v0.10`, `v0.57`, `v0.100`, `v0.118`, `v0.123.16`,
    /// `2026-08-custom-resources`, `preflight`, `kube-system-only`.
    pub fn name(self) -> &'static str {
        match self {
            TroubleshootLayout::V0_10 => "v0.10",
            TroubleshootLayout::V0_57 => "v0.57",
            TroubleshootLayout::V0_100 => "v0.100",
            TroubleshootLayout::V0_118 => "v0.118",
            TroubleshootLayout::V0_123_16 => "v0.123.16",
            TroubleshootLayout::CustomResources2026_08 => "2026-08-custom-resources",
            TroubleshootLayout::Preflight => "preflight",
            TroubleshootLayout::KubeSystemOnly => "kube-system-only",
        }
    }

    /// `spec.versionNumber` of `version.yaml`.
    fn version(self) -> &'static str {
        match self {
            TroubleshootLayout::V0_10 => "v0.10.0",
            TroubleshootLayout::V0_57 => "v0.57.0",
            TroubleshootLayout::V0_100 => "v0.100.0",
            TroubleshootLayout::V0_118 => "v0.118.0",
            TroubleshootLayout::CustomResources2026_08 => "v0.126.0",
            _ => "v0.123.16",
        }
    }

    fn top(self) -> &'static str {
        if self == TroubleshootLayout::Preflight {
            PREFLIGHT_TOP
        } else {
            TOP
        }
    }

    /// Whether an empty list is written `"items": null` (from v0.118).
    fn null_items(self) -> bool {
        use TroubleshootLayout::*;
        !matches!(self, V0_10 | V0_57 | V0_100)
    }

    /// The directory under `cluster-resources/` holding `kind`, if this version writes it.
    fn dir_of(self, kind: &str, dir: &'static str) -> Option<&'static str> {
        use TroubleshootLayout::*;
        match (kind, self) {
            ("ReplicaSet", V0_10 | V0_57) | ("DaemonSet", V0_10) => None,
            ("ReplicaSet", V0_100 | V0_118) => Some("statefulsets-errors.json"),
            _ => Some(dir),
        }
    }
}

/// `(kind, directory, list kind, list apiVersion)` of every kind written once per namespace.
const KINDS: [(&str, &str, &str, &str); 9] = [
    ("Pod", "pods", "PodList", "v1"),
    ("Deployment", "deployments", "DeploymentList", "apps/v1"),
    ("ReplicaSet", "replicasets", "ReplicaSetList", "apps/v1"),
    ("StatefulSet", "statefulsets", "StatefulSetList", "apps/v1"),
    ("DaemonSet", "daemonsets", "DaemonSetList", "apps/v1"),
    ("Job", "jobs", "JobList", "batch/v1"),
    ("CronJob", "cronjobs", "CronJobList", "batch/v1"),
    ("Service", "services", "ServiceList", "v1"),
    ("Event", "events", "EventList", "v1"),
];

/// The images the fixture cluster runs and the digests its runtime reports.
#[derive(Debug, Clone)]
pub struct FixtureImages {
    /// Deployment `shop/web` (both pods).
    pub web: String,
    /// StatefulSet `shop/db`.
    pub db: String,
    /// DaemonSet `shop/agent` (on both nodes).
    pub agent: String,
    /// CronJob `shop/report` (its pod reports a runtime image ID, not this digest).
    pub report: String,
    /// Deployment `kube-system/coredns` (and every `kube-system` workload of
    /// [`TroubleshootLayout::KubeSystemOnly`]).
    pub system: String,
    /// Digest `web` runs on node `n1` (pod `web-5d9f8c7b6-abcde`).
    pub web_digest: String,
    /// Digest the same `web` tag runs on node `n2` (pod `web-5d9f8c7b6-fghij`).
    pub web_digest_other: String,
    /// Digest of `db`.
    pub db_digest: String,
    /// Digest of `agent` (both nodes).
    pub agent_digest: String,
    /// Digest of `report`, known only from node `n1`'s `status.images`.
    pub report_digest: String,
    /// Digest of `system`.
    pub system_digest: String,
}

impl FixtureImages {
    /// `{host}/shop/web:1.0`, `{host}/shop/db:1.0`, `{host}/shop/agent:1.0`,
    /// `{host}/shop/report:1.0`, `{host}/kube-system/coredns:1.0`; each digest is
    /// [`sha256_digest`] of `"imagefacts-testkit troubleshoot fixture <field>"` (e.g.
    /// `web_digest_other` of `"... fixture web_digest_other"`), so all are valid and distinct.
    pub fn example(host: &str) -> FixtureImages {
        let d = |f: &str| {
            sha256_digest(format!("imagefacts-testkit troubleshoot fixture {f}").as_bytes())
        };
        FixtureImages {
            web: format!("{host}/shop/web:1.0"),
            db: format!("{host}/shop/db:1.0"),
            agent: format!("{host}/shop/agent:1.0"),
            report: format!("{host}/shop/report:1.0"),
            system: format!("{host}/kube-system/coredns:1.0"),
            web_digest: d("web_digest"),
            web_digest_other: d("web_digest_other"),
            db_digest: d("db_digest"),
            agent_digest: d("agent_digest"),
            report_digest: d("report_digest"),
            system_digest: d("system_digest"),
        }
    }
}

/// What kind of file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixtureFormat {
    /// An unpacked bundle: the top directory with its files (and symlinks).
    Directory,
    /// `<top directory>.tar.gz`, every entry (directories included) under the top directory.
    TarGz,
}

/// Writes the bundle of `layout` into `dir` and returns its path (the top directory for
/// [`FixtureFormat::Directory`], the `.tar.gz` file for [`FixtureFormat::TarGz`]).
///
/// The top directory is `support-bundle-2026-11-28T10_00_00` (`preflightbundle-2026-11-28T10_00_00`
/// for [`TroubleshootLayout::Preflight`]); the archive is named after it. Every JSON file is
/// pretty-printed. Below, `cr/` stands for `cluster-resources/` and `<ns>` for every namespace.
///
/// # The cluster (all layouts but `KubeSystemOnly`)
///
/// - `version.yaml`: `apiVersion: troubleshoot.sh/v1beta2`, `kind: SupportBundle` (preflight too:
///   upstream writes the same file), `spec.versionNumber`: `v0.10.0`, `v0.57.0`, `v0.100.0`,
///   `v0.118.0`, `v0.123.16`, `v0.126.0` (custom resources), `v0.123.16` (preflight, k3s).
/// - Namespaces `shop`, `empty-ns` (no objects of any kind, but its files exist), `kube-system`.
/// - `shop`: Deployment `web` (2 replicas) → ReplicaSet `web-5d9f8c7b6` → pods
///   `web-5d9f8c7b6-abcde` (node `n1`, imageID `<repo>@<web_digest>`) and `web-5d9f8c7b6-fghij`
///   (`n2`, `docker-pullable://<repo>@<web_digest_other>`); StatefulSet `db` → `db-0` (`n1`,
///   `<repo>@<db_digest>`); DaemonSet `agent` → `agent-x1` (`n1`), `agent-y2` (`n2`),
///   `<repo>@<agent_digest>`; CronJob `report` → Job `report-29370420` → pod
///   `report-29370420-q8v2n` (`n1`, `Succeeded`, imageID `docker://sha256:<hex>`, a runtime image ID
///   equal to no field of [`FixtureImages`]). 6 pods; every one has
///   `imagePullSecrets: [{"name": "regcred"}]`; owners are linked by `ownerReferences` whose `uid`
///   is the owner's `metadata.uid`.
/// - `kube-system`: Deployment `coredns` → ReplicaSet `coredns-7db6d8ff4d` → pod
///   `coredns-7db6d8ff4d-k8s9x` (`n1`, `system`, `<repo>@<system_digest>`). 1 pod.
/// - `cr/nodes.json`: `n1` (linux/amd64, containerd) holding web@`web_digest` (sizeBytes
///   11111111), db, agent, report@`report_digest`, system; `n2` (linux/arm64, docker) holding
///   web@`web_digest_other` (22222222) and agent. Each `names` is `["<repo>@<digest>", "<ref>"]`.
/// - `cr/pods/logs/shop/web-5d9f8c7b6-abcde/web.log`; `cr/services/<ns>.json` (shop: `web`, `db`;
///   kube-system: `kube-dns`), `cr/events/<ns>.json` (shop: 3 `Scheduled` events).
/// - `cr/image-pull-secrets/shop/regcred.json` = `{"<registry of web>": "robot"}` (not in v0.10).
/// - Objects look like `kubectl get -o json` output: `managedFields`, `resourceVersion`,
///   `creationTimestamp`, `status.conditions`; objects without an owner (and services) carry a
///   `kubectl.kubernetes.io/last-applied-configuration` annotation, a JSON *string* naming images.
/// - `<repo>` is the reference without its tag; uids are UUID-shaped and fixed, so every run
///   writes byte-identical files (and archives: every entry has mtime 2026-11-28T10:00:00Z).
///
/// # Per layout
///
/// Files of one namespace and kind are `cr/<kind>/<ns>.json`, one for every namespace (empty
/// ones included) and every kind the layout collects: pods, deployments, statefulsets, daemonsets,
/// jobs, cronjobs, services, events and ReplicaSets.
///
/// - `V0_10`: every `cr/` JSON file (also `namespaces.json`, `nodes.json`) is a plain array whose
///   items have no `kind`/`apiVersion`; empty namespaces `[]`; no `daemonsets/` (the agent pods'
///   owner is missing), no `replicasets/`, no `image-pull-secrets/`.
/// - `V0_57`: List objects (`{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":
///   "…"},"items":[…]}`, items with `kind`/`apiVersion`); empty namespaces `"items": []`; no
///   `replicasets/` (pods name ReplicaSets the bundle lacks).
/// - `V0_100`: as `V0_57`, but ReplicaSetLists sit in `cr/statefulsets-errors.json/<ns>.json`
///   (a directory); StatefulSets in `statefulsets/` as usual.
/// - `V0_118`: as `V0_100`, and every empty list (namespace `empty-ns`, also in the misfiled
///   directory) is `{"kind":"…List","apiVersion":"…","metadata":{},"items":null}`.
/// - `V0_123_16`: `cr/replicasets/<ns>.json`; empty lists `"items": null`.
/// - `CustomResources2026_08`: as `V0_123_16`, plus `cr/custom-resource-definitions.json` (one
///   CRD, `widgets.example.com`) and `cr/custom-resources/widgets.example.com/shop.json`, a
///   `WidgetList` of `storefront` (its spec holds a pod-template-like container running `web`) and
///   `backoffice`; beside it `shop.yaml`, a symlink to `shop.json` (relative target; a tar
///   `Symlink` entry in the archive). The only symlink of any layout.
/// - `Preflight`: as `V0_123_16` under `preflightbundle-2026-11-28T10_00_00/`.
/// - `KubeSystemOnly`: the `V0_123_16` shapes for the cluster below.
///
/// `KubeSystemOnly` (k3s-like): namespaces `default`, `kube-system`, `kube-public`,
/// `kube-node-lease`; only `kube-system` has objects: Deployments `coredns`,
/// `local-path-provisioner`, `metrics-server`, `traefik`, each → one ReplicaSet → one pod on `n1`,
/// all running `system` (imageID `<repo>@<system_digest>`); one node `n1` (linux/amd64) holding
/// only `system`; `cr/pods/logs/kube-system/coredns-7db6d8ff4d-k8s9x/coredns.log`; a `kube-dns`
/// service; no pull secrets.
///
/// # Errors
///
/// When a file cannot be written.
pub fn write_troubleshoot_bundle(
    dir: &Path,
    layout: TroubleshootLayout,
    images: &FixtureImages,
    format: FixtureFormat,
) -> anyhow::Result<PathBuf> {
    let entries = entries(layout, images)?;
    let top = layout.top();
    match format {
        FixtureFormat::Directory => {
            let root = dir.join(top);
            write_dir(&root, &entries)?;
            Ok(root)
        }
        FixtureFormat::TarGz => {
            let path = dir.join(format!("{top}.tar.gz"));
            write_tar(&path, top, &entries)
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(path)
        }
    }
}

/// One entry of the bundle, by its path below the top directory (directories end in `/`).
enum Entry {
    Dir,
    File(Vec<u8>),
    Link(&'static str),
}

fn entries(
    layout: TroubleshootLayout,
    images: &FixtureImages,
) -> anyhow::Result<Vec<(String, Entry)>> {
    let cluster = if layout == TroubleshootLayout::KubeSystemOnly {
        k3s_cluster(images)
    } else {
        cluster(images)
    };
    let mut files: Vec<(String, Entry)> = Vec::new();
    let mut json = |path: String, value: &Value| -> anyhow::Result<()> {
        files.push((path, Entry::File(serde_json::to_vec_pretty(value)?)));
        Ok(())
    };
    let ns_names: Vec<String> = (cluster.namespaces.iter())
        .map(|n| {
            n["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let shaped = |kind: &str, api: &str, items: Vec<Value>| list(layout, kind, api, items);
    json(
        "cluster-resources/namespaces.json".into(),
        &shaped("NamespaceList", "v1", cluster.namespaces.clone()),
    )?;
    json(
        "cluster-resources/nodes.json".into(),
        &shaped("NodeList", "v1", cluster.nodes.clone()),
    )?;
    for (kind, dir, list_kind, api) in KINDS {
        let Some(dir) = layout.dir_of(kind, dir) else {
            continue;
        };
        for ns in &ns_names {
            let items: Vec<Value> = (cluster.objects.iter())
                .filter(|o| o["kind"] == kind && o["metadata"]["namespace"] == ns.as_str())
                .cloned()
                .collect();
            json(
                format!("cluster-resources/{dir}/{ns}.json"),
                &shaped(list_kind, api, items),
            )?;
        }
    }
    if layout != TroubleshootLayout::V0_10
        && let Some((host, pod_ns)) = cluster.pull_secret
    {
        json(
            format!("cluster-resources/image-pull-secrets/{pod_ns}/regcred.json"),
            &Value::Object([(host, json!("robot"))].into_iter().collect()),
        )?;
    }
    if layout == TroubleshootLayout::CustomResources2026_08 {
        json(
            "cluster-resources/custom-resource-definitions.json".into(),
            &shaped(
                "CustomResourceDefinitionList",
                "apiextensions.k8s.io/v1",
                vec![crd()],
            ),
        )?;
        json(
            "cluster-resources/custom-resources/widgets.example.com/shop.json".into(),
            &shaped("WidgetList", "example.com/v1", widgets(&images.web)),
        )?;
        files.push((
            "cluster-resources/custom-resources/widgets.example.com/shop.yaml".into(),
            Entry::Link("shop.json"),
        ));
    }
    let (log_path, log) = cluster.log;
    files.push((log_path, Entry::File(log.into_bytes())));
    let version = format!(
        "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: {}\n",
        layout.version()
    );
    files.push(("version.yaml".into(), Entry::File(version.into_bytes())));

    // Every ancestor directory gets its own entry; a directory sorts before what it holds.
    let mut dirs = BTreeSet::from([String::new()]);
    for (path, _) in &files {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i + 1;
            dirs.insert(path[..end].to_owned());
        }
    }
    files.extend(dirs.into_iter().map(|d| (d, Entry::Dir)));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// A per-namespace (or cluster-scoped) file's content in the shape `layout` writes.
fn list(layout: TroubleshootLayout, kind: &str, api: &str, items: Vec<Value>) -> Value {
    if layout == TroubleshootLayout::V0_10 {
        let stripped = items.into_iter().map(|mut item| {
            if let Some(map) = item.as_object_mut() {
                map.shift_remove("kind");
                map.shift_remove("apiVersion");
            }
            item
        });
        return Value::Array(stripped.collect());
    }
    if items.is_empty() && layout.null_items() {
        return json!({"kind": kind, "apiVersion": api, "metadata": {}, "items": null});
    }
    let rv = resource_version(&format!("{kind}{}", items.len()));
    json!({"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv}, "items": items})
}

fn write_dir(root: &Path, entries: &[(String, Entry)]) -> anyhow::Result<()> {
    for (path, entry) in entries {
        let target = root.join(path);
        let ctx = || format!("writing {}", target.display());
        match entry {
            Entry::Dir => std::fs::create_dir_all(&target).with_context(ctx)?,
            Entry::File(bytes) => std::fs::write(&target, bytes).with_context(ctx)?,
            Entry::Link(to) => {
                match std::fs::remove_file(&target) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(e).with_context(ctx);
                    }
                    _ => {}
                }
                #[cfg(unix)]
                std::os::unix::fs::symlink(to, &target).with_context(ctx)?;
                #[cfg(windows)]
                std::os::windows::fs::symlink_file(to, &target).with_context(ctx)?;
            }
        }
    }
    Ok(())
}

fn write_tar(path: &Path, top: &str, entries: &[(String, Entry)]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (name, entry) in entries {
        let name = format!("{top}/{name}");
        let mut h = tar::Header::new_gnu();
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        match entry {
            Entry::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                tar.append_data(&mut h, &name, std::io::empty())?;
            }
            Entry::File(bytes) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(bytes.len() as u64);
                tar.append_data(&mut h, &name, bytes.as_slice())?;
            }
            Entry::Link(to) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                tar.append_link(&mut h, &name, to)?;
            }
        }
    }
    tar.into_inner()?.finish()?;
    Ok(())
}

mod objects;

use objects::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_strips_tag_and_digest_but_not_port() {
        assert_eq!(
            repository("127.0.0.1:5000/shop/web:1.0"),
            "127.0.0.1:5000/shop/web"
        );
        assert_eq!(
            repository("127.0.0.1:5000/shop/web@sha256:ab"),
            "127.0.0.1:5000/shop/web"
        );
        assert_eq!(
            repository("127.0.0.1:5000/shop/web"),
            "127.0.0.1:5000/shop/web"
        );
        assert_eq!(
            registry_host("127.0.0.1:5000/shop/web:1.0"),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_host("library/nginx:1.0"), "docker.io");
    }
}
