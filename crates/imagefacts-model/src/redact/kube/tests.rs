//! Tests of Kubernetes object redaction.

use serde_json::json;

use super::*;

const SECRETS: [&str; 12] = [
    "k8s-db-hunter2",
    "k8s-api-tok",
    "k8s-jvm-pw",
    "k8s-url-pw",
    "k8s-flag-pw",
    "k8s-split-tok",
    "k8s-bearer",
    "k8s-ann-tok",
    "k8s-ann-sig",
    "k8s-init-tok",
    "k8s-probe-bearer",
    "k8s-last-applied",
];

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "prod",
            "labels": {"app": "web", "tier": "frontend"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration":
                    "{\"env\":[{\"name\":\"DB_PASSWORD\",\"value\":\"k8s-last-applied\"}]}",
                "deployment.kubernetes.io/revision": "3",
                "example.com/deploy-token": "k8s-ann-tok",
                "example.com/artifact": "https://b.example/a?X-Amz-Signature=k8s-ann-sig&X-Amz-Date=20260101T000000Z"
            }
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {
                    "labels": {"app": "web"},
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "k8s-last-applied"}
                },
                "spec": {
                    "initContainers": [{
                        "name": "migrate",
                        "image": "ghcr.io/example/migrate:1.0",
                        "args": ["--token", "k8s-init-tok"]
                    }],
                    "containers": [{
                        "name": "web",
                        "image": "ghcr.io/example/web:2.3.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                        "ports": [{"containerPort": 8080, "name": "http"}],
                        "command": ["/app/web", "--password=k8s-flag-pw"],
                        "args": ["--port=8080", "--api-token", "k8s-split-tok",
                                 "-H", "Authorization: Bearer k8s-bearer"],
                        "env": [
                            {"name": "DB_PASSWORD", "value": "k8s-db-hunter2"},
                            {"name": "API_TOKEN", "value": "k8s-api-tok"},
                            {"name": "JAVA_OPTS", "value": "-Xmx1g -Dspring.datasource.password=k8s-jvm-pw -Dfoo=bar"},
                            {"name": "DATABASE_URL", "value": "postgres://app:k8s-url-pw@db:5432/app"},
                            {"name": "LOG_LEVEL", "value": "debug"},
                            {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis", "key": "password"}}}
                        ],
                        "envFrom": [{"secretRef": {"name": "web-env"}}],
                        "readinessProbe": {
                            "httpGet": {
                                "path": "/healthz",
                                "port": 8080,
                                "httpHeaders": [
                                    {"name": "Authorization", "value": "Bearer k8s-probe-bearer"},
                                    {"name": "X-Request-Source", "value": "kubelet"}
                                ]
                            }
                        }
                    }]
                }
            }
        }
    })
}

#[test]
fn deployment_keeps_no_secret_and_every_ordinary_value() {
    let mut d = deployment();
    let n = redact_kubernetes_object(&mut d);
    // 2 last-applied, 2 annotations, 1 init arg, 2 command/args flags, 1 bearer, 4 env, 1 probe header.
    assert_eq!(n, 13);
    let bytes = serde_json::to_vec(&d).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(!text.contains(LAST_APPLIED));
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["image"],
        "ghcr.io/example/web:2.3.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert_eq!(c["command"], json!(["/app/web", "--password=***HIDDEN***"]));
    assert_eq!(
        c["args"],
        json!([
            "--port=8080",
            "--api-token",
            HIDDEN,
            "-H",
            "Authorization: Bearer ***HIDDEN***"
        ])
    );
    assert_eq!(c["env"][0]["value"], HIDDEN);
    assert_eq!(
        c["env"][2]["value"],
        "-Xmx1g -Dspring.datasource.password=***HIDDEN*** -Dfoo=bar"
    );
    assert_eq!(c["env"][3]["value"], "postgres://***HIDDEN***@db:5432/app");
    assert_eq!(c["env"][4], json!({"name": "LOG_LEVEL", "value": "debug"}));
    assert_eq!(
        c["env"][5]["valueFrom"],
        json!({"secretKeyRef": {"name": "redis", "key": "password"}})
    );
    assert_eq!(c["envFrom"], json!([{"secretRef": {"name": "web-env"}}]));
    let headers = &c["readinessProbe"]["httpGet"]["httpHeaders"];
    assert_eq!(headers[0]["value"], HIDDEN);
    assert_eq!(headers[1]["value"], "kubelet");
    let annotations = &d["metadata"]["annotations"];
    assert_eq!(annotations["deployment.kubernetes.io/revision"], "3");
    assert_eq!(annotations["example.com/deploy-token"], HIDDEN);
    assert!(
        annotations["example.com/artifact"]
            .as_str()
            .unwrap()
            .ends_with("X-Amz-Signature=***HIDDEN***&X-Amz-Date=20260101T000000Z")
    );
    assert_eq!(
        d["metadata"]["labels"],
        json!({"app": "web", "tier": "frontend"})
    );
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(redact_kubernetes_object(&mut d), 0, "idempotent");
}

