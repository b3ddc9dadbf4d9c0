//! Every failure is a typed entry with the right exit status; usage and fatal errors exit 2.

use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer, push_fixtures};
use serde_json::{Value, json};

use crate::support::{imagefacts, inspect, sha256, write_authfile};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn error_of(entry: &Value) -> (&str, &str) {
    let e = &entry["errorDetail"];
    (
        e["kind"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {entry}")),
        e["message"].as_str().unwrap(),
    )
}

#[test]
fn wrong_password_is_auth_error() {
    for kind in [RegistryKind::TlsBasic, RegistryKind::Token] {
        let reg = Registry::start(kind).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (user, _) = reg.credentials().unwrap();
        let authfile = write_authfile(dir.path(), &reg.host(), &user, "wrong-password");
        let args = vec![
            "--ca-file".to_owned(),
            reg.ca_file().unwrap().display().to_string(),
            "--authfile".to_owned(),
            authfile.display().to_string(),
        ];
        let run = inspect(&args, &[format!("{}/{}", reg.host(), fx.single)]);
        assert_eq!(run.status, 1, "{kind:?}: {}", run.stderr);
        let facts = run.facts();
        assert_eq!(error_of(&facts[0]).0, "auth", "{kind:?}: {}", facts[0]);
        assert_eq!(facts[0]["errorDetail"]["retryable"], false);
        assert_eq!(run.json()["summary"]["collectionErrors"], 1);
        assert_eq!(run.json()["summary"]["errorsByKind"]["auth"], 1);
    }
}

#[test]
fn anonymous_access_to_token_registry_is_auth_error() {
    let reg = Registry::start(RegistryKind::Token).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let args = vec![
        "--ca-file".to_owned(),
        reg.ca_file().unwrap().display().to_string(),
    ];
    let run = inspect(&args, &[format!("{}/{}", reg.host(), fx.single)]);
    assert_eq!(run.status, 1);
    assert_eq!(error_of(&run.facts()[0]).0, "auth");
}

#[test]
fn missing_repository_tag_and_untrusted_tls() {
    let reg = Registry::start(RegistryKind::TlsBasic).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let repo = fx.single.split(':').next().unwrap();
    let good = format!("{host}/{}", fx.single);
    let refs = vec![
        format!("{host}/no/such-repo:1"),
        format!("{host}/{repo}:no-such-tag"),
        format!("{host}/{repo}@sha256:{}", "0".repeat(64)),
        good.clone(),
    ];
    let run = inspect(&reg.imagefacts_args(), &refs);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let facts = run.facts();
    assert_eq!(facts[0]["errorDetail"]["kind"], "notFound", "{}", facts[0]);
    assert_eq!(
        facts[0]["errorDetail"]["code"], "NAME_UNKNOWN",
        "{}",
        facts[0]
    );
    assert_eq!(facts[1]["errorDetail"]["kind"], "notFound");
    assert_eq!(
        facts[1]["errorDetail"]["code"], "MANIFEST_UNKNOWN",
        "{}",
        facts[1]
    );
    assert_eq!(facts[2]["errorDetail"]["kind"], "notFound");
    assert!(facts[3].get("error").is_none(), "{}", facts[3]);

    // Without the test CA, the certificate is not trusted: a TLS error, not a crash.
    let args: Vec<String> = vec![
        "--authfile".into(),
        reg.authfile().unwrap().display().to_string(),
    ];
    let run = inspect(&args, &[good]);
    assert_eq!(run.status, 1);
    assert_eq!(error_of(&run.facts()[0]).0, "tls", "{}", run.stdout);
}

#[test]
fn invalid_references_are_entries_not_crashes() {
    let run = imagefacts(&["inspect", "Nginx", "nginx:", "a//b"]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let facts = run.facts();
    assert_eq!(facts.len(), 3);
    let (kind, message) = error_of(&facts[0]);
    assert_eq!(kind, "invalidReference");
    assert_eq!(
        message,
        "invalid reference \"Nginx\": repository must be lowercase"
    );
    assert!(
        facts
            .iter()
            .all(|f| f["errorDetail"]["kind"] == "invalidReference")
    );
    assert_eq!(facts[0]["reference"], "Nginx");
}

#[test]
fn connection_refused_is_network_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let run = inspect(
        &["--insecure-registry".to_owned(), host.clone()],
        &[format!("{host}/a:1")],
    );
    assert_eq!(run.status, 1);
    let e = &run.facts()[0]["errorDetail"];
    assert_eq!(e["kind"], "network", "{e}");
    assert_eq!(e["retryable"], true);
}

#[test]
fn usage_and_fatal_errors_exit_2() {
    let run = imagefacts::<&str>(&["inspect"]);
    assert_eq!(run.status, 2);
    let run = imagefacts(&["inspect", "--platform", "linux", "nginx"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("invalid platform"), "{}", run.stderr);
    let run = imagefacts(&["inspect", "--authfile", "/nonexistent/auth.json", "nginx"]);
    assert_eq!(run.status, 2);
    assert!(
        run.stderr.contains("/nonexistent/auth.json"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("config.json");
    std::fs::write(&bad, "{not json").unwrap();
    let run = imagefacts(&["inspect", "--authfile", bad.to_str().unwrap(), "nginx"]);
    assert_eq!(run.status, 2);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.contains("config.json"), "{}", run.stderr);
    let run = imagefacts(&["inspect", "--ca-file", bad.to_str().unwrap(), "nginx"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("no PEM certificate"), "{}", run.stderr);
    // -o into a missing directory fails before anything is written.
    let out = dir.path().join("missing/facts.json");
    let run = imagefacts(&["inspect", "-o", out.to_str().unwrap(), "Nginx"]);
    assert_eq!(run.status, 2);
    assert!(!out.exists());
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("facts.json");
    let run = imagefacts(&["inspect", "-o", out.to_str().unwrap(), "Nginx"]);
    assert_eq!(run.status, 1);
    assert!(run.stdout.is_empty());
    let v: Value = crate::support::facts_file(&std::fs::read(&out).unwrap(), "facts.json");
    assert_eq!(v["version"], "v1");
    assert_eq!(imagefacts_cli::facts_violations(&v), Vec::<String>::new());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "no temp file left: {names:?}");
}

/// A tiny misbehaving registry serving one repository `bad/x` with scripted manifests.
fn misbehaving(manifests: Vec<(&'static str, Reply)>) -> ScriptedServer {
    let manifests: Vec<(String, Reply)> = manifests
        .into_iter()
        .map(|(t, r)| (format!("/v2/bad/x/manifests/{t}"), r))
        .collect();
    ScriptedServer::start(move |req: &Request| {
        if req.path_only() == "/v2/" {
            return Reply::new(200).json(&json!({}));
        }
        for (path, reply) in &manifests {
            if req.path_only() == path {
                return reply.clone();
            }
        }
        Reply::new(404)
            .json(&json!({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}))
    })
    .unwrap()
}

fn manifest_body(config_digest: &str) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 2},
        "layers": []
    })
    .to_string()
    .into_bytes()
}

