//! The objects of the fixture cluster, as `kubectl get -o json` prints them.

use serde_json::{Value, json};

use super::*;

/// The objects of a cluster, before any layout decides how to write them.
pub(super) struct Cluster {
    pub(super) namespaces: Vec<Value>,
    pub(super) nodes: Vec<Value>,
    /// Namespaced objects of the kinds in [`KINDS`].
    pub(super) objects: Vec<Value>,
    /// (path, text) of the one pod log.
    pub(super) log: (String, String),
    /// (registry host, namespace) of the `regcred` pull secret, if any.
    pub(super) pull_secret: Option<(String, String)>,
}

pub(super) fn cluster(im: &FixtureImages) -> Cluster {
    let id = |image: &str, digest: &str| format!("{}@{digest}", repository(image));
    let mut objects = deploy_chain(
        "shop",
        "web",
        "5d9f8c7b6",
        &im.web,
        &[
            ("abcde", "n1", id(&im.web, &im.web_digest)),
            (
                "fghij",
                "n2",
                format!("docker-pullable://{}", id(&im.web, &im.web_digest_other)),
            ),
        ],
    );
    let db = json!({"app": "db"});
    objects.push(object(
        Meta::new("StatefulSet", "shop", "db", db.clone()),
        json!({"replicas": 1, "serviceName": "db", "selector": {"matchLabels": db},
            "template": template(&db, "db", &im.db, "shop", "Always"),
            "podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}),
        json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "currentReplicas": 1,
            "updatedReplicas": 1, "availableReplicas": 1, "currentRevision": "db-6b7f9c8d5",
            "updateRevision": "db-6b7f9c8d5", "collisionCount": 0}),
    ));
    let db_pod = json!({"app": "db", "controller-revision-hash": "db-6b7f9c8d5",
        "statefulset.kubernetes.io/pod-name": "db-0"});
    objects.push(pod(Pod {
        meta: Meta::new("Pod", "shop", "db-0", db_pod).owner("StatefulSet", "db"),
        node: "n1",
        container: "db",
        image: &im.db,
        image_id: id(&im.db, &im.db_digest),
        succeeded: false,
    }));
    let agent = json!({"app": "agent"});
    objects.push(object(
        Meta::new("DaemonSet", "shop", "agent", agent.clone()),
        json!({"selector": {"matchLabels": agent}, "revisionHistoryLimit": 10,
            "template": template(&agent, "agent", &im.agent, "shop", "Always"),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}}),
        json!({"currentNumberScheduled": 2, "numberMisscheduled": 0, "desiredNumberScheduled": 2,
            "numberReady": 2, "observedGeneration": 1, "updatedNumberScheduled": 2, "numberAvailable": 2}),
    ));
    for (name, node) in [("agent-x1", "n1"), ("agent-y2", "n2")] {
        let labels = json!({"app": "agent", "controller-revision-hash": "7c9d8b6f54", "pod-template-generation": "1"});
        objects.push(pod(Pod {
            meta: Meta::new("Pod", "shop", name, labels).owner("DaemonSet", "agent"),
            node,
            container: "agent",
            image: &im.agent,
            image_id: id(&im.agent, &im.agent_digest),
            succeeded: false,
        }));
    }
    let report = json!({"app": "report"});
    let report_tpl = template(&report, "report", &im.report, "shop", "OnFailure");
    objects.push(object(
        Meta::new("CronJob", "shop", "report", report.clone()),
        json!({"schedule": "0 3 * * *", "concurrencyPolicy": "Forbid", "suspend": false,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"metadata": {"creationTimestamp": null}, "spec": {"template": report_tpl}}}),
        json!({"lastScheduleTime": "2026-11-27T03:00:00Z", "lastSuccessfulTime": "2026-11-27T03:00:21Z"}),
    ));
    let job = "report-29370420";
    let job_uid = uid("Job", "shop", job);
    let job_labels = json!({"app": "report", "batch.kubernetes.io/controller-uid": job_uid,
        "batch.kubernetes.io/job-name": job, "controller-uid": job_uid, "job-name": job});
    objects.push(object(
        Meta::new("Job", "shop", job, job_labels.clone()).owner("CronJob", "report"),
        json!({"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
            "template": template(&job_labels, "report", &im.report, "shop", "OnFailure")}),
        json!({"conditions": [condition("Complete", true, None)], "startTime": "2026-11-27T03:00:00Z",
            "completionTime": "2026-11-27T03:00:21Z", "succeeded": 1}),
    ));
    objects.push(pod(Pod {
        meta: Meta::new("Pod", "shop", "report-29370420-q8v2n", job_labels).owner("Job", job),
        node: "n1",
        container: "report",
        image: &im.report,
        image_id: format!("docker://{}", digest_of("report runtime image id")),
        succeeded: true,
    }));
    objects.extend(deploy_chain(
        "kube-system",
        "coredns",
        "7db6d8ff4d",
        &im.system,
        &[("k8s9x", "n1", id(&im.system, &im.system_digest))],
    ));
    objects.extend([
        service("shop", "web", "10.43.12.7", 80, 8080),
        service("shop", "db", "None", 5432, 5432),
        service("kube-system", "kube-dns", "10.43.0.10", 53, 53),
    ]);
    for (pod, node) in [
        ("web-5d9f8c7b6-abcde", "n1"),
        ("web-5d9f8c7b6-fghij", "n2"),
        ("db-0", "n1"),
    ] {
        objects.push(event("shop", pod, node));
    }
    let n =
        |image: &str, digest: &str, size: u64| (vec![id(image, digest), image.to_owned()], size);
    Cluster {
        namespaces: ["shop", "empty-ns", "kube-system"].map(namespace).to_vec(),
        nodes: vec![
            node(
                "n1",
                "amd64",
                "containerd://1.7.22",
                vec![
                    n(&im.db, &im.db_digest, 84_725_632),
                    n(&im.agent, &im.agent_digest, 25_614_336),
                    n(&im.system, &im.system_digest, 18_562_039),
                    n(&im.web, &im.web_digest, 11_111_111),
                    n(&im.report, &im.report_digest, 9_437_184),
                ],
            ),
            node(
                "n2",
                "arm64",
                "docker://24.0.7",
                vec![
                    n(&im.agent, &im.agent_digest, 24_117_248),
                    n(&im.web, &im.web_digest_other, 22_222_222),
                ],
            ),
        ],
        objects,
        log: (
            "cluster-resources/pods/logs/shop/web-5d9f8c7b6-abcde/web.log".into(),
            "2026-11-27T06:12:42Z listening on :8080\n2026-11-27T06:13:05Z GET /healthz 200\n"
                .into(),
        ),
        pull_secret: Some((registry_host(&im.web).to_owned(), "shop".into())),
    }
}

