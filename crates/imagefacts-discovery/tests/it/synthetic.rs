//! A synthetic support bundle of many pods, for the benchmark (`benches/bundle.rs`) and a test.
//!
//! Every namespace holds Deployments (each with a ReplicaSet and its pods), a DaemonSet with one
//! pod per node, and a CronJob → Job → Pod chain; images repeat across namespaces as they do in
//! real clusters, pod statuses carry image IDs.

use serde_json::{Value, json};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) namespaces: usize,
    pub(crate) deployments_per_namespace: usize,
    pub(crate) pods_per_deployment: usize,
    pub(crate) nodes: usize,
}

impl Shape {
    /// 10,000 pods: 50 namespaces × (38 deployments × 5 pods + 8 daemon pods + 2 job pods).
    pub(crate) fn ten_thousand_pods() -> Shape {
        Shape {
            namespaces: 50,
            deployments_per_namespace: 38,
            pods_per_deployment: 5,
            nodes: 8,
        }
    }

    pub(crate) fn pods(&self) -> usize {
        self.namespaces
            * (self.deployments_per_namespace * self.pods_per_deployment + self.nodes + 2)
    }
}

fn hex(seed: usize) -> String {
    format!("{seed:016x}").repeat(4)
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items})
}

fn meta(name: &str, ns: &str, uid: &str, owner: Option<(&str, &str, &str)>) -> Value {
    let mut m = json!({"name": name, "namespace": ns, "uid": uid, "labels": {"app": name}});
    if let Some((kind, oname, ouid)) = owner {
        m["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": kind, "name": oname, "uid": ouid, "controller": true}]);
    }
    m
}

fn spec(image: &str, sidecar: &str) -> Value {
    json!({
        "initContainers": [{"name": "init", "image": "busybox:1.36"}],
        "containers": [{"name": "app", "image": image}, {"name": "proxy", "image": sidecar}],
        "serviceAccountName": "default"
    })
}

fn pod(
    name: &str,
    ns: &str,
    owner: (&str, &str, &str),
    image: &str,
    node: usize,
    seed: usize,
) -> Value {
    let mut s = spec(image, "envoyproxy/envoy:v1.31.0");
    s["nodeName"] = json!(format!("node-{node}"));
    json!({
        "metadata": meta(name, ns, &format!("uid-{name}-{ns}"), Some(owner)),
        "spec": s,
        "status": {
            "phase": "Running",
            "initContainerStatuses": [{"name": "init", "imageID": format!("docker-pullable://busybox@sha256:{}", hex(1))}],
            "containerStatuses": [
                {"name": "app", "image": image, "imageID": format!("{}@sha256:{}", image.split(':').next().unwrap_or(image), hex(seed)),
                 "state": {"running": {"startedAt": "2025-10-14T08:00:00Z"}}},
                {"name": "proxy", "imageID": format!("sha256:{}", hex(2))}
            ]
        }
    })
}

