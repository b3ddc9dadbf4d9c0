//! The live source against an in-process API server serving the bundle fixture's objects as the
//! Kubernetes API would: List objects paginated with `limit` + `continue`, items without `kind`,
//! a 403 on every list in namespace `restricted` and on the secret `default/dockerhub`.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use imagefacts_discovery::{
    ClusterOptions, DiscoverError, NamespaceFilter, Source, discover, discover_cluster,
};
use imagefacts_model::discovery::SecretRef;
use imagefacts_testkit::{Reply, Request, ScriptedServer};
use serde_json::{Value, json};

use crate::support::*;

/// Registry credentials of the `shop/regcred` secret (test data, not a real account).
const REGCRED: &str =
    r#"{"auths":{"registry.example.com":{"auth":"cm9ib3Qkc2hvcDp0b3BzZWNyZXQ="}}}"#;

/// The objects of `cluster-resources/<file>` as API list items (no `kind`/`apiVersion`).
fn fixture_items(file: &str) -> Vec<Value> {
    let path = bundle_dir().join("cluster-resources").join(file);
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let value: Value = serde_json::from_str(&text).expect("fixture JSON");
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut list) => match list.remove("items") {
            Some(Value::Array(items)) => items,
            _ => vec![Value::Object(list)],
        },
        _ => Vec::new(),
    };
    items
        .into_iter()
        .map(|mut item| {
            if let Some(o) = item.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            item
        })
        .collect()
}

fn status(code: u16, reason: &str, message: &str) -> Reply {
    Reply::new(code).json(&json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code
    }))
}

/// One page of `items` as a List object: `continue` is the offset of the next page.
fn page(kind: &str, items: &[Value], req: &Request) -> Reply {
    let query = req.query();
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let limit: usize = get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX)
        .max(1);
    let start: usize = get("continue")
        .and_then(|c| c.strip_prefix("offset-")?.parse().ok())
        .unwrap_or(0);
    let end = start.saturating_add(limit).min(items.len());
    let mut metadata = json!({"resourceVersion": "4711"});
    if end < items.len() {
        metadata["continue"] = json!(format!("offset-{end}"));
    }
    Reply::new(200).json(&json!({
        "kind": kind, "apiVersion": "v1", "metadata": metadata,
        "items": items.get(start..end).unwrap_or_default()
    }))
}

