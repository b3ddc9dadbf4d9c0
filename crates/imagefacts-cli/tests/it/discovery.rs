//! `imagefacts list` and `imagefacts collect` over support bundles and manifest files, against a
//! real registry.

use std::path::{Path, PathBuf};

use imagefacts_testkit::{
    ImageSpec, OciLayout, PushFormat, Registry, RegistryKind, push_fixtures, push_with_digest,
};
use serde_json::{Value, json};

use crate::support::{args, imagefacts, write_bundle};

fn fixture_bundle() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../imagefacts-discovery/tests/fixtures/bundle");
    std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[test]
fn list_prints_table_json_and_yaml_without_asking_registries() {
    let bundle = fixture_bundle();
    let b = bundle.to_str().unwrap();
    let run = imagefacts(&["list", "--bundle", b]);
    assert_eq!(
        run.status, 1,
        "discovery errors make the exit status 1: {}",
        run.stderr
    );
    let header = run.stdout.lines().next().unwrap();
    for col in ["IMAGE", "WORKLOADS", "NAMESPACES", "RUNNING", "PULL ERRORS"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(run.stdout.contains("registry.example.com/shop/api:2.0"));
    assert!(run.stdout.contains("ImagePullBackOff"));
    assert!(
        run.stderr
            .contains("warning: cluster-resources/deployments/broken.json"),
        "{}",
        run.stderr
    );

    let json = imagefacts(&["list", "--bundle", b, "-o", "json"]);
    let got: Value = serde_json::from_str(&json.stdout).unwrap();
    let golden: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../imagefacts-discovery/tests/fixtures/expected-discovery.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(got, golden);

    let yaml = imagefacts(&["list", "--bundle", b, "-o", "yaml", "-n", "batch"]);
    assert!(
        yaml.stdout.contains("ghcr.io/acme/report:1.4"),
        "{}",
        yaml.stdout
    );
    assert!(
        !yaml.stdout.contains("nginx:1.25"),
        "namespace filter: {}",
        yaml.stdout
    );

    let missing = imagefacts(&["list", "--bundle", "/nonexistent/bundle.tar.gz"]);
    assert_eq!(missing.status, 2);
    assert!(
        missing.stderr.contains("/nonexistent/bundle.tar.gz"),
        "{}",
        missing.stderr
    );
}

#[test]
fn collect_from_a_bundle_reports_workloads_running_digests_and_tag_drift() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    // `drift/app:1` first points at one image, then is pushed again with another.
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(&dir.path().join("layout")).unwrap();
    let mut old = ImageSpec::simple("amd64");
    old.labels.insert("gen".into(), "1".into());
    layout.add_image("old", &old).unwrap();
    let old_digest =
        push_with_digest(&layout, "old", &reg, "drift/app:1", PushFormat::Oci, false).unwrap();
    let mut new = ImageSpec::simple("amd64");
    new.labels.insert("gen".into(), "2".into());
    layout.add_image("new", &new).unwrap();
    let new_digest =
        push_with_digest(&layout, "new", &reg, "drift/app:1", PushFormat::Oci, false).unwrap();
    assert_ne!(old_digest, new_digest);

    let bundle = write_bundle(dir.path(), &host, "drift/app:1", &old_digest, &fx.multi_oci);
    let run = imagefacts(&args(
        &[
            "collect".to_owned(),
            "--bundle".to_owned(),
            bundle.display().to_string(),
        ],
        &reg.imagefacts_args(),
    ));
    assert_eq!(
        run.status, 1,
        "a discovery error makes the run partial: {}",
        run.stderr
    );
    let out = run.json();
    assert_eq!(
        out["discoveryErrors"][0]["path"],
        "cluster-resources/deployments/broken.json"
    );
    assert_eq!(out["clusterPlatforms"][0]["architecture"], "arm64");
    let facts = out["imageFacts"].as_array().unwrap();
    assert_eq!(facts.len(), 2);
    let app = facts
        .iter()
        .find(|f| f["repository"] == "drift/app")
        .unwrap();
    assert!(app.get("error").is_none(), "{app}");
    assert_eq!(app["digest"], json!(old_digest), "facts are of what runs");
    assert_eq!(app["tagDigest"], json!(new_digest));
    assert_eq!(app["tagDrift"], true);
    assert_eq!(app["labels"]["gen"], "1");
    assert_eq!(
        app["workloads"][0],
        json!({"namespace": "prod", "kind": "Pod", "name": "app-1",
        "container": "app", "containerType": "regular", "pods": ["app-1"]})
    );
    assert_eq!(app["runningDigests"][0]["digest"], json!(old_digest));
    assert_eq!(app["nodePlatforms"][0]["architecture"], "arm64");
    let multi = facts
        .iter()
        .find(|f| f["repository"] == "fixtures/multi-oci")
        .unwrap();
    assert_eq!(multi["workloads"][0]["containerType"], "init");
    assert!(multi.get("tagDrift").is_none());

    // The insight: the running build is not what the tag names now, and prod runs by tag only.
    let file = dir.path().join("facts.json");
    std::fs::write(&file, &run.stdout).unwrap();
    let run = imagefacts(&["analyze", "-o", "json", &file.display().to_string()]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let results: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let drift: Vec<&Value> = results
        .iter()
        .filter(|r| r["labels"]["analyzer"] == "tagDrift" && r["severity"] != "debug")
        .collect();
    assert_eq!(drift.len(), 1, "{drift:#?}");
    assert_eq!(drift[0]["labels"]["cause"], "tagMoved");
    assert_eq!(drift[0]["severity"], "warn");
    assert_eq!(
        drift[0]["involvedObject"],
        json!({"kind": "Pod", "namespace": "prod", "name": "app-1", "apiVersion": "v1"})
    );
    let detail = drift[0]["insight"]["detail"].as_str().unwrap();
    assert!(
        detail.contains(&new_digest[7..19]) && detail.contains(&old_digest[7..19]),
        "{detail}"
    );
    assert!(
        results
            .iter()
            .any(|r| r["labels"]["cause"] == "noDigestInProduction"
                && r["variables"]["image"] == format!("{host}/drift/app:1"))
    );

    // A reference pinning both, tag and digest: the facts are of the digest, the tag has moved.
    let pinned = format!("{host}/drift/app:1@{old_digest}");
    let run = imagefacts(&args(
        &["inspect".to_owned()],
        &args(&reg.imagefacts_args(), &[pinned]),
    ));
    assert_eq!(run.status, 0, "{}", run.stderr);
    let f = &run.facts()[0];
    assert_eq!(f["digest"], json!(old_digest));
    assert_eq!(f["tagDigest"], json!(new_digest));
    assert_eq!(f["tagDrift"], true);
}

#[test]
fn collect_from_manifests_gives_facts_with_workloads() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("app.yaml");
    std::fs::write(
        &manifests,
        format!(
            "# Source: chart/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  template:
    spec:
      containers: [{{name: web, image: \"{host}/{single}\"}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {{name: report, namespace: batch}}
spec:
  schedule: \"@daily\"
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{{name: r, image: \"{host}/{multi}\"}}]
          initContainers: [{{name: i, image: \"{host}/{single}\"}}]
---
",
            single = fx.single,
            multi = fx.multi_v2s2
        ),
    )
    .unwrap();
    let run = imagefacts(&args(
        &[
            "collect".to_owned(),
            "--manifests".to_owned(),
            manifests.display().to_string(),
        ],
        &reg.imagefacts_args(),
    ));
    assert_eq!(run.status, 0, "{}", run.stderr);
    let facts = run.facts();
    assert_eq!(facts.len(), 2);
    let single = facts
        .iter()
        .find(|f| f["repository"] == "fixtures/single")
        .unwrap();
    assert_eq!(single["digest"], json!(fx.single_digest));
    let kinds: Vec<&str> = single["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["CronJob", "Deployment"]);
    let multi = facts
        .iter()
        .find(|f| f["repository"] == "fixtures/multi-v2s2")
        .unwrap();
    assert_eq!(multi["digest"], json!(fx.multi_v2s2_digest));
    assert_eq!(multi["workloads"][0]["name"], "report");
}
