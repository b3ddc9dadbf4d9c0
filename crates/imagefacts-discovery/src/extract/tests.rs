//! Table tests of the extractor: owner resolution, image keys, statuses, filters.

use imagefacts_model::discovery::{ContainerType, Discovery, RunningDigestKind, WorkloadRef};
use serde_json::{Value, json};

use super::{Extractor, ObjectOrigin, SourceKind, extract};
use crate::filter::NamespaceFilter;

fn origin() -> ObjectOrigin {
    ObjectOrigin::new(SourceKind::Cluster)
}

fn run(objects: Vec<Value>) -> Discovery {
    extract(
        objects.into_iter().map(|o| (origin(), o)),
        &NamespaceFilter::default(),
    )
}

fn owner(kind: &str, name: &str, uid: Option<&str>) -> Value {
    let mut r = json!({"kind": kind, "name": name, "controller": true});
    if let Some(uid) = uid {
        r["uid"] = json!(uid);
    }
    r
}

fn object(
    kind: &str,
    name: &str,
    uid: Option<&str>,
    owner: Option<Value>,
    replicas: Option<i64>,
    image: &str,
) -> Value {
    let mut meta = json!({"name": name, "namespace": "ns"});
    if let Some(uid) = uid {
        meta["uid"] = json!(uid);
    }
    if let Some(o) = owner {
        meta["ownerReferences"] = json!([o]);
    }
    let containers = json!([{"name": "c", "image": image}]);
    if kind == "Pod" {
        return json!({"kind": "Pod", "metadata": meta, "spec": {"containers": containers}, "status": {}});
    }
    let mut spec = json!({"template": {"spec": {"containers": containers}}});
    if let Some(r) = replicas {
        spec["replicas"] = json!(r);
    }
    if kind == "CronJob" {
        spec = json!({"jobTemplate": {"spec": spec}});
    }
    json!({"kind": kind, "metadata": meta, "spec": spec})
}

/// `(kind, name, pods)` of every workload of every image.
fn users(d: &Discovery) -> Vec<(String, String, String, Vec<String>)> {
    d.images
        .iter()
        .flat_map(|i| {
            i.workloads.iter().map(|w| {
                (
                    i.reference.to_string(),
                    w.kind.clone(),
                    w.name.clone(),
                    w.pods.clone(),
                )
            })
        })
        .collect()
}

fn s(v: &str) -> String {
    v.to_owned()
}