/// Answers like an API server whose data is the bundle fixture.
fn api_server(req: &Request) -> Reply {
    let path = req.path_only().trim_end_matches('/').to_owned();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    // /api/v1/... or /apis/<group>/<version>/...
    let rest: &[&str] = match parts.as_slice() {
        ["api", "v1", rest @ ..] => rest,
        ["apis", _, _, rest @ ..] => rest,
        _ => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
    };
    match rest {
        ["namespaces"] => page("NamespaceList", &fixture_items("namespaces.json"), req),
        ["nodes"] => page("NodeList", &fixture_items("nodes.json"), req),
        ["namespaces", "restricted", resource] => status(
            403,
            "Forbidden",
            &format!(
                "{resource} is forbidden: User \"system:serviceaccount:imagefacts:reader\" cannot list resource \"{resource}\" in API group \"\" in the namespace \"restricted\""
            ),
        ),
        ["namespaces", "shop", "secrets", "regcred"] => Reply::new(200).json(&json!({
            "kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "regcred", "namespace": "shop"},
            "type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(REGCRED)}
        })),
        ["namespaces", "default", "secrets", "dockerhub"] => status(
            403,
            "Forbidden",
            "secrets \"dockerhub\" is forbidden: User \"system:serviceaccount:imagefacts:reader\" cannot get resource \"secrets\" in API group \"\" in the namespace \"default\"",
        ),
        ["namespaces", ns, resource] => {
            let items = fixture_items(&format!("{resource}/{ns}.json"));
            page("List", &items, req)
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: fixture\n\
         clusters:\n- name: fixture\n  cluster:\n    server: {server}\n\
         - name: elsewhere\n  cluster:\n    server: http://127.0.0.1:9\n\
         users:\n- name: reader\n  user:\n    token: test-token\n\
         contexts:\n- name: fixture\n  context:\n    cluster: fixture\n    user: reader\n\
         - name: elsewhere\n  context:\n    cluster: elsewhere\n    user: reader\n"
    );
    write(dir, "kubeconfig", text.as_bytes())
}

fn options(kubeconfig: PathBuf, page_size: u32) -> ClusterOptions {
    ClusterOptions {
        kubeconfig: Some(kubeconfig),
        context: Some("fixture".into()),
        page_size,
    }
}

#[tokio::test]
async fn live_cluster_gives_the_bundles_images_and_records_both_403s() {
    let server = ScriptedServer::start(api_server).expect("start API server");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = kubeconfig(dir.path(), &server.url());
    let filter = NamespaceFilter::default();

    let live = discover(&Source::Cluster(options(config, 2)), &filter)
        .await
        .expect("discover");
    let bundle = read_bundle(&bundle_dir(), &filter).expect("read bundle");

    // The same cluster: the same images, users, running digests, failures, nodes, secrets names.
    assert_eq!(image_set(&live.discovery), image_set(&bundle));
    assert_eq!(live.discovery.images, bundle.images);
    assert_eq!(live.discovery.nodes, bundle.nodes);
    assert_eq!(live.discovery.cluster_platforms, bundle.cluster_platforms);
    // The bundle also holds a malformed file of namespace `broken`, which the live cluster lacks:
    // reading it counts as looking at `broken`.
    let bundle_namespaces: Vec<&String> = bundle
        .namespaces
        .iter()
        .filter(|n| *n != "broken")
        .collect();
    assert!(bundle.namespaces.iter().any(|n| n == "broken"));
    assert_eq!(
        live.discovery.namespaces.iter().collect::<Vec<_>>(),
        bundle_namespaces
    );
    assert_eq!(
        live.discovery.pull_secrets, bundle.pull_secrets,
        "regcred and its registry"
    );

    // The 403s: every kind in `restricted` (verb list), and the secret (verb get).
    let errors = &live.discovery.errors;
    let listed: Vec<&str> = errors
        .iter()
        .filter(|e| e.namespace.as_deref() == Some("restricted"))
        .map(|e| {
            assert_eq!(
                (e.source.as_str(), e.verb.as_deref(), e.status),
                ("cluster", Some("list"), Some(403))
            );
            assert!(e.message.contains("forbidden"), "{}", e.message);
            e.resource.as_deref().unwrap_or_default()
        })
        .collect();
    assert_eq!(
        listed,
        [
            "cronjobs",
            "daemonsets",
            "deployments",
            "jobs",
            "pods",
            "replicasets",
            "replicationcontrollers",
            "serviceaccounts",
            "statefulsets"
        ]
    );
    let secret_errors: Vec<_> = errors
        .iter()
        .filter(|e| e.resource.as_deref() == Some("secrets"))
        .collect();
    assert_eq!(secret_errors.len(), 1, "{errors:#?}");
    let e = secret_errors[0];
    assert_eq!(
        (e.verb.as_deref(), e.namespace.as_deref(), e.status),
        (Some("get"), Some("default"), Some(403))
    );
    assert!(e.message.contains("dockerhub"));
    assert_eq!(errors.len(), 10, "{errors:#?}");

    // The secret that could be read is handed over, and never printed.
    let regcred = SecretRef {
        namespace: "shop".into(),
        name: "regcred".into(),
        cluster: None,
    };
    assert_eq!(live.pull_secrets.get(&regcred), Some(REGCRED.as_bytes()));
    assert_eq!(live.pull_secrets.len(), 1);
    assert!(
        !format!("{live:?}").contains("cm9ib3Qk"),
        "Debug shows no credentials"
    );
    assert!(
        !serde_json::to_string(&live.discovery)
            .expect("json")
            .contains("cm9ib3Qk")
    );

    // Pagination: shop's 5 pods came in 3 pages of 2, following `continue`.
    let requests = server.requests();
    let pod_pages: Vec<Vec<(String, String)>> = requests
        .iter()
        .filter(|r| r.path_only() == "/api/v1/namespaces/shop/pods")
        .map(Request::query)
        .collect();
    assert_eq!(pod_pages.len(), 3, "{pod_pages:?}");
    assert!(
        pod_pages
            .iter()
            .all(|q| q.contains(&("limit".into(), "2".into())))
    );
    assert!(
        pod_pages[1..]
            .iter()
            .all(|q| q.iter().any(|(k, _)| k == "continue"))
    );
    // The bearer token of the kubeconfig is sent; kube-system is never asked for.
    assert!(
        requests
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer test-token"))
    );
    assert!(!requests.iter().any(|r| r.path.contains("kube-system")));
}

#[tokio::test]
async fn one_namespace_is_listed_without_listing_namespaces() {
    let server = ScriptedServer::start(api_server).expect("start API server");
    let dir = tempfile::tempdir().expect("tempdir");
    let filter = NamespaceFilter {
        namespace: Some("batch".into()),
        ..NamespaceFilter::default()
    };
    let live = discover_cluster(
        &options(kubeconfig(dir.path(), &server.url()), 500),
        &filter,
    )
    .await
    .expect("discover");
    let bundle = read_bundle(&bundle_dir(), &filter).expect("read bundle");
    assert_eq!(live.discovery.images, bundle.images);
    assert_eq!(live.discovery.namespaces, ["batch"]);
    let requests = server.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.path_only() == "/api/v1/namespaces")
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.path.contains("/namespaces/") || r.path.contains("/namespaces/batch/"))
    );
}

