//! The kubeconfig as kubectl resolves it: `--kubeconfig`, else `$KUBECONFIG` as a `:`-separated
//! list merged with kubectl's rules (empty entries, an empty variable and missing files
//! ignored), else `~/.kube/config`; and a refused connection is one error, with no library log
//! line before it.

use serde_json::{Value, json};

use crate::support::{imagefacts_env, shop_cluster, write_kubeconfig};

fn pod(image: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": image}]}})
}

/// The references a `list -o json` run found.
fn listed(stdout: &str) -> Vec<String> {
    let found: Value = serde_json::from_str(stdout).unwrap();
    found["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_empty_kubeconfig_variable_falls_back_to_the_home_kubeconfig() {
    let api = shop_cluster(pod("registry.example/shop/web:1"), json!({}), None);
    let home = tempfile::tempdir().unwrap();
    let kube = home.path().join(".kube");
    std::fs::create_dir_all(&kube).unwrap();
    let written = write_kubeconfig(&kube, &api.url());
    std::fs::rename(written, kube.join("config")).unwrap();
    let home_str = home.path().to_str().unwrap();
    for value in ["", ":", "::"] {
        let run = imagefacts_env(
            &["list", "-o", "json"],
            &[("KUBECONFIG", value), ("HOME", home_str)],
        );
        assert_eq!(run.status, 0, "KUBECONFIG={value:?}: {}", run.stderr);
        assert_eq!(listed(&run.stdout), ["registry.example/shop/web:1"]);
    }
}

#[test]
fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
    let api = shop_cluster(pod("registry.example/shop/web:2"), json!({}), None);
    let dir = tempfile::tempdir().unwrap();
    // `a` sets nothing the run needs (another cluster, no current context); `b` has the context.
    let a = dir.path().join("a.yaml");
    std::fs::write(
        &a,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://127.0.0.1:1\n",
    )
    .unwrap();
    let b_dir = dir.path().join("b");
    std::fs::create_dir_all(&b_dir).unwrap();
    let b = write_kubeconfig(&b_dir, &api.url());
    let missing = dir.path().join("missing.yaml");
    let list = format!("{}::{}:{}", a.display(), missing.display(), b.display());
    let home = dir.path().join("home");
    let run = imagefacts_env(
        &["list", "-o", "json"],
        &[("KUBECONFIG", &list), ("HOME", home.to_str().unwrap())],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(listed(&run.stdout), ["registry.example/shop/web:2"]);

    // `--kubeconfig` wins over the variable.
    let run = imagefacts_env(
        &["list", "-o", "json", "--kubeconfig", a.to_str().unwrap()],
        &[("KUBECONFIG", &list)],
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("a.yaml"), "{}", run.stderr);

    // Only missing files: one error naming the variable.
    let run = imagefacts_env(&["list"], &[("KUBECONFIG", missing.to_str().unwrap())]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("$KUBECONFIG") && run.stderr.contains("missing.yaml"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_refused_connection_prints_one_error_and_no_library_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), "http://127.0.0.1:1");
    let run = imagefacts_env(&["list", "--kubeconfig", kubeconfig.to_str().unwrap()], &[]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: "),
        "the first line is the tool's error: {}",
        run.stderr
    );
    assert!(
        lines[1..].iter().all(
            |l| l.trim_start().starts_with("Caused by:") || l.trim_start().starts_with("hint:")
        ),
        "nothing but causes and hints follow: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("ERROR"), "{}", run.stderr);
}