#[test]
fn owners_resolve_to_the_top() {
    type Case = (
        &'static str,
        Vec<Value>,
        Vec<(&'static str, &'static str, Vec<&'static str>)>,
    );
    let cases: Vec<Case> = vec![
        (
            "deployment chain by uid",
            vec![
                object("Deployment", "web", Some("d1"), None, Some(1), "app"),
                object(
                    "ReplicaSet",
                    "web-1",
                    Some("r1"),
                    Some(owner("Deployment", "web", Some("d1"))),
                    Some(1),
                    "app",
                ),
                object(
                    "Pod",
                    "web-1-a",
                    Some("p1"),
                    Some(owner("ReplicaSet", "web-1", Some("r1"))),
                    None,
                    "app",
                ),
            ],
            vec![("Deployment", "web", vec!["web-1-a"])],
        ),
        (
            "by kind and name when the reference has no uid",
            vec![
                object(
                    "ReplicaSet",
                    "web-1",
                    None,
                    Some(owner("Deployment", "web", None)),
                    Some(1),
                    "app",
                ),
                object("Deployment", "web", None, None, None, "app"),
                object(
                    "Pod",
                    "web-1-a",
                    None,
                    Some(owner("ReplicaSet", "web-1", None)),
                    None,
                    "app",
                ),
            ],
            vec![("Deployment", "web", vec!["web-1-a"])],
        ),
        (
            "by kind and name when the uid is unknown (object recreated)",
            vec![
                object("ReplicaSet", "web-1", Some("new"), None, Some(1), "app"),
                object(
                    "Pod",
                    "web-1-a",
                    None,
                    Some(owner("ReplicaSet", "web-1", Some("old"))),
                    None,
                    "app",
                ),
            ],
            vec![("ReplicaSet", "web-1", vec!["web-1-a"])],
        ),
        (
            "cronjob chain",
            vec![
                object("CronJob", "nightly", Some("c1"), None, None, "job"),
                object(
                    "Job",
                    "nightly-1",
                    Some("j1"),
                    Some(owner("CronJob", "nightly", Some("c1"))),
                    None,
                    "job",
                ),
                object(
                    "Pod",
                    "nightly-1-a",
                    None,
                    Some(owner("Job", "nightly-1", Some("j1"))),
                    None,
                    "job",
                ),
            ],
            vec![("CronJob", "nightly", vec!["nightly-1-a"])],
        ),
        (
            "an owner not collected is the top",
            vec![object(
                "Pod",
                "p",
                None,
                Some(owner("Rollout", "canary", Some("x"))),
                None,
                "app",
            )],
            vec![("Rollout", "canary", vec!["p"])],
        ),
        (
            "an old ReplicaSet at zero replicas is not a user; the Deployment scaled to zero is",
            vec![
                object("Deployment", "web", Some("d1"), None, Some(0), "new"),
                object(
                    "ReplicaSet",
                    "web-old",
                    Some("r0"),
                    Some(owner("Deployment", "web", Some("d1"))),
                    Some(0),
                    "old",
                ),
            ],
            vec![("Deployment", "web", vec![])],
        ),
        (
            "a template without pods is a workload",
            vec![object("StatefulSet", "db", None, None, Some(3), "pg")],
            vec![("StatefulSet", "db", vec![])],
        ),
    ];
    for (what, objects, want) in cases {
        let got: Vec<(String, String, Vec<String>)> = users(&run(objects))
            .into_iter()
            .map(|(_, k, n, p)| (k, n, p))
            .collect();
        let want: Vec<(String, String, Vec<String>)> = want
            .into_iter()
            .map(|(k, n, p)| (s(k), s(n), p.into_iter().map(s).collect()))
            .collect();
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn owners_are_looked_up_in_the_same_namespace() {
    let mut other = object("Deployment", "web", None, None, None, "app");
    other["metadata"]["namespace"] = json!("other");
    let rs = object(
        "ReplicaSet",
        "web-1",
        None,
        Some(owner("Deployment", "web", None)),
        Some(1),
        "app",
    );
    let d = run(vec![other, rs]);
    let got: Vec<(String, String)> = d.images[0]
        .workloads
        .iter()
        .map(|w| (w.namespace.clone(), w.kind.clone()))
        .collect();
    // The ReplicaSet's owner is not in its namespace: reported as named by the reference.
    assert_eq!(
        got,
        [(s("ns"), s("Deployment")), (s("other"), s("Deployment"))]
    );
}

#[test]
fn statuses_match_containers_by_name_and_list() {
    let hex = "ab".repeat(32);
    let pod = json!({
        "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "initContainers": [{"name": "same", "image": "init-image"}],
            "containers": [{"name": "same", "image": "main-image"}, {"name": "other", "image": "main-image"}],
        },
        "status": {
            "initContainerStatuses": [{"name": "same", "imageID": format!("docker://sha256:{hex}")}],
            "containerStatuses": [
                {"name": "same", "imageID": format!("main-image@sha256:{hex}")},
                {"name": "other", "imageID": "", "state": {"waiting": {"reason": "ErrImagePull", "message": "boom"}}},
                {"name": "gone", "imageID": format!("sha256:{hex}")},
            ],
        }
    });
    let d = run(vec![pod]);
    let init = d
        .images
        .iter()
        .find(|i| i.reference.as_str().contains("init-image"))
        .unwrap();
    assert_eq!(init.running_digests.len(), 1);
    assert_eq!(init.running_digests[0].kind, RunningDigestKind::ImageId);
    let main = d
        .images
        .iter()
        .find(|i| i.reference.as_str().contains("main-image"))
        .unwrap();
    assert_eq!(main.running_digests.len(), 1);
    assert_eq!(main.running_digests[0].kind, RunningDigestKind::RepoDigest);
    assert_eq!(main.running_digests[0].pods, ["ns/p"]);
    assert_eq!(main.pull_failures.len(), 1);
    assert_eq!(
        (
            main.pull_failures[0].container.as_str(),
            main.pull_failures[0].message.as_str()
        ),
        ("other", "boom")
    );
    assert_eq!(main.workloads.len(), 2);
}

#[test]
fn waiting_reasons_other_than_pull_failures_are_not_recorded() {
    let pod = json!({
        "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
        "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
    });
    assert!(run(vec![pod]).images[0].pull_failures.is_empty());
}

#[test]
fn images_are_keyed_by_normalised_reference() {
    let pod = json!({
        "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": [
            {"name": "a", "image": "nginx"},
            {"name": "b", "image": "docker.io/library/nginx:latest"},
            {"name": "c", "image": "index.docker.io/library/nginx"},
            {"name": "d", "image": "NotValid:"},
        ]},
    });
    let d = run(vec![pod]);
    let refs: Vec<(&str, Vec<String>)> = d
        .images
        .iter()
        .map(|i| {
            let aliases = i.aliases.iter().map(ToString::to_string).collect();
            (i.reference.as_str(), aliases)
        })
        .collect();
    assert_eq!(
        refs,
        [
            ("NotValid:", vec![]),
            (
                "docker.io/library/nginx:latest",
                vec![s("index.docker.io/library/nginx"), s("nginx")]
            ),
        ]
    );
    assert_eq!(d.images[1].workloads.len(), 3);
}

#[test]
fn service_account_secrets_and_node_platforms() {
    let sa = json!({"kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "ns"}, "imagePullSecrets": [{"name": "from-sa"}]});
    let node = json!({"kind": "Node", "metadata": {"name": "n1"}, "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "arm64"}}});
    let pod = json!({
        "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"serviceAccountName": "builder", "nodeName": "n1", "imagePullSecrets": [{"name": "own"}],
                 "containers": [{"name": "c", "image": "x"}]},
        "status": {"phase": "Running"}
    });
    let d = run(vec![pod, sa, node]);
    let secrets: Vec<&str> = d.images[0]
        .pull_secrets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(secrets, ["from-sa", "own"]);
    assert_eq!(d.images[0].node_platforms[0].to_string(), "linux/arm64");
    assert_eq!(d.cluster_platforms.len(), 1);
}

#[test]
fn order_of_objects_does_not_matter() {
    let objects = vec![
        object("Deployment", "web", Some("d1"), None, Some(1), "app"),
        object(
            "ReplicaSet",
            "web-1",
            Some("r1"),
            Some(owner("Deployment", "web", Some("d1"))),
            Some(1),
            "app",
        ),
        object(
            "Pod",
            "web-1-b",
            None,
            Some(owner("ReplicaSet", "web-1", Some("r1"))),
            None,
            "app",
        ),
        object(
            "Pod",
            "web-1-a",
            None,
            Some(owner("ReplicaSet", "web-1", Some("r1"))),
            None,
            "app:2",
        ),
        object("Pod", "solo", None, None, None, "app"),
    ];
    let forward = run(objects.clone());
    let mut reversed = objects;
    reversed.reverse();
    assert_eq!(forward, run(reversed));
    // `app:2` sorts before `app:latest`.
    assert_eq!(forward.images[0].reference, "docker.io/library/app:2");
    assert_eq!(
        forward.images[1].workloads,
        [
            WorkloadRef {
                namespace: s("ns"),
                kind: s("Deployment"),
                name: s("web"),
                container: s("c"),
                container_type: ContainerType::Regular,
                pods: vec![s("web-1-b")],
                inferred: false,
                cluster: None,
            },
            WorkloadRef {
                namespace: s("ns"),
                kind: s("Pod"),
                name: s("solo"),
                container: s("c"),
                container_type: ContainerType::Regular,
                pods: vec![s("solo")],
                inferred: false,
                cluster: None,
            },
        ]
    );
}

#[test]
fn lists_are_unwrapped_with_the_item_kind() {
    let list = json!({"kind": "PodList", "items": [
        {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
    ]});
    let d = run(vec![list]);
    assert_eq!(d.images[0].workloads[0].kind, "Pod");
    let generic = json!({"kind": "List", "items": [object("Job", "j", None, None, None, "y")]});
    assert_eq!(run(vec![generic]).images[0].workloads[0].kind, "Job");
}

#[test]
fn filtered_namespaces_are_dropped_with_their_errors() {
    let mut pod = object("Pod", "p", None, None, None, "");
    pod["metadata"]["namespace"] = json!("kube-system");
    let ns = json!({"kind": "Namespace", "metadata": {"name": "kube-system"}});
    let d = run(vec![pod, ns]);
    assert!(d.images.is_empty() && d.errors.is_empty() && d.namespaces.is_empty());
}

#[test]
fn kept_objects_are_the_selected_ones() {
    let filter = NamespaceFilter {
        exclude: vec!["hidden".into()],
        ..NamespaceFilter::default()
    };
    let origin = ObjectOrigin::new(SourceKind::Bundle);
    let mut x = Extractor::new(&filter).keeping_objects();
    for obj in [
        json!({"kind": "Pod", "metadata": {"name": "a", "namespace": "shop"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        json!({"kind": "Pod", "metadata": {"name": "b", "namespace": "hidden"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        json!({"kind": "Node", "metadata": {"name": "n1"}, "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "amd64"}}}),
        json!({"kind": "NamespaceList", "items": [{"metadata": {"name": "shop"}}, {"metadata": {"name": "hidden"}}]}),
    ] {
        x.add(&origin, obj);
    }
    let (d, kept) = x.finish_with_objects();
    assert_eq!(d.images.len(), 1);
    let seen: Vec<(&str, Option<&str>)> = kept
        .iter()
        .map(|k| (k.kind.as_str(), k.namespace.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [("Pod", Some("shop")), ("Node", None), ("Namespace", None)]
    );
    // Without keeping, nothing is retained.
    let (_, none) = Extractor::new(&filter).finish_with_objects();
    assert!(none.is_empty());
}