pub(super) fn k3s_cluster(im: &FixtureImages) -> Cluster {
    let id = format!("{}@{}", repository(&im.system), im.system_digest);
    let mut objects = Vec::new();
    for (name, hash, suffix) in [
        ("coredns", "7db6d8ff4d", "k8s9x"),
        ("local-path-provisioner", "6795b5f9d8", "2xjvq"),
        ("metrics-server", "cdcc87586", "7rwqs"),
        ("traefik", "d7c9c5778", "5lzmp"),
    ] {
        objects.extend(deploy_chain(
            "kube-system",
            name,
            hash,
            &im.system,
            &[(suffix, "n1", id.clone())],
        ));
    }
    objects.push(service("kube-system", "kube-dns", "10.43.0.10", 53, 53));
    Cluster {
        namespaces: ["default", "kube-system", "kube-public", "kube-node-lease"]
            .map(namespace)
            .to_vec(),
        nodes: vec![node(
            "n1",
            "amd64",
            "containerd://1.7.22-k3s1",
            vec![(vec![id, im.system.clone()], 18_562_039)],
        )],
        objects,
        log: (
            "cluster-resources/pods/logs/kube-system/coredns-7db6d8ff4d-k8s9x/coredns.log".into(),
            ".:53\nCoreDNS-1.11.3\nlinux/amd64, go1.22.7\n".into(),
        ),
        pull_secret: None,
    }
}

