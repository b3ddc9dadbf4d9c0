//! No secret anywhere (issue 13, item 4): the whole pipeline, with every kind of secret it
//! handles, at `RUST_LOG=trace` with `--progress json`, and every byte it writes searched for
//! every secret, plain and base64.
//!
//! The live cluster (an in-process API server, itself behind a bearer token) runs one pod whose
//! pull secret opens a token-auth registry and a failing one, and whose own spec carries
//! secrets; the token-auth registry serves the image of [`crate::redaction`] (secrets in its
//! config and manifest); the failing registry takes the pull secret's Basic credentials and
//! answers 500 with an error naming a signed URL; a third image is on a refused port.
//! `collect -o`, `bundle --include-images` and `bundle --add-to` run; stdout, stderr, facts.json
//! and every entry of both bundles are searched.

use std::path::Path;

use base64::Engine as _;
use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer};
use serde_json::{Value, json};

use crate::redaction::{CASES, seed_secret_image};
use crate::support::{
    Run, imagefacts_env, leak_forms, leaks, pull_secret, raw_records, shop_cluster,
    write_kubeconfig_with_token,
};

const PULL_USER: &str = "puller";
const PULL_PASSWORD: &str = "s3cr3t-pullpw-9f2c";
const FAILING_USER: &str = "failer";
const FAILING_PASSWORD: &str = "s3cr3t-failpw-9f2c";
const API_TOKEN: &str = "s3cr3t-kubeapi-9f2c";
const UPSTREAM_SIGNATURE: &str = "s3cr3t-upstreamsig-9f2c";
const POD_ENV_PASSWORD: &str = "s3cr3t-podenv-9f2c";
const POD_ARG_KEY: &str = "s3cr3t-podarg-9f2c";
const POD_ANNOTATION: &str = "s3cr3t-podann-9f2c";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A registry that asks for Basic credentials and, given any, fails with a 500 whose message
/// names the signed URL of its own upstream (as a pull-through proxy may).
fn failing_registry() -> ScriptedServer {
    ScriptedServer::start(|req: &Request| {
        if req.header("authorization").is_none() {
            return Reply::new(401)
                .header("WWW-Authenticate", r#"Basic realm="failing""#)
                .json(&json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}));
        }
        Reply::new(500).json(&json!({"errors": [{"code": "UNKNOWN",
            "message": format!("upstream GET https://blobs.example/v2/broken/app/manifests/1?X-Amz-Date=20240101T000000Z&X-Amz-Signature={UPSTREAM_SIGNATURE} failed")}]}))
    })
    .unwrap()
}

/// The API server of a cluster with one namespace `shop`, one node and one pod running
/// `images`, each container with secrets of its own, and pull secret `regcred` (its
/// `.dockerconfigjson` is `dockerconfig`); every request must carry [`API_TOKEN`].
fn api_server(images: &[String], dockerconfig: &Value) -> ScriptedServer {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            json!({"name": format!("c{i}"), "image": image,
                "env": [{"name": "DB_PASSWORD", "value": POD_ENV_PASSWORD}, {"name": "PORT", "value": "8080"}],
                "args": ["--api-key", POD_ARG_KEY, "--port=8080"]})
        })
        .collect();
    let spec = json!({"containers": containers, "imagePullSecrets": [{"name": "regcred"}], "nodeName": "n1"});
    let applied = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": spec});
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "annotations": {
            "example.com/db-password": POD_ANNOTATION,
            "kubectl.kubernetes.io/last-applied-configuration": applied.to_string()}},
        "spec": spec,
        "status": {"phase": "Running"}});
    shop_cluster(pod, pull_secret(dockerconfig), Some(API_TOKEN))
}

/// What one run wrote: its stdout and stderr, and the files it names.
fn outputs(what: &str, run: &Run, files: &[&Path]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        (format!("{what} stdout"), run.stdout.clone().into_bytes()),
        (format!("{what} stderr"), run.stderr.clone().into_bytes()),
    ];
    for file in files {
        let name = format!("{what} {}", file.display());
        out.push((name.clone(), std::fs::read(file).unwrap()));
        if file.extension().is_some_and(|e| e == "gz") {
            for (header, data, entry) in raw_records(file) {
                out.push((format!("{name}!{entry} (header)"), header));
                out.push((format!("{name}!{entry}"), data));
            }
        }
    }
    out
}

