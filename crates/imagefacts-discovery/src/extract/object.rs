//! Reading the few fields discovery needs out of a Kubernetes object held as JSON, tolerating any
//! shape: a field of the wrong type counts as absent.

use imagefacts_model::Platform;
use imagefacts_model::discovery::ContainerType;
use serde_json::Value;

/// `v[path[0]][path[1]]...`, when every step is an object holding the key.
pub(crate) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |cur, key| cur.as_object()?.get(*key))
}

/// The non-empty string at `path`.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path)?.as_str().filter(|s| !s.is_empty())
}

/// The array at `path`, or an empty slice.
pub(crate) fn arr_at<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The controller reference of an object (`metadata.ownerReferences[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnerRef {
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) uid: Option<String>,
}

/// Identity of a namespaced object, and its controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) kind: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) uid: Option<String>,
    pub(crate) owner: Option<OwnerRef>,
}

impl Meta {
    /// Reads `metadata`; `None` without a name.
    pub(crate) fn read(obj: &Value, kind: &str, namespace: &str) -> Option<Meta> {
        let name = str_at(obj, &["metadata", "name"])?;
        Some(Meta {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: str_at(obj, &["metadata", "uid"]).map(str::to_owned),
            owner: controller_ref(obj),
        })
    }
}

/// The owner reference marked `controller: true`, else the first one; references to a `Node`
/// (mirror pods of static pods) are not owners of a workload.
fn controller_ref(obj: &Value) -> Option<OwnerRef> {
    let mut first = None;
    for r in arr_at(obj, &["metadata", "ownerReferences"]) {
        let (Some(kind), Some(name)) = (str_at(r, &["kind"]), str_at(r, &["name"])) else {
            continue;
        };
        if kind == "Node" {
            continue;
        }
        let owner = OwnerRef {
            kind: kind.to_owned(),
            name: name.to_owned(),
            uid: str_at(r, &["uid"]).map(str::to_owned),
        };
        if get(r, &["controller"]).and_then(Value::as_bool) == Some(true) {
            return Some(owner);
        }
        first.get_or_insert(owner);
    }
    first
}

/// One container of a pod spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Container {
    pub(crate) name: String,
    /// `None` when the spec has no (string) image.
    pub(crate) image: Option<String>,
    pub(crate) container_type: ContainerType,
}

/// What discovery needs from a pod spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PodSpec {
    pub(crate) containers: Vec<Container>,
    pub(crate) pull_secrets: Vec<String>,
    pub(crate) service_account: String,
    pub(crate) node_name: Option<String>,
}

const CONTAINER_LISTS: [(&str, ContainerType); 3] = [
    ("initContainers", ContainerType::Init),
    ("containers", ContainerType::Regular),
    ("ephemeralContainers", ContainerType::Ephemeral),
];

impl PodSpec {
    /// Reads a `PodSpec` object.
    pub(crate) fn read(spec: &Value) -> PodSpec {
        let mut containers = Vec::new();
        for (list, container_type) in CONTAINER_LISTS {
            for c in arr_at(spec, &[list]) {
                if !c.is_object() {
                    continue;
                }
                containers.push(Container {
                    name: str_at(c, &["name"]).unwrap_or_default().to_owned(),
                    image: get(c, &["image"])
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    container_type,
                });
            }
        }
        PodSpec {
            containers,
            pull_secrets: secret_names(spec),
            service_account: str_at(spec, &["serviceAccountName"])
                .or_else(|| str_at(spec, &["serviceAccount"]))
                .unwrap_or("default")
                .to_owned(),
            node_name: str_at(spec, &["nodeName"]).map(str::to_owned),
        }
    }
}

/// Names in an `imagePullSecrets` list (of a pod spec or a service account).
pub(crate) fn secret_names(v: &Value) -> Vec<String> {
    arr_at(v, &["imagePullSecrets"])
        .iter()
        .filter_map(|s| str_at(s, &["name"]).map(str::to_owned))
        .collect()
}

/// Where a pod template is found in an object of `kind`, if anywhere.
pub(crate) fn pod_spec_of<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    let spec = if kind == "Pod" {
        get(obj, &["spec"])
    } else {
        get(obj, &["spec", "template", "spec"])
            .or_else(|| get(obj, &["spec", "jobTemplate", "spec", "template", "spec"]))
    }?;
    spec.is_object().then_some(spec)
}

/// A container status of a pod (`status.containerStatuses[]` and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub(crate) name: String,
    pub(crate) container_type: ContainerType,
    pub(crate) image_id: Option<String>,
    /// `(reason, message)` of a waiting state.
    pub(crate) waiting: Option<(String, String)>,
}

const STATUS_LISTS: [(&str, ContainerType); 3] = [
    ("initContainerStatuses", ContainerType::Init),
    ("containerStatuses", ContainerType::Regular),
    ("ephemeralContainerStatuses", ContainerType::Ephemeral),
];

/// Reads the container statuses of a pod.
pub(crate) fn statuses(pod: &Value) -> Vec<Status> {
    let mut out = Vec::new();
    for (list, container_type) in STATUS_LISTS {
        for s in arr_at(pod, &["status", list]) {
            let Some(name) = str_at(s, &["name"]) else {
                continue;
            };
            let waiting = str_at(s, &["state", "waiting", "reason"]).map(|reason| {
                let message = str_at(s, &["state", "waiting", "message"]).unwrap_or_default();
                (reason.to_owned(), message.to_owned())
            });
            out.push(Status {
                name: name.to_owned(),
                container_type,
                image_id: str_at(s, &["imageID"]).map(str::to_owned),
                waiting,
            });
        }
    }
    out
}

/// A node's platform: `status.nodeInfo.operatingSystem/architecture`, else the
/// `kubernetes.io/os|arch` labels (and their deprecated `beta.` forms).
pub(crate) fn node_platform(node: &Value) -> Option<Platform> {
    let label = |key: &str| {
        str_at(
            node,
            &["metadata", "labels", &format!("kubernetes.io/{key}")],
        )
        .or_else(|| {
            str_at(
                node,
                &["metadata", "labels", &format!("beta.kubernetes.io/{key}")],
            )
        })
    };
    let arch = str_at(node, &["status", "nodeInfo", "architecture"]).or_else(|| label("arch"))?;
    let os = str_at(node, &["status", "nodeInfo", "operatingSystem"])
        .or_else(|| label("os"))
        .unwrap_or("linux");
    Some(Platform::new(os, arch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn controller_ref_prefers_controller_and_skips_nodes() {
        let obj = json!({"metadata": {"name": "p", "ownerReferences": [
            {"kind": "Foo", "name": "gc-only", "uid": "1"},
            {"kind": "ReplicaSet", "name": "rs", "uid": "2", "controller": true}
        ]}});
        let owner = Meta::read(&obj, "Pod", "ns").unwrap().owner.unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ReplicaSet", "rs")
        );

        let mirror = json!({"metadata": {"name": "kube-apiserver-n1", "ownerReferences": [
            {"kind": "Node", "name": "n1", "uid": "3", "controller": true}
        ]}});
        assert_eq!(
            Meta::read(&mirror, "Pod", "kube-system").unwrap().owner,
            None
        );

        let first = json!({"metadata": {"name": "p", "ownerReferences": [
            {"kind": "Job", "name": "j"}, {"kind": "Other", "name": "o"}
        ]}});
        assert_eq!(
            Meta::read(&first, "Pod", "ns").unwrap().owner.unwrap().name,
            "j"
        );
    }

    #[test]
    fn pod_spec_paths() {
        let deploy =
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
        assert!(pod_spec_of(&deploy, "Deployment").is_some());
        let pod = json!({"spec": {"containers": []}});
        assert_eq!(pod_spec_of(&pod, "Pod"), Some(&json!({"containers": []})));
        let cron =
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        assert!(pod_spec_of(&cron, "CronJob").is_some());
        assert!(pod_spec_of(&json!({"spec": {"template": "nope"}}), "X").is_none());
        assert!(pod_spec_of(&json!([1, 2]), "Pod").is_none());
    }

    #[test]
    fn spec_fields_of_odd_types_are_absent() {
        let spec = json!({
            "containers": [{"name": "a", "image": 7}, "junk", {"image": "b"}],
            "initContainers": {"not": "a list"},
            "imagePullSecrets": [{"name": "s"}, {"name": 3}, null],
            "serviceAccount": "legacy",
            "nodeName": ""
        });
        let p = PodSpec::read(&spec);
        assert_eq!(p.containers.len(), 2);
        assert_eq!(p.containers[0].image, None);
        assert_eq!(p.containers[1].name, "");
        assert_eq!(p.containers[1].image.as_deref(), Some("b"));
        assert_eq!(p.pull_secrets, ["s"]);
        assert_eq!(p.service_account, "legacy");
        assert_eq!(p.node_name, None);
    }

    #[test]
    fn node_platform_falls_back_to_labels() {
        let info =
            json!({"status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "arm64"}}});
        assert_eq!(node_platform(&info), Some(Platform::new("linux", "arm64")));
        let labels = json!({"metadata": {"labels": {"kubernetes.io/os": "windows", "kubernetes.io/arch": "amd64"}},
            "status": {"nodeInfo": {"architecture": ""}}});
        assert_eq!(
            node_platform(&labels),
            Some(Platform::new("windows", "amd64"))
        );
        let beta = json!({"metadata": {"labels": {"beta.kubernetes.io/arch": "s390x"}}});
        assert_eq!(node_platform(&beta), Some(Platform::new("linux", "s390x")));
        assert_eq!(node_platform(&json!({"metadata": {}})), None);
    }
}