/// Name, namespace, labels and controller of an object.
pub(super) struct Meta<'a> {
    pub(super) kind: &'a str,
    pub(super) ns: &'a str,
    pub(super) name: &'a str,
    pub(super) labels: Value,
    pub(super) owner: Option<(&'a str, &'a str)>,
}

impl<'a> Meta<'a> {
    fn new(kind: &'a str, ns: &'a str, name: &'a str, labels: Value) -> Self {
        let owner = None;
        Meta {
            kind,
            ns,
            name,
            labels,
            owner,
        }
    }

    /// The same object, controlled by `kind`/`name` of its namespace.
    fn owner(self, kind: &'a str, name: &'a str) -> Self {
        let owner = Some((kind, name));
        Meta { owner, ..self }
    }
}

pub(super) fn api_of(kind: &str) -> &'static str {
    match kind {
        "Pod" | "Service" | "Event" | "Namespace" | "Node" => "v1",
        "Job" | "CronJob" => "batch/v1",
        _ => "apps/v1",
    }
}

/// An object as `kubectl get -o json` prints it, with managed fields and (for objects a user
/// applied) the last-applied annotation.
pub(super) fn object(m: Meta<'_>, spec: Value, status: Value) -> Value {
    let (kind, api) = (m.kind, api_of(m.kind));
    let label_fields: serde_json::Map<String, Value> = (m.labels.as_object().into_iter().flatten())
        .map(|(k, _)| (format!("f:{k}"), json!({})))
        .collect();
    let mut owner_fields = json!({});
    let mut meta = json!({"name": m.name, "namespace": m.ns, "uid": uid(kind, m.ns, m.name),
        "resourceVersion": resource_version(&format!("{kind}/{}/{}", m.ns, m.name)),
        "creationTimestamp": CREATED, "labels": m.labels});
    if let Some((okind, oname)) = m.owner {
        let ouid = uid(okind, m.ns, oname);
        meta["ownerReferences"] = json!([{"apiVersion": api_of(okind), "kind": okind, "name": oname,
            "uid": ouid, "controller": true, "blockOwnerDeletion": true}]);
        owner_fields = json!({".": {}, format!("k:{{\"uid\":\"{ouid}\"}}"): {}});
        if kind == "Pod" {
            meta["generateName"] = json!(
                m.name
                    .rsplit_once('-')
                    .map_or(m.name, |(p, _)| p)
                    .to_owned()
                    + "-"
            );
        }
    } else {
        let applied = json!({"apiVersion": api, "kind": kind, "metadata": {"name": m.name, "namespace": m.ns}, "spec": spec});
        meta["annotations"] =
            json!({"kubectl.kubernetes.io/last-applied-configuration": format!("{applied}\n")});
    }
    if kind != "Pod" {
        meta["generation"] = json!(1);
    }
    let creator = if m.owner.is_some() {
        "kube-controller-manager"
    } else {
        "kubectl-client-side-apply"
    };
    let status_manager = if kind == "Pod" {
        "kubelet"
    } else {
        "kube-controller-manager"
    };
    meta["managedFields"] = json!([
        {"manager": creator, "operation": "Update", "apiVersion": api, "time": CREATED, "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": label_fields, "f:ownerReferences": owner_fields}, "f:spec": {}}},
        {"manager": status_manager, "operation": "Update", "apiVersion": api, "time": STARTED, "fieldsType": "FieldsV1",
            "subresource": "status", "fieldsV1": {"f:status": {"f:conditions": {".": {}}}}},
    ]);
    json!({"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec, "status": status})
}

pub(super) fn condition(kind: &str, ok: bool, reason: Option<&str>) -> Value {
    let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" },
        "lastProbeTime": null, "lastTransitionTime": STARTED});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    c
}