/// The `(path, content)` files of the bundle, under `cluster-resources/`.
pub(crate) fn files(shape: Shape) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut add = |path: String, v: &Value| {
        out.push((path, serde_json::to_vec_pretty(v).unwrap_or_default()))
    };
    let nodes: Vec<Value> = (0..shape.nodes)
        .map(|n| {
            let arch = if n % 2 == 0 { "amd64" } else { "arm64" };
            json!({"metadata": {"name": format!("node-{n}")}, "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": arch}}})
        })
        .collect();
    add(
        "cluster-resources/nodes.json".into(),
        &list("NodeList", nodes),
    );
    let namespaces: Vec<Value> = (0..shape.namespaces)
        .map(|i| json!({"metadata": {"name": format!("team-{i}")}}))
        .collect();
    add(
        "cluster-resources/namespaces.json".into(),
        &list("NamespaceList", namespaces),
    );
    for n in 0..shape.namespaces {
        let ns = format!("team-{n}");
        let (mut deployments, mut replicasets, mut pods) = (Vec::new(), Vec::new(), Vec::new());
        for d in 0..shape.deployments_per_namespace {
            // 200 distinct application images, shared across namespaces.
            let image = format!("registry.example.com/apps/app-{}:1.{}", d % 40, (n + d) % 5);
            let name = format!("app-{d}");
            let (duid, rsname, rsuid) = (
                format!("uid-d-{ns}-{d}"),
                format!("app-{d}-5d9f7c6b8"),
                format!("uid-rs-{ns}-{d}"),
            );
            deployments.push(json!({"metadata": meta(&name, &ns, &duid, None), "spec": {"replicas": shape.pods_per_deployment, "template": {"spec": spec(&image, "envoyproxy/envoy:v1.31.0")}}}));
            replicasets.push(json!({"metadata": meta(&rsname, &ns, &rsuid, Some(("Deployment", &name, &duid))), "spec": {"replicas": shape.pods_per_deployment, "template": {"spec": spec(&image, "envoyproxy/envoy:v1.31.0")}}}));
            for p in 0..shape.pods_per_deployment {
                pods.push(pod(
                    &format!("{rsname}-{p:05}"),
                    &ns,
                    ("ReplicaSet", &rsname, &rsuid),
                    &image,
                    (d + p) % shape.nodes,
                    d % 40 + 10,
                ));
            }
        }
        let dsuid = format!("uid-ds-{ns}");
        for node in 0..shape.nodes {
            pods.push(pod(
                &format!("agent-{node}"),
                &ns,
                ("DaemonSet", "agent", &dsuid),
                "quay.io/acme/agent:2.0",
                node,
                3,
            ));
        }
        let (cjuid, juid) = (format!("uid-cj-{ns}"), format!("uid-j-{ns}"));
        for p in 0..2 {
            pods.push(pod(
                &format!("report-1-{p}"),
                &ns,
                ("Job", "report-1", &juid),
                "ghcr.io/acme/report:1.4",
                p,
                4,
            ));
        }
        add(
            format!("cluster-resources/deployments/{ns}.json"),
            &list("DeploymentList", deployments),
        );
        add(
            format!("cluster-resources/replicasets/{ns}.json"),
            &Value::Array(replicasets),
        );
        add(
            format!("cluster-resources/pods/{ns}.json"),
            &list("PodList", pods),
        );
        add(
            format!("cluster-resources/daemonsets/{ns}.json"),
            &list(
                "DaemonSetList",
                vec![
                    json!({"metadata": meta("agent", &ns, &dsuid, None), "spec": {"template": {"spec": spec("quay.io/acme/agent:2.0", "envoyproxy/envoy:v1.31.0")}}}),
                ],
            ),
        );
        add(
            format!("cluster-resources/cronjobs/{ns}.json"),
            &list(
                "CronJobList",
                vec![
                    json!({"metadata": meta("report", &ns, &cjuid, None), "spec": {"jobTemplate": {"spec": {"template": {"spec": spec("ghcr.io/acme/report:1.4", "envoyproxy/envoy:v1.31.0")}}}}}),
                ],
            ),
        );
        add(
            format!("cluster-resources/jobs/{ns}.json"),
            &list(
                "JobList",
                vec![
                    json!({"metadata": meta("report-1", &ns, &juid, Some(("CronJob", "report", &cjuid))), "spec": {"template": {"spec": spec("ghcr.io/acme/report:1.4", "envoyproxy/envoy:v1.31.0")}}}),
                ],
            ),
        );
    }
    out
}

/// The bundle as a `.tar.gz` (entries under `support-bundle-synthetic/`).
pub(crate) fn tar_gz(shape: Shape) -> Vec<u8> {
    let files = files(shape);
    let named: Vec<(String, &[u8])> = files
        .iter()
        .map(|(p, d)| (format!("support-bundle-synthetic/{p}"), d.as_slice()))
        .collect();
    let refs: Vec<(&str, &[u8])> = named.iter().map(|(p, d)| (p.as_str(), *d)).collect();
    imagefacts_testkit::gzip(&imagefacts_testkit::tar_files(&refs))
}

/// Writes the bundle as a directory under `root`.
pub(crate) fn write_dir(shape: Shape, root: &std::path::Path) {
    for (path, data) in files(shape) {
        let path = root.join("support-bundle-synthetic").join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(&path, data).unwrap_or_else(|e| panic!("write: {e}"));
    }
}
