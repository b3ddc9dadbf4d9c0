//! Fleets: several kubeconfig contexts in one run (`--context` repeated, `--all-contexts`), each
//! workload and entry naming its cluster; `merge` of the facts files of several clusters; the
//! report's cluster column.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{app_registry, args, imagefacts, shop_cluster};

fn pod(name: &str, images: &[String]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": containers}})
}

/// A kubeconfig with the contexts `eu` and `us` (current: `eu`), each its own cluster.
fn two_contexts(dir: &Path, eu: &str, us: &str) -> String {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: eu\n\
             clusters:\n- name: eu\n  cluster:\n    server: {eu}\n- name: us\n  cluster:\n    server: {us}\n\
             users:\n- name: u\n  user:\n    token: t\n\
             contexts:\n- name: eu\n  context:\n    cluster: eu\n    user: u\n\
             - name: us\n  context:\n    cluster: us\n    user: u\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

/// `(reference, clusters)` of each entry of a facts file, sorted.
fn clusters_of(facts: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = facts["imageFacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let clusters = f["clusters"]
                .as_array()
                .map(|c| c.iter().map(|c| c.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            (f["reference"].as_str().unwrap().to_owned(), clusters)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn all_contexts_reach_every_cluster_and_merge_lists_both() {
    let (reg, _layout) = app_registry(&["1", "2"]);
    let (one, two) = (
        format!("{}/app:1", reg.host()),
        format!("{}/app:2", reg.host()),
    );
    let eu = shop_cluster(pod("web-eu", std::slice::from_ref(&one)), json!({}), None);
    let us = shop_cluster(pod("web-us", &[one.clone(), two.clone()]), json!({}), None);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = two_contexts(dir.path(), &eu.url(), &us.url());

    // `list --all-contexts` asks both API servers and joins what they run.
    let run = imagefacts(&[
        "list",
        "--kubeconfig",
        &kubeconfig,
        "--all-contexts",
        "-o",
        "json",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(!eu.requests().is_empty() && !us.requests().is_empty());
    let found: Value = serde_json::from_str(&run.stdout).unwrap();
    let shared = &found["images"][0];
    assert_eq!(shared["reference"], one);
    let named: Vec<&str> = shared["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["cluster"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["eu", "us"]);

    // `collect` over both contexts (repeated --context): each entry names its clusters.
    let registry = reg.imagefacts_args();
    let collect = |extra: &[&str]| {
        let mut a = vec![
            "collect".to_owned(),
            "--kubeconfig".to_owned(),
            kubeconfig.clone(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        imagefacts(&args(&a, &registry))
    };
    let both = collect(&["--context", "eu", "--context", "us"]);
    assert_eq!(both.status, 0, "{}", both.stderr);
    let both = both.json();
    assert_eq!(both["clusters"], json!(["eu", "us"]));
    let expected = vec![
        (one.clone(), vec!["eu".to_owned(), "us".to_owned()]),
        (two.clone(), vec!["us".to_owned()]),
    ];
    assert_eq!(clusters_of(&both), expected);

    // One file per cluster, then `merge`: one entry per image, listing both clusters.
    for context in ["eu", "us"] {
        let out = dir.path().join(format!("{context}-facts.json"));
        let run = collect(&["--context", context, "-o", out.to_str().unwrap()]);
        assert_eq!(run.status, 0, "{}", run.stderr);
    }
    let merged_path = dir.path().join("fleet.json");
    let run = imagefacts(&[
        "merge",
        dir.path().join("eu-facts.json").to_str().unwrap(),
        dir.path().join("us-facts.json").to_str().unwrap(),
        "-o",
        merged_path.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let merged = crate::support::facts_file(&std::fs::read(&merged_path).unwrap(), "fleet.json");
    assert_eq!(merged["clusters"], json!(["eu", "us"]));
    assert_eq!(clusters_of(&merged), expected);
    let shared = merged["imageFacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["reference"] == one)
        .unwrap();
    let pods: Vec<(&str, &str)> = shared["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["cluster"].as_str().unwrap(), w["name"].as_str().unwrap()))
        .collect();
    assert_eq!(pods, [("eu", "web-eu"), ("us", "web-us")]);
    assert_eq!(merged["summary"]["totalImages"], 2);

    // The report shows which clusters run each image.
    let report = imagefacts(&["report", merged_path.to_str().unwrap()]);
    assert_eq!(report.status, 0, "{}", report.stderr);
    let header = report
        .stdout
        .lines()
        .find(|l| l.starts_with("CLUSTERS"))
        .unwrap_or_else(|| panic!("a CLUSTERS column: {}", report.stdout));
    assert!(header.contains("NAMESPACE"), "{header}");
    assert!(report.stdout.contains("eu,us"), "{}", report.stdout);
}

#[test]
fn fleet_flags_that_cannot_hold_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = two_contexts(dir.path(), "http://127.0.0.1:1", "http://127.0.0.1:1");
    let run = imagefacts(&[
        "list",
        "--kubeconfig",
        &kubeconfig,
        "--all-contexts",
        "--cluster-name",
        "x",
    ]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--cluster-name"), "{}", run.stderr);
    let out = dir.path().join("b.tar.gz");
    let run = imagefacts(&[
        "bundle",
        "--kubeconfig",
        &kubeconfig,
        "--context",
        "eu",
        "--context",
        "us",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("one cluster"), "{}", run.stderr);
    assert!(!out.exists());
    let facts = dir.path().join("facts.json");
    std::fs::write(&facts, "{}").unwrap();
    let run = imagefacts(&["merge", facts.to_str().unwrap()]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("facts.json"), "{}", run.stderr);
}

/// One context's exec credential plugin taking its time (an SSO login, `aws eks get-token` on a
/// slow network) holds up only its own cluster: the other context is listed meanwhile, and the
/// plugin's token still serves its cluster.
#[test]
fn a_slow_exec_plugin_holds_up_only_its_own_context() {
    let token = "token-from-the-plugin";
    let eu = shop_cluster(
        pod("web-eu", &["r.example/eu:1".to_owned()]),
        json!({}),
        Some(token),
    );
    let us = shop_cluster(
        pod("web-us", &["r.example/us:1".to_owned()]),
        json!({}),
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let done = dir.path().join("plugin-done");
    let plugin = dir.path().join("slow-get-token");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nsleep 3\ntouch {}\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'\n",
            done.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: eu\n\
             clusters:\n- name: eu\n  cluster:\n    server: {}\n- name: us\n  cluster:\n    server: {}\n\
             users:\n- name: slow\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n\
             - name: plain\n  user:\n    token: t\n\
             contexts:\n- name: eu\n  context:\n    cluster: eu\n    user: slow\n\
             - name: us\n  context:\n    cluster: us\n    user: plain\n",
            eu.url(),
            us.url(),
            plugin.display()
        ),
    )
    .unwrap();
    let path = kubeconfig.display().to_string();
    let run = std::thread::spawn(move || {
        imagefacts(&[
            "list",
            "--kubeconfig",
            &path,
            "--all-contexts",
            "-o",
            "json",
        ])
    });
    let listed = |s: &imagefacts_testkit::ScriptedServer| {
        s.requests()
            .iter()
            .any(|r| r.path_only() == "/api/v1/namespaces/shop/pods")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !listed(&us) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(listed(&us), "the other context was never listed");
    assert!(
        !done.exists(),
        "the other context was listed only after the slow plugin had finished"
    );
    let run = run.join().unwrap();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        done.exists() && listed(&eu),
        "the plugin's token served its cluster"
    );
    let found: Value = serde_json::from_str(&run.stdout).unwrap();
    let references: Vec<&str> = found["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    assert_eq!(references, ["r.example/eu:1", "r.example/us:1"]);
}