pub(super) fn container(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "resources": {},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
}

/// A pod template; pods of `shop` name the `regcred` pull secret.
pub(super) fn template(labels: &Value, name: &str, image: &str, ns: &str, restart: &str) -> Value {
    let mut spec = json!({"containers": [container(name, image)], "restartPolicy": restart,
        "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "securityContext": {},
        "schedulerName": "default-scheduler"});
    if ns == "shop" {
        spec["imagePullSecrets"] = json!([{"name": "regcred"}]);
    }
    json!({"metadata": {"creationTimestamp": null, "labels": labels}, "spec": spec})
}

/// A pod on `node` whose one container runs `image` and reports `image_id`.
pub(super) struct Pod<'a> {
    pub(super) meta: Meta<'a>,
    pub(super) node: &'a str,
    pub(super) container: &'a str,
    pub(super) image: &'a str,
    pub(super) image_id: String,
    pub(super) succeeded: bool,
}

pub(super) fn pod(p: Pod<'_>) -> Value {
    let restart = if p.succeeded { "OnFailure" } else { "Always" };
    let mut spec =
        template(&p.meta.labels, p.container, p.image, p.meta.ns, restart)["spec"].take();
    spec["nodeName"] = json!(p.node);
    spec["serviceAccountName"] = json!("default");
    spec["serviceAccount"] = json!("default");
    spec["priority"] = json!(0);
    spec["enableServiceLinks"] = json!(true);
    spec["preemptionPolicy"] = json!("PreemptLowerPriority");
    spec["tolerations"] = json!(
        ["not-ready", "unreachable"].map(|t| json!({"key": format!("node.kubernetes.io/{t}"),
        "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}))
    );
    let runtime = if p.node == "n2" {
        "docker"
    } else {
        "containerd"
    };
    let cid = format!("{runtime}://{}", &digest_of(p.meta.name)[7..]);
    let (ready, phase, state) = if p.succeeded {
        (
            false,
            "Succeeded",
            json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": STARTED,
            "finishedAt": "2026-11-27T06:13:02Z", "containerID": cid}}),
        )
    } else {
        (true, "Running", json!({"running": {"startedAt": STARTED}}))
    };
    let done = (!ready).then_some("PodCompleted");
    let host_ip = node_ip(p.node);
    let pod_ip = format!(
        "10.42.{}.{}",
        u8::from(p.node == "n2"),
        10 + digest_of(p.meta.name).as_bytes()[8] % 200
    );
    let status = json!({"phase": phase, "conditions": [
            condition("PodReadyToStartContainers", ready, None), condition("Initialized", true, done),
            condition("Ready", ready, done), condition("ContainersReady", ready, done),
            condition("PodScheduled", true, None)],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
        "startTime": STARTED, "qosClass": "BestEffort",
        "containerStatuses": [{"name": p.container, "state": state, "lastState": {}, "ready": ready,
            "restartCount": 0, "image": p.image, "imageID": p.image_id, "containerID": cid, "started": ready}]});
    object(p.meta, spec, status)
}

