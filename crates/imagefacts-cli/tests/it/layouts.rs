//! Real support bundles from every troubleshoot version (fixtures built by the testkit, named
//! after the version they mimic): one reader, every layout, node images, hints, hostile names,
//! escaped output and redacted new bundles.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;
use imagefacts_testkit::{
    FixtureFormat, FixtureImages, Registry, RegistryKind, TroubleshootLayout,
    write_troubleshoot_bundle,
};
use serde_json::{Value, json};

use crate::support::{imagefacts, pull_secret, shop_cluster, write_kubeconfig};

const HOST: &str = "registry.example";

/// `list --bundle PATH -o json`: the run and its JSON.
fn list(path: &Path, extra: &[&str]) -> (crate::support::Run, Value) {
    let p = path.display().to_string();
    let mut args = vec!["list", "--bundle", p.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    let run = imagefacts(&args);
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run, v)
}

fn workloads_of<'a>(d: &'a Value, reference: &str) -> &'a Vec<Value> {
    d["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == reference)
        .unwrap_or_else(|| panic!("{reference} not discovered: {d:#}"))["workloads"]
        .as_array()
        .unwrap()
}

#[test]
fn every_troubleshoot_layout_gives_the_workloads_without_errors() {
    let images = FixtureImages::example(HOST);
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for layout in TroubleshootLayout::ALL {
        for format in [FixtureFormat::Directory, FixtureFormat::TarGz] {
            let sub = dir.path().join(format!("{}-{format:?}", layout.name()));
            std::fs::create_dir_all(&sub).unwrap();
            let path = write_troubleshoot_bundle(&sub, layout, &images, format).unwrap();
            let (run, d) = list(&path, &[]);
            let name = layout.name();
            assert_eq!(run.status, 0, "{name} {format:?}: {}", run.stderr);
            assert_eq!(d.get("errors"), None, "{name}: no discovery error: {d:#}");
            // kube-system is left out by default: the hint says so, once, with the flag.
            let notes: Vec<&str> = run
                .stderr
                .lines()
                .filter(|l| l.starts_with("note:"))
                .collect();
            assert_eq!(notes.len(), 1, "{name}: {}", run.stderr);
            assert!(
                notes[0].contains("kube-system")
                    && notes[0].contains("--include-system-namespaces"),
                "{name}: {}",
                notes[0]
            );
            if layout == TroubleshootLayout::KubeSystemOnly {
                assert_eq!(d["images"].as_array().unwrap().len(), 0);
                assert!(notes[0].contains("left out 1 image"), "{}", notes[0]);
                let (run, d) = list(&path, &["--include-system-namespaces"]);
                assert_eq!(run.status, 0);
                let deployments: BTreeSet<String> = workloads_of(&d, &images.system)
                    .iter()
                    .map(|w| {
                        format!(
                            "{}/{}",
                            w["kind"].as_str().unwrap(),
                            w["name"].as_str().unwrap()
                        )
                    })
                    .collect();
                assert_eq!(
                    deployments.into_iter().collect::<Vec<_>>(),
                    [
                        "Deployment/coredns",
                        "Deployment/local-path-provisioner",
                        "Deployment/metrics-server",
                        "Deployment/traefik"
                    ],
                    "{d:#}"
                );
                checked += 1;
                continue;
            }
            let refs: BTreeSet<&str> = d["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["reference"].as_str().unwrap())
                .collect();
            let want: BTreeSet<&str> = [
                images.web.as_str(),
                images.db.as_str(),
                images.agent.as_str(),
                images.report.as_str(),
            ]
            .into();
            assert_eq!(refs, want, "{name}");
            // The Deployment's pods are reported under the Deployment, whether its ReplicaSet was
            // in replicasets/, misfiled in statefulsets-errors.json/, or missing (inferred).
            let web = workloads_of(&d, &images.web);
            assert_eq!(web.len(), 1, "{name}: {web:#?}");
            assert_eq!(web[0]["kind"], "Deployment", "{name}: {web:#?}");
            assert_eq!(web[0]["name"], "web");
            let pods: Vec<&str> = web[0]["pods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(
                pods,
                ["web-5d9f8c7b6-abcde", "web-5d9f8c7b6-fghij"],
                "{name}"
            );
            let replicasets_missing = matches!(
                layout,
                TroubleshootLayout::V0_10 | TroubleshootLayout::V0_57
            );
            assert_eq!(
                web[0].get("inferred") == Some(&json!(true)),
                replicasets_missing,
                "{name}: the inference is marked exactly when the ReplicaSet is missing"
            );
            assert_eq!(
                workloads_of(&d, &images.report)[0]["kind"],
                "CronJob",
                "{name}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn node_images_show_one_tag_at_two_digests_and_offline_facts_come_from_the_bundle() {
    let images = FixtureImages::example(HOST);
    let dir = tempfile::tempdir().unwrap();
    let path = write_troubleshoot_bundle(
        dir.path(),
        TroubleshootLayout::V0_123_16,
        &images,
        FixtureFormat::TarGz,
    )
    .unwrap();
    let (run, d) = list(&path, &[]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let web = d["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == images.web.as_str())
        .unwrap();
    let held: BTreeSet<(String, String)> = web["nodeImages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap().to_owned(),
                n["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            ("n1".to_owned(), images.web_digest.clone()),
            ("n2".to_owned(), images.web_digest_other.clone())
        ]
        .into()
    );

    // No registry can be asked: each running image still gets the digest the bundle proves.
    let cache = tempfile::tempdir().unwrap();
    let p = path.display().to_string();
    let c = cache.path().display().to_string();
    let run = imagefacts(&["collect", "--bundle", &p, "--offline", "--cache-dir", &c]);
    assert_eq!(run.status, 1, "nothing is cached: {}", run.stderr);
    let facts = run.facts();
    assert_eq!(facts.len(), 4);
    let entry = |r: &str| facts.iter().find(|f| f["reference"] == r).unwrap().clone();
    for (reference, digest) in [
        (&images.db, &images.db_digest),
        (&images.agent, &images.agent_digest),
        (&images.report, &images.report_digest),
    ] {
        let f = entry(reference);
        assert_eq!(f["source"], "bundle", "{f:#}");
        assert_eq!(f["digest"], digest.as_str(), "{f:#}");
        assert_eq!(f["errorDetail"]["kind"], "notCached");
        let sizes: Vec<u64> = f["nodeImages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["sizeBytes"].as_u64().unwrap())
            .collect();
        assert!(!sizes.is_empty() && sizes.iter().all(|s| *s > 0), "{f:#}");
    }
    // web runs at two digests: the one its pod status names first is the digest; the entry says
    // the nodes disagree.
    let web = entry(&images.web);
    assert_eq!(web["source"], "bundle");
    assert_eq!(web["nodeDigestsDiffer"], true, "{web:#}");
    assert_eq!(run.json()["summary"]["fromBundle"], 4);
}

/// A directory bundle whose `cluster-resources` is a link to elsewhere is refused by `list`
/// exactly as by `bundle --add-to`: one reader, one set of rules.
#[test]
fn a_symlinked_cluster_resources_is_refused_by_every_command() {
    let images = FixtureImages::example(HOST);
    let dir = tempfile::tempdir().unwrap();
    let bundle = write_troubleshoot_bundle(
        dir.path(),
        TroubleshootLayout::V0_123_16,
        &images,
        FixtureFormat::Directory,
    )
    .unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::rename(bundle.join("cluster-resources"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, bundle.join("cluster-resources")).unwrap();
    let p = bundle.display().to_string();
    let mut messages = Vec::new();
    for args in [
        &["list", "--bundle", &p][..],
        &["collect", "--bundle", &p, "--offline"][..],
        &["bundle", "--add-to", &p][..],
    ] {
        let run = imagefacts(args);
        assert_eq!(run.status, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
        assert!(
            run.stderr.contains("cluster-resources"),
            "{args:?}: {}",
            run.stderr
        );
        messages.push(run.stderr);
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:#?}");
    assert!(!bundle.join("image-facts").exists());
}

/// A bundle directory with one pod per namespace name (one hostile).
fn bundle_with_pods(dir: &Path, pods: &[(&str, &str, String)]) -> std::path::PathBuf {
    let top = dir.join("support-bundle-2026-11-28T00_00_00");
    let res = top.join("cluster-resources/pods");
    std::fs::create_dir_all(&res).unwrap();
    let items: Vec<Value> = pods
        .iter()
        .map(|(name, ns, image)| {
            json!({"metadata": {"name": name, "namespace": ns},
                "spec": {"containers": [{"name": "c", "image": image}]}, "status": {"phase": "Running"}})
        })
        .collect();
    std::fs::write(
        res.join("default.json"),
        json!({"kind": "PodList", "items": items}).to_string(),
    )
    .unwrap();
    top
}

#[test]
fn a_hostile_namespace_is_refused_before_any_registry_request() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = reg.host();
    let bundle = bundle_with_pods(
        dir.path(),
        &[
            ("evil", "a/../../b", format!("{host}/evil/one:1")),
            ("sub", "x/y", format!("{host}/evil/two:1")),
            ("fine", "shop", format!("{host}/fine/app:1")),
        ],
    );
    reg.clear_access_log();
    let p = bundle.display().to_string();
    let run = imagefacts(&["bundle", "--add-to", &p, "--insecure-registry", &host]);
    assert_eq!(run.status, 1, "a discovery error: {}", run.stderr);
    assert!(
        run.stderr.contains("a/../../b") && run.stderr.contains("DNS-1123"),
        "{}",
        run.stderr
    );
    let asked: Vec<String> = reg.access_log().into_iter().map(|e| e.path).collect();
    assert!(!asked.is_empty());
    assert!(
        asked.iter().all(|p| p.starts_with("/v2/fine/app/")),
        "only the valid pod's image: {asked:?}"
    );
    let written: Vec<String> = std::fs::read_dir(bundle.join("image-facts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        written.iter().all(|n| n == "facts.json"
            || n == "analysis.json"
            || n == "report.html"
            || n.starts_with("shop-")
            || n == "default-error.txt"),
        "{written:?}"
    );
    assert!(!dir.path().join("b").exists() && !bundle.join("image-facts/x").exists());
}

#[test]
fn control_characters_from_a_bundle_are_escaped_in_tables_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_with_pods(
        dir.path(),
        &[
            ("p", "shop", "evil\u{1b}[2J\u{1b}]0;owned\u{7}:1".to_owned()),
            ("q", "bad\u{1b}[31mns", "nginx:1".to_owned()),
        ],
    );
    let p = bundle.display().to_string();
    let run = imagefacts(&["list", "--bundle", &p]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    for out in [&run.stdout, &run.stderr] {
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    }
    assert!(run.stdout.contains("\\u{1b}[2J"), "{}", run.stdout);
    assert!(run.stderr.contains("\\u{1b}[31m"), "{}", run.stderr);
}

/// Every byte of a `.tar.gz`, decompressed.
fn unpacked(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
fn a_new_bundle_holds_no_secret_and_is_private() {
    let secrets = [
        "hunter2-env-value",
        "s3cr3t-arg-value",
        "t0ken-next-arg",
        "annotation-secret-9",
        "dockerconfig-password-7",
    ];
    let last_applied = json!({"apiVersion": "v1", "kind": "Pod",
        "spec": {"containers": [{"env": [{"name": "DB_PASSWORD", "value": secrets[0]}]}]}})
    .to_string();
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": last_applied,
                            "example.com/api-token": secrets[3]}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.25",
            "env": [{"name": "DB_PASSWORD", "value": secrets[0]}, {"name": "LOG_LEVEL", "value": "debug"}],
            "args": [format!("--password={}", secrets[1]), "--token", secrets[2], "--port=8080"]}],
            "imagePullSecrets": [{"name": "regcred"}], "nodeName": "n1"},
        "status": {"phase": "Running"}});
    let dockerconfig = json!({"auths": {"r.example": {"auth":
        base64::engine::general_purpose::STANDARD.encode(format!("u:{}", secrets[4]))}}});
    let api = shop_cluster(pod, pull_secret(&dockerconfig), None);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &api.url());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let run = imagefacts(&[
        "bundle",
        "--kubeconfig",
        &kubeconfig.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&written[0]).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new bundle is private");
    let bytes = unpacked(&written[0]);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("nginx:1.25") && text.contains("--port=8080") && text.contains("debug"));
    assert!(!text.contains("last-applied-configuration"));
    let b64 = base64::engine::general_purpose::STANDARD;
    for s in secrets {
        for form in [s.to_owned(), b64.encode(s), b64.encode(format!("u:{s}"))] {
            assert!(
                !bytes.windows(form.len()).any(|w| w == form.as_bytes()),
                "{form} is in the new bundle"
            );
        }
    }
    for out in [&run.stdout, &run.stderr] {
        assert!(secrets.iter().all(|s| !out.contains(s)), "{out}");
    }
}
