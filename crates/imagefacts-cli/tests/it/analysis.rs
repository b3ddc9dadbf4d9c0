//! Insights end to end: a support bundle with one pod per pull-failure cause, collected
//! against the harness registries (and servers that rate-limit or speak TLS with an unknown
//! CA), then analyzed with no network: exactly one insight per failing pod, with the right
//! cause, none for the healthy pod; `bundle --add-to` writes image-facts/analysis.json in
//! troubleshoot's shape; `report` prints the insights first.

use std::path::Path;

use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer, push_fixtures};
use serde_json::{Value, json};

use crate::support::{imagefacts, write_authfile};

fn pod(name: &str, image: &str, node: &str, waiting: Option<&str>, secrets: &[&str]) -> Value {
    let status = match waiting {
        Some(reason) => json!({"name": "app", "image": image, "imageID": "",
            "state": {"waiting": {"reason": reason, "message": format!("failed to pull {image}")}}}),
        None => json!({"name": "app", "image": image, "imageID": "",
            "state": {"running": {"startedAt": "2026-11-30T00:00:00Z"}}}),
    };
    let secrets: Vec<Value> = secrets.iter().map(|s| json!({"name": s})).collect();
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": image}], "nodeName": node,
                 "imagePullSecrets": secrets},
        "status": {"phase": if waiting.is_some() { "Pending" } else { "Running" },
                   "containerStatuses": [status]}})
}