#[test]
fn no_secret_reaches_any_byte_written_at_trace_level() {
    let reg = Registry::start(RegistryKind::Token).unwrap();
    reg.add_token_user(PULL_USER, PULL_PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    seed_secret_image(&reg, dir.path());
    let failing = failing_registry();
    let refused = "127.0.0.1:1";
    let images = [
        format!("{}/leaky/app:1", reg.host()),
        format!("{}/broken/app:1", failing.host()),
        format!("{refused}/down/app:1"),
    ];
    let pull_auth = b64(&format!("{PULL_USER}:{PULL_PASSWORD}"));
    let failing_auth = b64(&format!("{FAILING_USER}:{FAILING_PASSWORD}"));
    let dockerconfig = json!({"auths": {
        reg.host(): {"auth": &pull_auth},
        failing.host(): {"auth": &failing_auth}}});
    let api = api_server(&images, &dockerconfig);
    let kubeconfig = write_kubeconfig_with_token(dir.path(), &api.url(), API_TOKEN);
    let flags = [
        "--kubeconfig".to_owned(),
        kubeconfig.display().to_string(),
        "--ca-file".to_owned(),
        reg.ca_file().unwrap().display().to_string(),
        "--insecure-registry".to_owned(),
        failing.host(),
        "--insecure-registry".to_owned(),
        refused.to_owned(),
        "--retries".to_owned(),
        "1".to_owned(),
        "--progress".to_owned(),
        "json".to_owned(),
    ];
    let trace = [("RUST_LOG", "trace")];
    let run_with = |first: &[&str], extra: &[&str]| {
        let mut a: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
        a.extend(flags.iter().cloned());
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        imagefacts_env(&a, &trace)
    };

    // collect -o FILE
    let facts_path = dir.path().join("facts.json");
    let collect = run_with(&["collect", "-o", facts_path.to_str().unwrap()], &[]);
    assert_eq!(collect.status, 1, "two images fail: {}", collect.stderr);
    let facts = crate::support::facts_file(&std::fs::read(&facts_path).unwrap(), "facts.json");
    let entries = facts["imageFacts"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{facts}");
    let by_repo = |repo: &str| {
        entries
            .iter()
            .find(|f| f["repository"] == repo)
            .unwrap_or_else(|| panic!("{repo} in {facts}"))
    };
    let leaky = by_repo("leaky/app");
    assert!(leaky.get("error").is_none(), "{leaky}");
    assert_eq!(leaky["authSource"], "pullSecret:shop/regcred", "{leaky}");
    let broken = by_repo("broken/app");
    assert_eq!(broken["errorDetail"]["kind"], "server", "{broken}");
    assert_eq!(broken["errorDetail"]["status"], 500, "{broken}");
    let message = broken["error"].as_str().unwrap();
    assert!(
        message.contains("https://blobs.example/v2/broken/app/manifests/1?X-Amz-Date=20240101T000000Z&X-Amz-Signature=***HIDDEN*** failed"),
        "the registry's message is kept, its secret hidden: {message}"
    );
    assert_eq!(by_repo("down/app")["errorDetail"]["kind"], "network");
    assert_eq!(
        facts["summary"]["redactions"],
        crate::redaction::REDACTIONS,
        "{}",
        facts["summary"]
    );
    assert!(
        collect.stderr.lines().any(|l| l.starts_with('{')),
        "progress JSON on stderr"
    );
    assert!(
        collect.stderr.contains("TRACE"),
        "trace logging is on: {}",
        &collect.stderr[..collect.stderr.len().min(2000)]
    );
    let mut written = outputs("collect", &collect, &[&facts_path]);

    // bundle --include-images (a new bundle from the live cluster)
    let bundle_dir = dir.path().join("bundle");
    std::fs::create_dir_all(&bundle_dir).unwrap();
    let bundle = run_with(
        &[
            "bundle",
            "--include-images",
            "-o",
            bundle_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(bundle.status, 1, "two images fail: {}", bundle.stderr);
    let archive = std::path::PathBuf::from(bundle.stdout.trim());
    let records = raw_records(&archive);
    assert!(
        records
            .iter()
            .any(|(_, _, n)| n.ends_with("cluster-resources/pods/shop.json")),
        "the pod is in the bundle"
    );
    assert!(
        records
            .iter()
            .any(|(_, _, n)| n.ends_with("image-facts/shop-facts.json")),
        "image facts are in the bundle"
    );
    written.extend(outputs("bundle", &bundle, &[&archive]));

    // bundle --add-to a copy, replacing its image-facts/
    let copy = dir.path().join("copy.tar.gz");
    std::fs::copy(&archive, &copy).unwrap();
    let added = dir.path().join("added.tar.gz");
    let add = run_with(
        &[
            "bundle",
            "--add-to",
            copy.to_str().unwrap(),
            "--force",
            "-o",
            added.to_str().unwrap(),
        ],
        &[],
    );
    assert!(add.status <= 1, "{}", add.stderr);
    written.extend(outputs("add-to", &add, &[&added]));

    // Every secret was used: the pull secret read, sent to both registries, tokens issued.
    assert!(
        api.requests()
            .iter()
            .any(|r| r.path_only() == "/api/v1/namespaces/shop/secrets/regcred"),
        "the pull secret was read"
    );
    assert!(
        failing
            .requests()
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Basic {failing_auth}"))),
        "the failing registry got the pull secret's credentials"
    );
    assert!(
        reg.token_grants()
            .iter()
            .any(|g| g.subject == PULL_USER && g.status == 200),
        "the token server granted the pull secret's user"
    );
    let tokens = reg.issued_tokens();
    assert!(!tokens.is_empty(), "the token server issued tokens");
    let mut secrets: Vec<(String, String)> = vec![
        ("pull-secret password".into(), PULL_PASSWORD.into()),
        (
            "pull-secret user:password".into(),
            format!("{PULL_USER}:{PULL_PASSWORD}"),
        ),
        ("pull-secret auth".into(), pull_auth.clone()),
        ("failing registry password".into(), FAILING_PASSWORD.into()),
        (
            "failing registry user:password".into(),
            format!("{FAILING_USER}:{FAILING_PASSWORD}"),
        ),
        ("failing registry auth".into(), failing_auth.clone()),
        (".dockerconfigjson".into(), b64(&dockerconfig.to_string())),
        ("API server token".into(), API_TOKEN.into()),
        ("upstream signature".into(), UPSTREAM_SIGNATURE.into()),
        ("pod env password".into(), POD_ENV_PASSWORD.into()),
        ("pod --api-key".into(), POD_ARG_KEY.into()),
        ("pod annotation".into(), POD_ANNOTATION.into()),
    ];
    let (user, password) = reg.credentials().unwrap();
    secrets.push(("token registry's own password".into(), password.clone()));
    secrets.push((
        "token registry's own user:password".into(),
        format!("{user}:{password}"),
    ));
    for (i, t) in tokens.iter().enumerate() {
        secrets.push((format!("issued token {i}"), t.clone()));
        // The signature part alone: header and claims are not secret, and alike in every token.
        if let Some((_, signature)) = t.rsplit_once('.') {
            secrets.push((format!("issued token {i} signature"), signature.to_owned()));
        }
    }
    for c in &CASES {
        secrets.push((format!("image config: {}", c.what), c.secret.to_owned()));
    }
    let hits = leaks(&written, &secrets);
    assert!(
        hits.is_empty(),
        "{} secrets found in {} outputs:\n{}",
        hits.len(),
        written.len(),
        hits.join("\n")
    );

    // The search can fail: with --no-redact the image's secrets are written, and found.
    let facts_path = dir.path().join("unredacted.json");
    let unredacted = run_with(
        &["collect", "-o", facts_path.to_str().unwrap()],
        &["--no-redact"],
    );
    assert_eq!(unredacted.status, 1, "{}", unredacted.stderr);
    let hits = leaks(
        &outputs("unredacted", &unredacted, &[&facts_path]),
        &secrets,
    );
    let found: Vec<&str> = CASES
        .iter()
        .filter(|c| hits.iter().any(|h| h.contains(c.what)))
        .map(|c| c.what)
        .collect();
    assert_eq!(found.len(), CASES.len() - 1, "found {found:?} in {hits:#?}");
    // And a secret nested in base64 twice (the auth inside the Secret's data) is found too.
    let secret_data = vec![(
        "the Secret".to_owned(),
        b64(&dockerconfig.to_string()).into_bytes(),
    )];
    let nested = leaks(&secret_data, &secrets[2..3]);
    assert_eq!(nested.len(), 1, "{nested:?} {:?}", leak_forms(&pull_auth));
}
