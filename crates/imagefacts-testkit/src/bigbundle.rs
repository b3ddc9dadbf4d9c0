//! A large support bundle for the memory and speed benchmark: realistic pod JSON (about 10 KB a
//! pod, `managedFields` included, as `kubectl get -o json` prints it) under the usual layout.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde_json::{Value, json};

/// The top directory (and archive name) of the big bundle.
pub const BIG_BUNDLE: &str = "support-bundle-2026-11-28T11_00_00";

fn managed_fields(i: usize) -> Value {
    let fields = |prefix: &str| {
        let mut m = serde_json::Map::new();
        for k in 0..20 {
            m.insert(
                format!("f:{prefix}{k}"),
                json!({"f:name": {}, "f:value": {}, ".": {}, "k:{\"name\":\"x\"}": {"f:mountPath": {}}}),
            );
        }
        Value::Object(m)
    };
    json!([
        {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
         "time": "2026-11-28T10:00:00Z", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": fields("label"),
                      "f:ownerReferences": {format!("k:{{\"uid\":\"{i}\"}}"): {}}},
                      "f:spec": {"f:containers": fields("container")}}},
        {"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
         "time": "2026-11-28T10:00:05Z", "fieldsType": "FieldsV1", "subresource": "status",
         "fieldsV1": {"f:status": {"f:conditions": fields("condition"),
                      "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {}}}}
    ])
}

/// One pod of deployment `d` in namespace `ns`, about 10 KB of JSON.
fn pod(ns: &str, d: usize, i: usize, image: &str, node: &str) -> Value {
    let rs = format!("app{d}-7c9f8d6b5");
    let name = format!("{rs}-{i:05}");
    let env: Vec<Value> = (0..20)
        .map(|k| json!({"name": format!("SETTING_{k}"), "value": format!("value-{k}-for-{name}")}))
        .collect();
    json!({
        "metadata": {
            "name": name, "generateName": format!("{rs}-"), "namespace": ns,
            "uid": format!("00000000-0000-4000-8000-{i:012}"),
            "resourceVersion": (1_000_000 + i).to_string(),
            "creationTimestamp": "2026-11-28T10:00:00Z",
            "labels": {"app": format!("app{d}"), "pod-template-hash": "7c9f8d6b5",
                       "app.kubernetes.io/part-of": "bench", "tier": "backend"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                "uid": format!("rs-{ns}-{d}"), "controller": true, "blockOwnerDeletion": true}],
            "managedFields": managed_fields(i),
        },
        "spec": {
            "containers": [{
                "name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                "args": ["--port=8080", "--log-level=info"],
                "env": env,
                "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
                "resources": {"limits": {"cpu": "500m", "memory": "256Mi"},
                              "requests": {"cpu": "100m", "memory": "128Mi"}},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
                                   "periodSeconds": 10, "timeoutSeconds": 1},
                "volumeMounts": [{"name": "kube-api-access", "readOnly": true,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File"
            }],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "nodeName": node,
            "serviceAccountName": "default", "schedulerName": "default-scheduler",
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420,
                "sources": [{"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
        },
        "status": {
            "phase": "Running", "hostIP": "10.0.0.1", "podIP": format!("10.1.{}.{}", i / 250, i % 250),
            "qosClass": "Burstable", "startTime": "2026-11-28T10:00:00Z",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-28T10:00:00Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-28T10:00:05Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-28T10:00:05Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-28T10:00:00Z"}
            ],
            "containerStatuses": [{
                "name": "app", "ready": true, "restartCount": 0, "started": true, "image": image,
                "imageID": format!("{}@sha256:{:064x}", image.split(':').next().unwrap_or(image), d),
                "containerID": format!("containerd://{:064x}", i),
                "state": {"running": {"startedAt": "2026-11-28T10:00:04Z"}}
            }]
        }
    })
}

/// Writes a `.tar.gz` bundle of `pods` pods in `namespaces` namespaces (100 pods per
/// deployment, each deployment its own image under `registry`) into `dir`. Returns its path and
/// the bytes of JSON it holds (uncompressed).
///
/// # Errors
///
/// When the archive cannot be written.
pub fn write_big_bundle(
    dir: &Path,
    pods: usize,
    namespaces: usize,
    registry: &str,
) -> anyhow::Result<(PathBuf, u64)> {
    let path = dir.join(format!("{BIG_BUNDLE}.tar.gz"));
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut total = 0u64;
    let add = |tar: &mut tar::Builder<_>, name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_764_327_600);
        h.set_cksum();
        tar.append_data(&mut h, format!("{BIG_BUNDLE}/{name}"), bytes)?;
        Ok(())
    };
    let namespaces = namespaces.max(1);
    let per_ns = pods.div_ceil(namespaces);
    let mut made = 0;
    for n in 0..namespaces {
        let ns = format!("ns{n:03}");
        let count = per_ns.min(pods - made);
        let mut bytes =
            br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":["#
                .to_vec();
        for i in 0..count {
            if i > 0 {
                bytes.push(b',');
            }
            let d = (made + i) / 100;
            let image = format!("{registry}/bench/app{d}:1.0");
            let node = format!("node-{}", (made + i) % 20);
            serde_json::to_writer(&mut bytes, &pod(&ns, d, made + i, &image, &node))?;
        }
        bytes.extend_from_slice(b"]}\n");
        made += count;
        total += bytes.len() as u64;
        add(
            &mut tar,
            &format!("cluster-resources/pods/{ns}.json"),
            &bytes,
        )?;
    }
    let nodes: Vec<Value> = (0..20)
        .map(|k| {
            json!({"metadata": {"name": format!("node-{k}")},
            "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "amd64"}}})
        })
        .collect();
    let nodes = serde_json::to_vec(&json!({"kind": "NodeList", "items": nodes}))?;
    total += nodes.len() as u64;
    add(&mut tar, "cluster-resources/nodes.json", &nodes)?;
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()?.flush()?;
    Ok((path, total))
}