/// Deployment `name` → ReplicaSet `name-hash` → one pod per `(suffix, node, imageID)`.
pub(super) fn deploy_chain(
    ns: &str,
    name: &str,
    hash: &str,
    image: &str,
    pods: &[(&str, &str, String)],
) -> Vec<Value> {
    let n = pods.len();
    let rs = format!("{name}-{hash}");
    let labels = json!({"app": name});
    let mut rs_labels = labels.clone();
    rs_labels["pod-template-hash"] = json!(hash);
    let progressed = format!("ReplicaSet \"{rs}\" has successfully progressed.");
    let mut out = vec![
        object(
            Meta::new("Deployment", ns, name, labels.clone()),
            json!({"replicas": n, "selector": {"matchLabels": labels}, "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600, "template": template(&labels, name, image, ns, "Always"),
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}}),
            json!({"observedGeneration": 1, "replicas": n, "updatedReplicas": n, "readyReplicas": n,
                "availableReplicas": n, "conditions": [
                    {"type": "Available", "status": "True", "lastUpdateTime": STARTED, "lastTransitionTime": STARTED,
                        "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                    {"type": "Progressing", "status": "True", "lastUpdateTime": STARTED, "lastTransitionTime": CREATED,
                        "reason": "NewReplicaSetAvailable", "message": progressed}]}),
        ),
        object(
            Meta::new("ReplicaSet", ns, &rs, rs_labels.clone()).owner("Deployment", name),
            json!({"replicas": n, "selector": {"matchLabels": rs_labels},
                "template": template(&rs_labels, name, image, ns, "Always")}),
            json!({"replicas": n, "fullyLabeledReplicas": n, "readyReplicas": n, "availableReplicas": n,
                "observedGeneration": 1}),
        ),
    ];
    for (suffix, node, image_id) in pods {
        out.push(pod(Pod {
            meta: Meta::new("Pod", ns, &format!("{rs}-{suffix}"), rs_labels.clone())
                .owner("ReplicaSet", &rs),
            node,
            container: name,
            image,
            image_id: image_id.clone(),
            succeeded: false,
        }));
    }
    out
}

pub(super) fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": uid("Namespace", "", name),
        "resourceVersion": resource_version(name), "creationTimestamp": CREATED,
        "labels": {"kubernetes.io/metadata.name": name}, "managedFields": [{"manager": "kubectl-create",
            "operation": "Update", "apiVersion": "v1", "time": CREATED, "fieldsType": "FieldsV1",
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}}}]},
        "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

pub(super) fn node(
    name: &str,
    arch: &str,
    runtime: &str,
    images: Vec<(Vec<String>, u64)>,
) -> Value {
    let images: Vec<Value> = images
        .into_iter()
        .map(|(names, size)| json!({"names": names, "sizeBytes": size}))
        .collect();
    let ip = node_ip(name);
    let pressure = |t: &str, reason: &str| {
        json!({"type": t, "status": "False", "lastHeartbeatTime": "2026-11-28T09:58:12Z",
        "lastTransitionTime": CREATED, "reason": reason, "message": format!("kubelet has no {}", t.to_lowercase())})
    };
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "uid": uid("Node", "", name),
            "resourceVersion": resource_version(name), "creationTimestamp": CREATED,
            "labels": {"beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": arch,
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
            "managedFields": [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": STARTED,
                "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {"f:images": {}, "f:nodeInfo": {}}}}]},
        "spec": {"podCIDR": format!("10.42.{}.0/24", u8::from(name == "n2")), "providerID": format!("k3s://{name}")},
        "status": {"capacity": {"cpu": "4", "memory": "8029744Ki", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8029744Ki", "pods": "110"},
            "conditions": [pressure("MemoryPressure", "KubeletHasSufficientMemory"),
                pressure("DiskPressure", "KubeletHasNoDiskPressure"), pressure("PIDPressure", "KubeletHasSufficientPID"),
                {"type": "Ready", "status": "True", "lastHeartbeatTime": "2026-11-28T09:58:12Z", "lastTransitionTime": CREATED,
                    "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"machineID": &digest_of(name)[7..39], "systemUUID": uid("Node", "system", name),
                "bootID": uid("Node", "boot", name), "kernelVersion": "6.8.0-49-generic", "osImage": "Ubuntu 24.04.1 LTS",
                "containerRuntimeVersion": runtime, "kubeletVersion": "v1.31.2", "kubeProxyVersion": "v1.31.2",
                "operatingSystem": "linux", "architecture": arch},
            "images": images}})
}

pub(super) fn node_ip(node: &str) -> &'static str {
    if node == "n2" {
        "10.0.0.12"
    } else {
        "10.0.0.11"
    }
}

pub(super) fn service(ns: &str, name: &str, ip: &str, port: u16, target: u16) -> Value {
    let meta = Meta::new("Service", ns, name, json!({"app": name}));
    let spec = json!({"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "selector": {"app": name},
        "ports": [{"name": "main", "protocol": "TCP", "port": port, "targetPort": target}],
        "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"});
    let mut s = object(meta, spec, json!({"loadBalancer": {}}));
    if let Some(m) = s["metadata"].as_object_mut() {
        m.shift_remove("generation");
    }
    s
}

/// A `Scheduled` event (events are about images only by accident; these are not).
pub(super) fn event(ns: &str, pod: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{pod}.{}", &digest_of(pod)[7..23]),
            "namespace": ns, "uid": uid("Event", ns, pod), "resourceVersion": resource_version(pod),
            "creationTimestamp": STARTED},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "uid": uid("Pod", ns, pod), "apiVersion": "v1"},
        "reason": "Scheduled", "message": format!("Successfully assigned {ns}/{pod} to {node}"),
        "source": {"component": "default-scheduler"}, "firstTimestamp": null, "lastTimestamp": null,
        "eventTime": "2026-11-27T06:12:40.123456Z", "type": "Normal", "action": "Binding",
        "reportingComponent": "default-scheduler", "reportingInstance": "default-scheduler-cp"})
}