#[test]
fn digest_mismatch_oversize_and_schema1_are_typed() {
    let body = manifest_body(&sha256(b"{}"));
    let wrong = sha256(b"something else");
    let pinned_wrong = wrong.clone();
    let schema1 = json!({"schemaVersion": 1, "name": "bad/x", "tag": "s1", "fsLayers": [], "history": [], "signatures": []})
        .to_string();
    let huge = vec![b' '; 5 * 1024 * 1024];
    let server = misbehaving(vec![
        // Announces one digest, serves other bytes.
        (
            "announced",
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .header("Docker-Content-Digest", &wrong)
                .body(body.clone()),
        ),
        // Asked by digest, serves other bytes.
        (
            Box::leak(pinned_wrong.into_boxed_str()),
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(body.clone()),
        ),
        (
            "huge",
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(huge),
        ),
        (
            "s1",
            Reply::new(200)
                .header(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v1+prettyjws",
                )
                .body(schema1),
        ),
    ]);
    let host = server.host();
    let refs = vec![
        format!("{host}/bad/x:announced"),
        format!("{host}/bad/x@{wrong}"),
        format!("{host}/bad/x:huge"),
        format!("{host}/bad/x:s1"),
    ];
    let run = inspect(&["--insecure-registry".to_owned(), host.clone()], &refs);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let facts = run.facts();
    let kinds: Vec<&str> = facts.iter().map(|f| error_of(f).0).collect();
    assert_eq!(
        kinds,
        [
            "digestMismatch",
            "digestMismatch",
            "tooLarge",
            "unsupported"
        ],
        "{}",
        run.stdout
    );
    assert!(error_of(&facts[3]).1.contains("schema 1"), "{}", facts[3]);
    let summary = &run.json()["summary"];
    assert_eq!(summary["errorsByKind"]["digestMismatch"], 2);
    // Schema 1 was never requested: the full Accept list went out on every manifest request.
    for r in server
        .requests()
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
    {
        let accept = r.header("accept").unwrap_or_default();
        for mt in [
            OCI_MANIFEST,
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ] {
            assert!(accept.contains(mt), "{accept}");
        }
    }
}

#[test]
fn config_blob_digest_mismatch_is_typed() {
    let config = b"{\"architecture\":\"amd64\",\"os\":\"linux\"}".to_vec();
    let claimed = sha256(b"{}");
    let body = manifest_body(&claimed);
    let claimed_path = format!("/v2/bad/x/blobs/{claimed}");
    let server = ScriptedServer::start(move |req: &Request| match req.path_only() {
        "/v2/" => Reply::new(200),
        "/v2/bad/x/manifests/1" => Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(body.clone()),
        p if p == claimed_path => Reply::new(200).body(config.clone()),
        _ => Reply::new(404),
    })
    .unwrap();
    let host = server.host();
    let run = inspect(
        &["--insecure-registry".to_owned(), host.clone()],
        &[format!("{host}/bad/x:1")],
    );
    assert_eq!(run.status, 1);
    assert_eq!(
        error_of(&run.facts()[0]).0,
        "digestMismatch",
        "{}",
        run.stdout
    );
}