fn write(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

#[test]
fn one_insight_per_failing_pod_with_its_cause_and_none_for_the_healthy_one() {
    let plain = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&plain).unwrap();
    let tls = Registry::start(RegistryKind::TlsBasic).unwrap();
    let tfx = push_fixtures(&tls).unwrap();
    let limited = ScriptedServer::start(|_: &Request| {
        Reply::new(429)
            .json(&json!({"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}))
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let other_ca = imagefacts_testkit::generate_tls(&dir.path().join("other-ca")).unwrap();
    let untrusted =
        ScriptedServer::start_tls(&other_ca.server_crt, &other_ca.server_key, |_: &Request| {
            Reply::new(200)
        })
        .unwrap();
    let (p, t) = (plain.host(), tls.host());
    let single = fx.single.split(':').next().unwrap();

    /// (pod, image, node, waiting reason, pull secrets, expected cause)
    type Case<'a> = (
        &'a str,
        String,
        &'a str,
        Option<&'a str>,
        Vec<&'a str>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "tag-missing",
            format!("{p}/{single}:9.9"),
            "n1",
            Some("ErrImagePull"),
            vec![],
            "tagNotFound",
        ),
        (
            "repo-missing",
            format!("{p}/nope/nothing:1"),
            "n1",
            Some("ImagePullBackOff"),
            vec![],
            "repositoryNotFound",
        ),
        (
            "no-secret",
            format!("{t}/{}", tfx.single),
            "n1",
            Some("ErrImagePull"),
            vec![],
            "noPullSecret",
        ),
        (
            "refused",
            format!("{t}/{}", tfx.multi_oci),
            "n1",
            Some("ErrImagePull"),
            vec!["regcred"],
            "credentialsRefused",
        ),
        (
            "limited",
            format!("{}/app:1", limited.host()),
            "n1",
            Some("ErrImagePull"),
            vec![],
            "rateLimited",
        ),
        (
            "unreachable",
            "127.0.0.1:1/app:1".to_owned(),
            "n1",
            Some("ErrImagePull"),
            vec![],
            "registryUnreachable",
        ),
        (
            "bad-tls",
            format!("{}/app:1", untrusted.host()),
            "n1",
            Some("ErrImagePull"),
            vec![],
            "tls",
        ),
        (
            "wrong-arch",
            format!("{p}/{}", fx.single_v2s2),
            "n2",
            Some("ErrImagePull"),
            vec![],
            "noPlatform",
        ),
        (
            "invalid",
            format!("{p}/Fixtures/UPPER:1"),
            "n1",
            Some("InvalidImageName"),
            vec![],
            "invalidReference",
        ),
        (
            "healthy",
            format!("{p}/{}", fx.multi_v2s2),
            "n1",
            None,
            vec![],
            "",
        ),
    ];
    let top = dir.path().join("bundle/support-bundle-2026-12-01T00_00_00");
    let res = top.join("cluster-resources");
    let pods: Vec<Value> = cases
        .iter()
        .map(|(name, image, node, waiting, secrets, _)| pod(name, image, node, *waiting, secrets))
        .collect();
    write(
        &res.join("pods/shop.json"),
        &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods}),
    );
    write(
        &res.join("nodes.json"),
        &json!({"kind": "NodeList", "apiVersion": "v1", "items": [
            {"metadata": {"name": "n1"}, "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "amd64"}}},
            {"metadata": {"name": "n2"}, "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "s390x"}}}]}),
    );
    // troubleshoot keeps only `{"<registry>": "<username>"}` of a pull secret.
    write(
        &res.join("image-pull-secrets/shop/regcred.json"),
        &json!({&t: "imagefacts"}),
    );
    let bundle = top.clone();
    // The registry's password is wrong: what the pod's secret would hold is not in the bundle.
    let authfile = write_authfile(dir.path(), &t, "imagefacts", "not-the-password");
    let facts = dir.path().join("facts.json");
    let s = |p: &Path| p.display().to_string();
    let run = imagefacts(&[
        "collect",
        "--bundle",
        &s(&bundle),
        "--ca-file",
        &s(&tls.ca_file().unwrap()),
        "--authfile",
        &s(&authfile),
        "--insecure-registry",
        &format!("http://{p}"),
        "--insecure-registry",
        &format!("http://{}", limited.host()),
        "--retries",
        "0",
        "--timeout",
        "5s",
        "-o",
        &s(&facts),
    ]);
    assert_eq!(run.status, 1, "{}", run.stderr);

    // Analysis asks nobody.
    plain.clear_access_log();
    tls.clear_access_log();
    let (limited_before, untrusted_before) = (limited.requests().len(), untrusted.requests().len());
    let run = imagefacts(&["analyze", "-o", "json", &s(&facts)]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(plain.access_log().is_empty() && tls.access_log().is_empty());
    assert_eq!(limited.requests().len(), limited_before);
    assert_eq!(untrusted.requests().len(), untrusted_before);

    let results: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    for (name, image, _, _, _, want) in &cases {
        let mine: Vec<&Value> = results
            .iter()
            .filter(|r| r["labels"]["analyzer"] == "pullFailure")
            .filter(|r| r["involvedObject"]["name"] == *name)
            .collect();
        if want.is_empty() {
            assert!(mine.is_empty(), "{name}: {mine:#?}");
            continue;
        }
        assert_eq!(mine.len(), 1, "{name}: {mine:#?}");
        let r = mine[0];
        assert_eq!(r["labels"]["cause"], *want, "{name} ({image}): {r:#}");
        assert_eq!(r["severity"], "error");
        assert_eq!(r["variables"]["pod"], format!("shop/{name}"));
    }
    let refused = results
        .iter()
        .find(|r| r["involvedObject"]["name"] == "refused")
        .unwrap();
    assert!(
        refused["insight"]["detail"]
            .as_str()
            .unwrap()
            .contains("authfile:"),
        "{refused:#}"
    );
    // The healthy pod's image has no error or warning of any analyzer.
    let healthy_image = &cases.last().unwrap().1;
    assert!(
        results
            .iter()
            .filter(|r| r["variables"]["image"] == healthy_image.as_str())
            .all(|r| r["severity"] == "info" || r["severity"] == "debug"),
        "{results:#?}"
    );

    // The text form and report lead with the insights, worst first.
    let run = imagefacts(&["analyze", &s(&facts)]);
    assert!(run.stdout.starts_with("ERROR"), "{}", run.stdout);
    let run = imagefacts(&["report", &s(&facts)]);
    assert!(run.stdout.starts_with("Insights\nERROR"), "{}", run.stdout);

    // A bundle gets image-facts/analysis.json in troubleshoot's shape, every field present.
    let run = imagefacts(&[
        "bundle",
        "--add-to",
        &s(&bundle),
        "--ca-file",
        &s(&tls.ca_file().unwrap()),
        "--insecure-registry",
        &format!("http://{p}"),
        "--retries",
        "0",
        "--timeout",
        "5s",
    ]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let analysis: Vec<Value> =
        serde_json::from_slice(&std::fs::read(bundle.join("image-facts/analysis.json")).unwrap())
            .unwrap();
    assert!(analysis.iter().any(|r| r["severity"] == "error"));
    for r in &analysis {
        for key in ["name", "labels", "insight", "severity", "analyzerSpec"] {
            assert!(r.get(key).is_some(), "{key}: {r:#}");
        }
        for key in ["name", "labels", "primary", "detail", "severity"] {
            assert!(r["insight"].get(key).is_some(), "insight.{key}: {r:#}");
        }
        assert!(
            ["error", "warn", "info", "debug"].contains(&r["severity"].as_str().unwrap()),
            "{r:#}"
        );
        if r["severity"] == "error" {
            assert!(
                r["involvedObject"]["kind"].is_string() && r["error"].is_string(),
                "{r:#}"
            );
        }
    }
    // `analyze BUNDLE` reads the bundle's facts.
    let run = imagefacts(&["analyze", "-o", "json", &s(&bundle)]);
    assert_eq!(run.status, 0, "{}", run.stderr);
}