pub(super) fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com", "uid": uid("CRD", "", "widgets"), "resourceVersion": "5121",
            "creationTimestamp": CREATED},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
        "status": {"acceptedNames": {"plural": "widgets", "kind": "Widget"}, "storedVersions": ["v1"]}})
}

/// Two `Widget`s of `shop`: `storefront` (a pod-template-like spec running `web`) and `backoffice`.
pub(super) fn widgets(web: &str) -> Vec<Value> {
    let w = |name: &str, spec: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "shop",
            "uid": uid("Widget", "shop", name), "resourceVersion": resource_version(name), "generation": 1,
            "creationTimestamp": CREATED}, "spec": spec, "status": {"ready": true}})
    };
    vec![
        w(
            "storefront",
            json!({"size": 3, "template": {"spec": {"containers": [{"name": "web", "image": web}]}}}),
        ),
        w("backoffice", json!({"size": 1, "color": "blue"})),
    ]
}

/// `sha256:<hex>` of a seed string.
pub(super) fn digest_of(seed: &str) -> String {
    sha256_digest(seed.as_bytes())
}

/// A UUID-shaped uid, fixed for `(kind, namespace, name)`.
pub(super) fn uid(kind: &str, ns: &str, name: &str) -> String {
    let d = digest_of(&format!("{kind}/{ns}/{name}"));
    let h = &d[7..];
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A plausible `resourceVersion` (a decimal string) fixed for `seed`.
pub(super) fn resource_version(seed: &str) -> String {
    let d = digest_of(seed);
    (u64::from_str_radix(&d[7..13], 16).unwrap_or_default() + 1_000_000).to_string()
}

/// The repository of a reference: without `@digest` and `:tag`.
pub(super) fn repository(reference: &str) -> &str {
    let r = reference.split('@').next().unwrap_or(reference);
    match r.rfind(':') {
        Some(i) if !r[i..].contains('/') => &r[..i],
        _ => r,
    }
}

/// The registry host of a reference (`docker.io` when it names none).
pub(super) fn registry_host(reference: &str) -> &str {
    match reference.split_once('/') {
        Some((h, _)) if h.contains('.') || h.contains(':') || h == "localhost" => h,
        _ => "docker.io",
    }
}
