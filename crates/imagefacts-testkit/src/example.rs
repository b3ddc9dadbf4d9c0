//! The example support bundle of the README's main job: a small cluster in troubleshoot's layout
//! whose workloads run the [`Fixtures`] images of a local registry.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::{Fixtures, Registry};

/// The example bundle's name (and top directory).
pub const EXAMPLE_BUNDLE: &str = "support-bundle-2026-11-28T09_00_00";

fn owner(kind: &str, name: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": format!("uid-{name}"), "controller": true}])
}

fn meta(name: &str, ns: &str, owners: Option<Value>) -> Value {
    let mut m = json!({"name": name, "namespace": ns, "uid": format!("uid-{name}")});
    if let Some(o) = owners {
        m["ownerReferences"] = o;
    }
    m
}

fn containers(name: &str, image: &str) -> Value {
    json!([{"name": name, "image": image}])
}

fn pod(
    name: &str,
    ns: &str,
    owners: Option<Value>,
    node: &str,
    image: &str,
    status: Value,
) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta(name, ns, owners),
        "spec": {"containers": containers(name.split('-').next().unwrap_or(name), image), "nodeName": node},
        "status": status})
}

fn running(container: &str, image: &str, image_id: &str) -> Value {
    json!({"phase": "Running", "containerStatuses": [{"name": container, "image": image,
        "imageID": image_id, "ready": true, "state": {"running": {"startedAt": "2026-11-28T08:00:00Z"}}}]})
}

fn template(container: &str, image: &str) -> Value {
    json!({"metadata": {"labels": {"app": container}}, "spec": {"containers": containers(container, image)}})
}

fn list(kind: &str, api: &str, items: Vec<Value>) -> Value {
    json!({"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": "1"}, "items": items})
}

/// Writes the example bundle (`<EXAMPLE_BUNDLE>.tar.gz`) into `dir` and returns its path.
///
/// - `shop`: Deployment `web` (multi-platform OCI index, its pod on the arm64 node),
///   StatefulSet `api` (single-platform OCI image);
/// - `batch`: CronJob `report` → Job → Pod (Docker v2s2 image);
/// - `monitoring`: DaemonSet `exporter` (Docker manifest list) and a pod stuck in
///   `ImagePullBackOff` on a tag that does not exist;
/// - nodes `node-a` (linux/amd64) and `node-b` (linux/arm64).
///
/// # Errors
///
/// When the files cannot be written.
pub fn write_example_bundle(
    dir: &Path,
    registry: &Registry,
    fx: &Fixtures,
) -> anyhow::Result<PathBuf> {
    let host = registry.host();
    let img = |r: &str| format!("{host}/{r}");
    let repo = |r: &str| format!("{host}/{}", r.split(':').next().unwrap_or(r));
    let (web, api, report, exporter) = (
        img(&fx.multi_oci),
        img(&fx.single),
        img(&fx.single_v2s2),
        img(&fx.multi_v2s2),
    );
    let missing = format!("{host}/fixtures/missing:2.0");

    let mut files: Vec<(String, Value)> = vec![
        ("namespaces.json".into(), list("NamespaceList", "v1", ["shop", "batch", "monitoring"].iter()
            .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})).collect())),
        ("nodes.json".into(), list("NodeList", "v1", vec![
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a", "labels": {"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux"}},
                "status": {"nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "containerRuntimeVersion": "containerd://1.7.22"}}}),
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-b", "labels": {"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux"}},
                "status": {"nodeInfo": {"architecture": "arm64", "operatingSystem": "linux", "containerRuntimeVersion": "containerd://1.7.22"}}}),
        ])),
        ("deployments/shop.json".into(), list("DeploymentList", "apps/v1", vec![json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta("web", "shop", None), "spec": {"replicas": 1, "template": template("web", &web)}})])),
        ("replicasets/shop.json".into(), list("ReplicaSetList", "apps/v1", vec![json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta("web-5d9f7", "shop", Some(owner("Deployment", "web"))), "spec": {"replicas": 1, "template": template("web", &web)}})])),
        ("statefulsets/shop.json".into(), list("StatefulSetList", "apps/v1", vec![json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta("api", "shop", None), "spec": {"replicas": 1, "template": template("api", &api)}})])),
        ("pods/shop.json".into(), list("PodList", "v1", vec![
            pod("web-5d9f7-x2k4p", "shop", Some(owner("ReplicaSet", "web-5d9f7")), "node-b", &web,
                running("web", &web, &format!("{}@{}", repo(&fx.multi_oci), fx.multi_oci_digest))),
            pod("api-0", "shop", Some(owner("StatefulSet", "api")), "node-a", &api,
                running("api", &api, &format!("{}@{}", repo(&fx.single), fx.single_digest))),
        ])),
        ("cronjobs/batch.json".into(), list("CronJobList", "batch/v1", vec![json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": meta("report", "batch", None), "spec": {"schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": template("report", &report)}}}})])),
        ("jobs/batch.json".into(), list("JobList", "batch/v1", vec![json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": meta("report-29370420", "batch", Some(owner("CronJob", "report"))), "spec": {"template": template("report", &report)}})])),
        ("pods/batch.json".into(), list("PodList", "v1", vec![pod("report-29370420-q8v2n", "batch",
            Some(owner("Job", "report-29370420")), "node-a", &report,
            json!({"phase": "Succeeded", "containerStatuses": [{"name": "report", "image": report,
                "imageID": format!("docker-pullable://{}@{}", repo(&fx.single_v2s2), fx.single_v2s2_digest),
                "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}))])),
        ("daemonsets/monitoring.json".into(), list("DaemonSetList", "apps/v1", vec![json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": meta("exporter", "monitoring", None), "spec": {"template": template("exporter", &exporter)}})])),
        ("pods/monitoring.json".into(), list("PodList", "v1", vec![
            pod("exporter-7kq2m", "monitoring", Some(owner("DaemonSet", "exporter")), "node-a", &exporter,
                running("exporter", &exporter, &format!("{}@{}", repo(&fx.multi_v2s2), fx.multi_v2s2_digest))),
            pod("probe-6c8d9", "monitoring", None, "node-b", &missing,
                json!({"phase": "Pending", "containerStatuses": [{"name": "probe", "image": missing, "imageID": "",
                    "state": {"waiting": {"reason": "ImagePullBackOff",
                        "message": format!("Back-off pulling image \"{missing}\"")}}}]})),
        ])),
    ];
    files.sort_by(|a, b| a.0.cmp(&b.0));

    let path = dir.join(format!("{EXAMPLE_BUNDLE}.tar.gz"));
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    let mut add = |name: String, bytes: &[u8], mode: u32| -> anyhow::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_764_320_400);
        let dir = name.is_empty() || name.ends_with('/');
        h.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_cksum();
        tar.append_data(&mut h, format!("{EXAMPLE_BUNDLE}/{name}"), bytes)?;
        Ok(())
    };
    add(String::new(), &[], 0o755)?;
    add("version.yaml".into(), b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: 0.117.0\n", 0o644)?;
    add("cluster-resources/".into(), &[], 0o755)?;
    for (name, value) in files {
        add(
            format!("cluster-resources/{name}"),
            &serde_json::to_vec_pretty(&value)?,
            0o644,
        )?;
    }
    tar.into_inner()?.finish()?;
    Ok(path)
}
