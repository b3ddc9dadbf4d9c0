//! From the typed views of an object ([`crate::view`]) to the records discovery keeps: identity
//! and controller, pod spec, container statuses, node platform.

use imagefacts_model::Platform;
use imagefacts_model::discovery::ContainerType;

use crate::view::{self, Object};

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
    pub(crate) fn read(meta: &view::Metadata, kind: &str, namespace: &str) -> Option<Meta> {
        let name = meta.name.get()?;
        Some(Meta {
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            uid: meta.uid.get().map(str::to_owned),
            owner: controller_ref(meta),
        })
    }
}

/// The owner reference marked `controller: true`, else the first one; references to a `Node`
/// (mirror pods of static pods) are not owners of a workload.
fn controller_ref(meta: &view::Metadata) -> Option<OwnerRef> {
    let mut first = None;
    for r in meta.owner_references.iter() {
        let (Some(kind), Some(name)) = (r.kind.get(), r.name.get()) else {
            continue;
        };
        if kind == "Node" {
            continue;
        }
        let owner = OwnerRef {
            kind: kind.to_owned(),
            name: name.to_owned(),
            uid: r.uid.get().map(str::to_owned),
        };
        if r.controller.0 == Some(true) {
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

impl PodSpec {
    /// Reads a pod spec.
    pub(crate) fn read(spec: &view::Spec) -> PodSpec {
        let lists = [
            (&spec.init_containers, ContainerType::Init),
            (&spec.containers, ContainerType::Regular),
            (&spec.ephemeral_containers, ContainerType::Ephemeral),
        ];
        let mut containers = Vec::new();
        for (list, container_type) in lists {
            for c in list.iter() {
                containers.push(Container {
                    name: c.name.get().unwrap_or_default().to_owned(),
                    image: c.image.get().map(str::to_owned),
                    container_type,
                });
            }
        }
        PodSpec {
            containers,
            pull_secrets: secret_names(&spec.image_pull_secrets),
            service_account: spec
                .service_account_name
                .get()
                .or(spec.service_account.get())
                .unwrap_or("default")
                .to_owned(),
            node_name: spec.node_name.get().map(str::to_owned),
        }
    }
}

/// Names in an `imagePullSecrets` list (of a pod spec or a service account).
pub(crate) fn secret_names(refs: &[view::NameRef]) -> Vec<String> {
    refs.iter()
        .filter_map(|s| s.name.get().map(str::to_owned))
        .collect()
}

/// Where a pod spec is found in an object of `kind`, if anywhere.
pub(crate) fn pod_spec_of<'a>(obj: &'a Object, kind: &str) -> Option<&'a view::Spec> {
    let spec = obj.spec.as_ref()?;
    if kind == "Pod" {
        return Some(spec);
    }
    let template = |s: &'a view::Spec| s.template.get()?.spec.get().map(|b| &**b);
    template(spec).or_else(|| template(spec.job_template.get()?.spec.get()?))
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

/// Reads the container statuses of a pod.
pub(crate) fn statuses(status: &view::Status) -> Vec<Status> {
    let lists = [
        (&status.init_container_statuses, ContainerType::Init),
        (&status.container_statuses, ContainerType::Regular),
        (
            &status.ephemeral_container_statuses,
            ContainerType::Ephemeral,
        ),
    ];
    let mut out = Vec::new();
    for (list, container_type) in lists {
        for s in list.iter() {
            let Some(name) = s.name.get() else {
                continue;
            };
            let waiting = s.state.get().and_then(|st| st.waiting.get()).and_then(|w| {
                let reason = w.reason.get()?;
                Some((
                    reason.to_owned(),
                    w.message.get().unwrap_or_default().to_owned(),
                ))
            });
            out.push(Status {
                name: name.to_owned(),
                container_type,
                image_id: s.image_id.get().map(str::to_owned),
                waiting,
            });
        }
    }
    out
}

/// A node's platform: `status.nodeInfo.operatingSystem/architecture`, else the
/// `kubernetes.io/os|arch` labels (and their deprecated `beta.` forms).
pub(crate) fn node_platform(node: &Object) -> Option<Platform> {
    let labels = &node.metadata.labels.0;
    let label = |key: &str| {
        labels
            .get(&format!("kubernetes.io/{key}"))
            .or_else(|| labels.get(&format!("beta.kubernetes.io/{key}")))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let info = node.status.node_info.get();
    let arch = info
        .and_then(|i| i.architecture.get())
        .or_else(|| label("arch"))?;
    let os = info
        .and_then(|i| i.operating_system.get())
        .or_else(|| label("os"))
        .unwrap_or("linux");
    Some(Platform::new(os, arch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn object(v: Value) -> Object {
        let mut out = None;
        crate::view::decode(&v, None, &mut |e| {
            if let crate::view::Event::Object(o, _) = e {
                out = Some(*o);
            }
        })
        .unwrap();
        out.expect("an object")
    }

    fn spec(v: Value) -> view::Spec {
        object(json!({"spec": v})).spec.unwrap()
    }

    #[test]
    fn controller_ref_prefers_controller_and_skips_nodes() {
        let obj = object(json!({"metadata": {"name": "p", "ownerReferences": [
            {"kind": "Foo", "name": "gc-only", "uid": "1"},
            {"kind": "ReplicaSet", "name": "rs", "uid": "2", "controller": true}
        ]}}));
        let owner = Meta::read(&obj.metadata, "Pod", "ns")
            .unwrap()
            .owner
            .unwrap();
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("ReplicaSet", "rs")
        );

        let mirror = object(
            json!({"metadata": {"name": "kube-apiserver-n1", "ownerReferences": [
                {"kind": "Node", "name": "n1", "uid": "3", "controller": true}
            ]}}),
        );
        assert_eq!(
            Meta::read(&mirror.metadata, "Pod", "kube-system")
                .unwrap()
                .owner,
            None
        );

        let first = object(json!({"metadata": {"name": "p", "ownerReferences": [
            {"kind": "Job", "name": "j"}, {"kind": "Other", "name": "o"}
        ]}}));
        assert_eq!(
            Meta::read(&first.metadata, "Pod", "ns")
                .unwrap()
                .owner
                .unwrap()
                .name,
            "j"
        );
    }

    #[test]
    fn pod_spec_paths() {
        let deploy = object(
            json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}),
        );
        assert_eq!(
            pod_spec_of(&deploy, "Deployment").unwrap().containers.len(),
            1
        );
        let pod = object(json!({"spec": {"containers": []}}));
        assert!(pod_spec_of(&pod, "Pod").is_some());
        let cron = object(
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "c"}]}}}}}}),
        );
        assert_eq!(pod_spec_of(&cron, "CronJob").unwrap().containers.len(), 1);
        assert!(pod_spec_of(&object(json!({"spec": {"template": "nope"}})), "X").is_none());
        assert!(pod_spec_of(&object(json!({"spec": [1, 2]})), "Pod").is_none());
    }

    #[test]
    fn spec_fields_of_odd_types_are_absent() {
        let p = PodSpec::read(&spec(json!({
            "containers": [{"name": "a", "image": 7}, "junk", {"image": "b"}],
            "initContainers": {"not": "a list"},
            "imagePullSecrets": [{"name": "s"}, {"name": 3}, null],
            "serviceAccount": "legacy",
            "nodeName": ""
        })));
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
        let info = object(
            json!({"status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "arm64"}}}),
        );
        assert_eq!(node_platform(&info), Some(Platform::new("linux", "arm64")));
        let labels = object(
            json!({"metadata": {"labels": {"kubernetes.io/os": "windows", "kubernetes.io/arch": "amd64"}},
            "status": {"nodeInfo": {"architecture": ""}}}),
        );
        assert_eq!(
            node_platform(&labels),
            Some(Platform::new("windows", "amd64"))
        );
        let beta = object(json!({"metadata": {"labels": {"beta.kubernetes.io/arch": "s390x"}}}));
        assert_eq!(node_platform(&beta), Some(Platform::new("linux", "s390x")));
        assert_eq!(node_platform(&object(json!({"metadata": {}}))), None);
    }
}
