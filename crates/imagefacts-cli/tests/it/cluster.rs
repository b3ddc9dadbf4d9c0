//! `imagefacts collect` from a live cluster (an in-process API server serving recorded JSON):
//! the pod's pull secret opens a registry that needs credentials, end to end.

use base64::Engine as _;
use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer, push_fixtures};
use serde_json::{Value, json};

use crate::support::{args, imagefacts, list_reply as list, write_kubeconfig};

#[test]
fn collect_from_a_live_cluster_uses_each_pods_pull_secret() {
    let reg = Registry::start(RegistryKind::TlsBasic).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let (user, password) = reg.credentials().unwrap();
    let dockerconfig = json!({"auths": {&host: {"auth": base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))}}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred", "namespace": "shop"},
        "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(dockerconfig.to_string())}});
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