#[test]
fn pods_cronjobs_and_lists_are_found_by_shape() {
    let pod = json!({
        "metadata": {"name": "p"},
        "spec": {
            "containers": [{"name": "c", "image": "nginx", "env": [{"name": "TOKEN", "value": "pod-tok"}]}],
            "ephemeralContainers": [{"name": "dbg", "image": "busybox", "command": ["sh", "-c", "curl -H 'Authorization: Basic eph-basic' x"]}]
        }
    });
    let cronjob = json!({
        "kind": "CronJob",
        "metadata": {"name": "backup"},
        "spec": {"schedule": "@daily", "jobTemplate": {
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"template": {"spec": {"containers": [{
                "name": "b", "image": "backup:1",
                "args": ["--s3-url=https://b.example/x?X-Amz-Credential=cron-cred&X-Amz-Signature=cron-sig"],
                "lifecycle": {"preStop": {"exec": {"command": ["/bin/stop", "--secret", "cron-stop"]}}}
            }]}}}
        }}
    });
    // A PodList as client-go writes it: items without kind.
    let mut list =
        json!({"kind": "PodList", "apiVersion": "v1", "items": [pod, {"items": [cronjob]}]});
    assert_eq!(redact_kubernetes_object(&mut list), 6);
    let text = list.to_string();
    for secret in ["pod-tok", "eph-basic", "cron-cred", "cron-sig", "cron-stop"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert!(text.contains("\"@daily\""));
    assert!(text.contains("\"nginx\""));
    assert_eq!(redact_kubernetes_object(&mut list), 0, "idempotent");

    let mut array =
        json!([{"spec": {"containers": [{"args": ["--token=arr-tok"]}]}}, 3, "x", null]);
    assert_eq!(redact_kubernetes_object(&mut array), 1);
    assert!(!array.to_string().contains("arr-tok"));
}

#[test]
fn secrets_lose_their_data() {
    let mut secret = json!({
        "kind": "Secret",
        "metadata": {"name": "db", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg==", "user": "YXBw"},
        "stringData": {"token": "plain-tok"}
    });
    assert_eq!(redact_kubernetes_object(&mut secret), 4);
    assert_eq!(
        secret,
        json!({"kind": "Secret", "metadata": {"name": "db", "annotations": {}}, "type": "Opaque"})
    );
    assert_eq!(redact_kubernetes_object(&mut secret), 0);

    // Items of a SecretList, and a kind-less object shaped like a Secret.
    let mut list = json!({"kind": "SecretList", "items": [
        {"metadata": {"name": "a"}, "data": {"k": "dg=="}},
        {"metadata": {"name": "b"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}}
    ]});
    assert_eq!(redact_kubernetes_object(&mut list), 2);
    assert!(!list.to_string().contains("dg=="));
    assert!(!list.to_string().contains("e30="));

    let mut loose = json!([{"type": "Opaque", "data": {"k": "loose"}}]);
    assert_eq!(redact_kubernetes_object(&mut loose), 1);

    // A ConfigMap keeps its data; so does anything not a Secret.
    let mut cm = json!({"kind": "ConfigMap", "data": {"LOG_LEVEL": "debug"}});
    assert_eq!(redact_kubernetes_object(&mut cm), 0);
    assert_eq!(cm["data"]["LOG_LEVEL"], "debug");
}

#[test]
fn other_kinds_only_lose_metadata_secrets() {
    let mut sa = json!({
        "kind": "ServiceAccount",
        "metadata": {"name": "builder", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}",
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/builder"
        }},
        "secrets": [{"name": "builder-token-abcde"}]
    });
    assert_eq!(redact_kubernetes_object(&mut sa), 1);
    assert_eq!(sa["secrets"][0]["name"], "builder-token-abcde");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/builder"
    );

    let mut node = json!({"kind": "Node", "metadata": {"name": "n1", "labels": {"kubernetes.io/arch": "arm64"}},
        "status": {"images": [{"names": ["nginx@sha256:00"]}]}});
    let before = node.clone();
    assert_eq!(redact_kubernetes_object(&mut node), 0);
    assert_eq!(node, before);
}

#[test]
fn odd_shapes_are_left_alone() {
    for odd in [
        json!(null),
        json!("Secret"),
        json!(42),
        json!({"kind": 7, "metadata": "x", "spec": []}),
        json!({"metadata": {"annotations": ["a"], "labels": {"token": 5}}}),
        json!({"spec": {"containers": "nope", "initContainers": [1, null, "x"]}}),
        json!({"spec": {"containers": [{"env": {"name": "TOKEN"}, "command": "--token=x", "args": [1, "--token=y"]}]}}),
        json!({"spec": {"containers": [{"env": [1, {"name": 3, "value": 4}, {"value": ["--token=z"]}]}]}}),
        json!({"spec": {"template": "x", "jobTemplate": {"spec": 1}}}),
        json!({"kind": "Secret", "data": null}),
        json!({"items": "x"}),
        json!({"spec": {"containers": [{"readinessProbe": {"httpGet": {"httpHeaders": [1, {"name": "Authorization"}]}, "exec": []}}]}}),
    ] {
        let mut v = odd.clone();
        assert_eq!(redact_kubernetes_object(&mut v), 0, "{odd}");
        if odd.get("kind") != Some(&json!("Secret")) {
            assert_eq!(v, odd);
        }
    }
    // A nameless env value is still redacted by value.
    let mut v = json!({"spec": {"containers": [{"env": [{"value": "https://u:nameless@h"}]}]}});
    assert_eq!(redact_kubernetes_object(&mut v), 1);
}
