//! `imagefacts collect` from a live cluster (an in-process API server serving recorded JSON):
//! the pod's pull secret opens a registry that needs credentials, end to end.

use base64::Engine as _;
use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer, push_fixtures};
use serde_json::{Value, json};

use crate::support::{args, imagefacts, list_reply as list, pull_secret, write_kubeconfig};

#[test]
fn collect_from_a_live_cluster_uses_each_pods_pull_secret() {
    let reg = Registry::start(RegistryKind::TlsBasic).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let (user, password) = reg.credentials().unwrap();
    let dockerconfig = json!({"auths": {&host: {"auth": base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))}}});
    let secret = pull_secret(&dockerconfig);
    let pod = |name: &str, ns: &str, image: String, secrets: Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": image}], "imagePullSecrets": secrets, "nodeName": "n1"},
        "status": {"phase": "Running"}})
    };
    let shop_pod = pod(
        "web-1",
        "shop",
        format!("{host}/{}", fx.single),
        json!([{"name": "regcred"}]),
    );
    let other_pod = pod(
        "job-1",
        "other",
        format!("{host}/{}", fx.multi_oci),
        json!([]),
    );
    let api = ScriptedServer::start(move |req: &Request| {
        let path = req.path_only();
        match path {
            "/api/v1/namespaces" => list(
                "NamespaceList",
                vec![
                    json!({"metadata": {"name": "shop"}}),
                    json!({"metadata": {"name": "other"}}),
                ],
            ),
            "/api/v1/nodes" => list(
                "NodeList",
                vec![json!({"metadata": {"name": "n1"},
                "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "amd64"}}})],
            ),
            "/api/v1/namespaces/shop/pods" => list("PodList", vec![shop_pod.clone()]),
            "/api/v1/namespaces/other/pods" => list("PodList", vec![other_pod.clone()]),
            "/api/v1/namespaces/shop/secrets/regcred" => Reply::new(200).json(&secret),
            p if p.starts_with("/api") => list("List", vec![]),
            _ => Reply::new(404),
        }
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &api.url());
    // Only the CA, no --authfile: the pull secret is the only credential.
    let run = imagefacts(&args(
        &[
            "collect".to_owned(),
            "--kubeconfig".to_owned(),
            kubeconfig.display().to_string(),
            "--ca-file".to_owned(),
            reg.ca_file().unwrap().display().to_string(),
        ],
        &[],
    ));
    assert_eq!(
        run.status, 1,
        "the other namespace has no credential: {}",
        run.stderr
    );
    let facts = run.facts();
    let shop = facts
        .iter()
        .find(|f| f["repository"] == "fixtures/single")
        .unwrap();
    assert!(shop.get("error").is_none(), "{shop}");
    assert_eq!(shop["digest"], json!(fx.single_digest));
    assert_eq!(shop["authSource"], "pullSecret:shop/regcred", "{shop}");
    assert_eq!(
        shop["pullSecrets"][0],
        json!({"namespace": "shop", "name": "regcred"})
    );
    let other = facts
        .iter()
        .find(|f| f["repository"] == "fixtures/multi-oci")
        .unwrap();
    assert_eq!(other["errorDetail"]["kind"], "auth", "{other}");
    // The secret never reaches the output.
    assert!(!run.stdout.contains(&password) && !run.stderr.contains(&password));
    assert!(
        api.requests()
            .iter()
            .any(|r| r.path_only() == "/api/v1/namespaces/shop/secrets/regcred")
    );
}

/// A kubeconfig whose user is an `exec` credential plugin (as EKS, GKE and kubelogin users have):
/// the plugin's ExecCredential token authenticates `list`; a failing plugin is a one-line error
/// naming it.
#[test]
fn an_exec_credential_plugin_authenticates_and_a_failing_one_is_named() {
    let api = ScriptedServer::start(|req: &Request| {
        if req.header("authorization") != Some("Bearer token-from-the-plugin") {
            return Reply::new(401).json(&json!({"kind": "Status", "apiVersion": "v1",
                "status": "Failure", "reason": "Unauthorized", "code": 401}));
        }
        match req.path_only() {
            "/api/v1/namespaces" => list("NamespaceList", vec![json!({"metadata": {"name": "shop"}})]),
            "/api/v1/namespaces/shop/pods" => list(
                "PodList",
                vec![json!({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "web-1", "namespace": "shop"},
                    "spec": {"containers": [{"name": "c", "image": "registry.example/shop/web:1"}]}})],
            ),
            p if p.starts_with("/api") => list("List", vec![]),
            _ => Reply::new(404),
        }
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    };
    let good = script(
        "get-token",
        r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"token-from-the-plugin"}}'"#,
    );
    let bad = script(
        "broken-plugin",
        "echo 'cannot reach the identity provider' >&2; exit 3",
    );
    let kubeconfig = |command: &std::path::Path| {
        let path = dir.path().join(format!(
            "kubeconfig-{}",
            command.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {}\n\
                 users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n\
                 contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n",
                api.url(),
                command.display()
            ),
        )
        .unwrap();
        path
    };
    let run = imagefacts(&[
        "list",
        "--kubeconfig",
        kubeconfig(&good).to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let found: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        found["images"][0]["reference"],
        "registry.example/shop/web:1"
    );

    let run = imagefacts(&["list", "--kubeconfig", kubeconfig(&bad).to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    let first = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error"))
        .unwrap_or_default();
    assert!(
        first.contains("broken-plugin"),
        "names the plugin: {}",
        run.stderr
    );
}