#[tokio::test]
async fn forbidden_namespace_list_falls_back_to_cluster_wide_lists() {
    let server = ScriptedServer::start(|req: &Request| {
        let path = req.path_only();
        if path == "/api/v1/namespaces" || path == "/api/v1/nodes" {
            return status(403, "Forbidden", "namespaces is forbidden");
        }
        if path.contains("/secrets/") {
            return status(404, "NotFound", "secrets \"regcred\" not found");
        }
        // Cluster-wide lists: serve shop's objects.
        let resource = path.rsplit('/').next().unwrap_or_default();
        let mut items = fixture_items(&format!("{resource}/shop.json"));
        for item in &mut items {
            item["metadata"]["namespace"] = json!("shop");
        }
        page("List", &items, req)
    })
    .expect("start API server");
    let dir = tempfile::tempdir().expect("tempdir");
    let live = discover_cluster(
        &options(kubeconfig(dir.path(), &server.url()), 500),
        &NamespaceFilter::default(),
    )
    .await
    .expect("discover");
    assert!(image_set(&live.discovery).contains("docker.io/library/nginx:1.25"));
    let denied: Vec<_> = live
        .discovery
        .errors
        .iter()
        .filter_map(|e| e.resource.as_deref())
        .collect();
    assert_eq!(
        denied,
        ["namespaces", "nodes", "secrets"],
        "{:#?}",
        live.discovery.errors
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path_only() == "/apis/apps/v1/deployments")
    );
}

#[tokio::test]
async fn unauthorized_is_fatal() {
    let server = ScriptedServer::start(|_: &Request| status(401, "Unauthorized", "Unauthorized"))
        .expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let err = discover_cluster(
        &options(kubeconfig(dir.path(), &server.url()), 500),
        &NamespaceFilter::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DiscoverError::Unauthorized { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_server_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Port 9 (discard) on loopback: nothing listens there.
    let opts = ClusterOptions {
        context: Some("elsewhere".into()),
        ..options(kubeconfig(dir.path(), "http://127.0.0.1:9"), 500)
    };
    let err = discover_cluster(&opts, &NamespaceFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(err, DiscoverError::Api { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
}

#[tokio::test]
async fn bad_kubeconfigs_are_one_line_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-kubeconfig");
    let malformed = write(
        dir.path(),
        "malformed",
        b"apiVersion: v1\nclusters: [\n  - name: x\n    cluster: {server: \n",
    );
    let good = kubeconfig(dir.path(), "http://127.0.0.1:9");
    let cases = [
        (
            ClusterOptions {
                kubeconfig: Some(missing.clone()),
                ..ClusterOptions::default()
            },
            missing.clone(),
        ),
        (
            ClusterOptions {
                kubeconfig: Some(malformed.clone()),
                ..ClusterOptions::default()
            },
            malformed.clone(),
        ),
        (
            ClusterOptions {
                kubeconfig: Some(good.clone()),
                context: Some("nope".into()),
                ..ClusterOptions::default()
            },
            good.clone(),
        ),
    ];
    for (opts, path) in cases {
        let err = discover_cluster(&opts, &NamespaceFilter::default())
            .await
            .unwrap_err();
        assert!(matches!(err, DiscoverError::Kubeconfig { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
    let bad_ns = NamespaceFilter {
        namespace: Some("Not/A/Namespace".into()),
        ..NamespaceFilter::default()
    };
    let err = discover_cluster(&options(good, 500), &bad_ns)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DiscoverError::InvalidNamespace { .. }),
        "{err:?}"
    );
}
