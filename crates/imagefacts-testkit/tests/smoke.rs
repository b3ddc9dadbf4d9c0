//! Smoke tests of the harness itself: real registries of every kind, fixtures, access log, token
//! server, process lifetime, scripted server.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use imagefacts_testkit::{
    Registry, RegistryKind, Reply, ScriptedServer, push_fixtures, sha256_digest, skopeo_inspect,
    skopeo_inspect_config, skopeo_inspect_config_platform, skopeo_inspect_raw,
};
use serde_json::Value;

fn registry_roundtrip(kind: RegistryKind) {
    let t0 = Instant::now();
    let registry = Registry::start(kind).expect("start registry");
    let started = t0.elapsed();
    let fixtures = push_fixtures(&registry).expect("push fixtures");
    eprintln!(
        "{kind:?}: start {:?}, push_fixtures {:?}",
        started,
        t0.elapsed() - started
    );

    let log = registry.access_log();
    for repo in [
        "fixtures/single",
        "fixtures/multi-oci",
        "fixtures/single-v2s2",
        "fixtures/multi-v2s2",
    ] {
        let manifest_put = format!("/v2/{repo}/manifests/1.0");
        assert!(
            log.iter()
                .any(|e| e.method == "PUT" && e.path == manifest_put && e.status == 201),
            "{kind:?}: no PUT {manifest_put} in access log: {log:#?}"
        );
    }
    assert!(log.iter().all(|e| !e.user_agent.contains("testkit-probe")));

    // Raw manifests: media types and digests.
    let cases = [
        (
            &fixtures.single,
            &fixtures.single_digest,
            "application/vnd.oci.image.manifest.v1+json",
        ),
        (
            &fixtures.multi_oci,
            &fixtures.multi_oci_digest,
            "application/vnd.oci.image.index.v1+json",
        ),
        (
            &fixtures.single_v2s2,
            &fixtures.single_v2s2_digest,
            "application/vnd.docker.distribution.manifest.v2+json",
        ),
        (
            &fixtures.multi_v2s2,
            &fixtures.multi_v2s2_digest,
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ),
    ];
    for (reference, digest, media_type) in cases {
        let raw = skopeo_inspect_raw(&registry, reference).expect("inspect raw");
        assert_eq!(&sha256_digest(&raw), digest, "{kind:?} {reference}");
        let v: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(v["mediaType"], media_type, "{kind:?} {reference}");
    }
    let index: Value =
        serde_json::from_slice(&skopeo_inspect_raw(&registry, &fixtures.multi_oci).unwrap())
            .unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 4);
    assert_eq!(manifests[1]["platform"]["variant"], "v8");
    assert_eq!(
        manifests[2]["annotations"]["vnd.docker.reference.type"],
        "attestation-manifest"
    );
    assert_eq!(
        manifests[2]["annotations"]["vnd.docker.reference.digest"],
        manifests[0]["digest"]
    );
    let list: Value =
        serde_json::from_slice(&skopeo_inspect_raw(&registry, &fixtures.multi_v2s2).unwrap())
            .unwrap();
    assert_eq!(list["manifests"].as_array().unwrap().len(), 2);

    if kind == RegistryKind::Plain {
        // The remaining inspections cost ~3 requests each; once is enough.
        let config = skopeo_inspect_config(&registry, &fixtures.single).unwrap();
        assert_eq!(config["config"]["User"], "1000:1000");
        assert_eq!(
            config["config"]["Labels"]["org.opencontainers.image.version"],
            "1.0.0"
        );
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        let summary = skopeo_inspect(&registry, &fixtures.single_v2s2).unwrap();
        assert_eq!(summary["Layers"].as_array().unwrap().len(), 2);
        let arm = skopeo_inspect_config_platform(
            &registry,
            &fixtures.multi_oci,
            "linux",
            "arm64",
            Some("v8"),
        )
        .unwrap();
        assert_eq!(arm["architecture"], "arm64");
        assert_eq!(arm["variant"], "v8");
    }

    registry.clear_access_log();
    assert!(registry.access_log().is_empty());
    skopeo_inspect_raw(&registry, &fixtures.single).unwrap();
    let log = registry.access_log();
    assert!(
        log.iter().any(|e| e.method == "GET"
            && e.path == "/v2/fixtures/single/manifests/1.0"
            && e.status == 200),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .all(|e| e.user_agent.contains("skopeo") || e.user_agent.contains("containers"))
    );

    match kind {
        RegistryKind::Plain => {
            assert!(registry.ca_file().is_none() && registry.credentials().is_none());
            assert_eq!(
                registry.imagefacts_args(),
                ["--insecure-registry".to_owned(), registry.host()]
            );
            assert_eq!(registry.token_requests(), 0);
        }
        RegistryKind::TlsBasic | RegistryKind::Token => {
            assert!(registry.ca_file().unwrap().exists());
            assert!(registry.cert_dir().unwrap().join("ca.crt").exists());
            let auth: Value =
                serde_json::from_slice(&std::fs::read(registry.authfile().unwrap()).unwrap())
                    .unwrap();
            assert!(auth["auths"][registry.host()]["auth"].is_string());
            assert_eq!(registry.imagefacts_args()[0], "--ca-file");
            assert_eq!(registry.imagefacts_args()[2], "--authfile");
        }
    }
}

#[test]
fn plain_registry_roundtrip() {
    registry_roundtrip(RegistryKind::Plain);
}

#[test]
fn tls_basic_registry_roundtrip() {
    registry_roundtrip(RegistryKind::TlsBasic);
}

#[test]
fn token_registry_roundtrip() {
    registry_roundtrip(RegistryKind::Token);
}

/// Minimal HTTP/1.1 GET over plain TCP; returns the raw response.
fn http_get(host: &str, path: &str, headers: &[(&str, &str)]) -> std::io::Result<String> {
    let mut s = TcpStream::connect(host)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// `GET` over TLS (verified against `ca`) with `openssl s_client`; the raw response.
fn https_get(
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    ca: &std::path::Path,
) -> std::io::Result<String> {
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut child = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            host,
            "-quiet",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(ca)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    child.stdin.take().unwrap().write_all(req.as_bytes())?;
    let out = child.wait_with_output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn token_registry_denies_anonymous_and_counts_token_requests() {
    let registry = Registry::start(RegistryKind::Token).unwrap();
    assert_eq!(registry.token_requests(), 0);
    let realm = registry.token_realm().unwrap();
    assert!(
        realm.starts_with("https://"),
        "real realms are HTTPS: {realm}"
    );
    let ca = registry.ca_file().unwrap();
    let token_host = realm
        .trim_start_matches("https://")
        .trim_end_matches("/token")
        .to_owned();

    // Anonymous /v2/ → 401 with a Bearer challenge naming our realm.
    let text = https_get(&registry.host(), "/v2/", &[], &ca)
        .unwrap()
        .to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 401"), "{text}");
    assert!(
        text.contains(&format!("www-authenticate: bearer realm=\"{realm}\"")),
        "{text}"
    );

    // Token server: wrong password → 401; anonymous → token without access; right password → access.
    let scope = "scope=repository%3Afoo%2Fbar%3Apull%2Cpush&service=imagefacts-test-registry";
    let bad = https_get(
        &token_host,
        &format!("/token?{scope}"),
        &[("Authorization", "Basic aW1hZ2VmYWN0czpub3Bl")],
        &ca,
    )
    .unwrap();
    assert!(bad.starts_with("HTTP/1.1 401"), "{bad}");
    let anon = https_get(&token_host, &format!("/token?{scope}"), &[], &ca).unwrap();
    assert!(anon.starts_with("HTTP/1.1 200"), "{anon}");
    let claims = |response: &str| -> Value {
        let body: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["token"], body["access_token"]);
        assert_eq!(body["expires_in"], 300);
        let jwt = body["token"].as_str().unwrap();
        let payload = jwt.split('.').nth(1).unwrap();
        use base64::Engine as _;
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims(&anon)["access"], serde_json::json!([]));
    let (user, pass) = registry.credentials().unwrap();
    use base64::Engine as _;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    );
    let good = https_get(
        &token_host,
        &format!("/token?{scope}"),
        &[("Authorization", &basic)],
        &ca,
    )
    .unwrap();
    let c = claims(&good);
    assert_eq!(c["access"][0]["name"], "foo/bar");
    assert_eq!(
        c["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );
    assert_eq!(c["aud"], "imagefacts-test-registry");
    assert_eq!(registry.token_requests(), 3);

    // skopeo with credentials gets tokens and pushes; without credentials it is denied.
    let fixtures = push_fixtures(&registry).unwrap();
    assert!(registry.token_requests() > 3);
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(registry.cert_dir().unwrap())
        .arg(format!("docker://{}/{}", registry.host(), fixtures.single))
        .output()
        .unwrap();
    assert!(!out.status.success(), "anonymous skopeo inspect must fail");
    let log = registry.access_log();
    assert!(log.iter().any(|e| e.status == 401), "{log:#?}");
}

#[test]
fn dropping_registry_stops_it() {
    let registry = Registry::start(RegistryKind::Plain).unwrap();
    let host = registry.host();
    assert!(
        http_get(&host, "/v2/", &[])
            .unwrap()
            .starts_with("HTTP/1.1 200")
    );
    let dir = registry.dir().to_path_buf();
    let t0 = Instant::now();
    drop(registry);
    eprintln!("drop took {:?}", t0.elapsed());
    assert!(
        TcpStream::connect(&host).is_err(),
        "registry still answers after drop"
    );
    assert!(!dir.exists(), "temp dir not removed");
}

#[test]
fn scripted_server_statuses_headers_and_stall() {
    let server = ScriptedServer::start(|req| match req.path_only() {
        "/ok" => Reply::new(200).header("X-Test", "yes").body("hello"),
        "/json" => {
            Reply::new(404).json(&serde_json::json!({"errors": [{"code": "MANIFEST_UNKNOWN"}]}))
        }
        "/short" => Reply::new(200)
            .header("Content-Length", "100")
            .body("only ten!!"),
        "/stall" => Reply::new(200).body(vec![b'x'; 1000]).stall_after(10),
        "/slow" => Reply::new(204).delay(Duration::from_millis(200)),
        "/panic" => panic!("boom"),
        _ => Reply::new(404),
    })
    .unwrap();
    let host = server.host();

    let ok = http_get(&host, "/ok?a=1", &[("Accept", "text/plain")]).unwrap();
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
    assert!(
        ok.contains("X-Test: yes\r\n")
            && ok.contains("Content-Length: 5\r\n")
            && ok.ends_with("\r\n\r\nhello")
    );

    let json = http_get(&host, "/json", &[]).unwrap();
    assert!(
        json.starts_with("HTTP/1.1 404") && json.contains("Content-Type: application/json"),
        "{json}"
    );
    assert!(json.ends_with(r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#));

    let short = http_get(&host, "/short", &[]).unwrap();
    assert!(
        short.contains("Content-Length: 100\r\n") && short.ends_with("only ten!!"),
        "{short}"
    );

    // HEAD: headers with the body's length, no body.
    let mut s = TcpStream::connect(&host).unwrap();
    s.write_all(b"HEAD /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut head = String::new();
    s.read_to_string(&mut head).unwrap();
    assert!(
        head.contains("Content-Length: 5\r\n") && head.ends_with("\r\n\r\n"),
        "{head}"
    );

    // Keep-alive: two requests on one connection.
    let mut s = TcpStream::connect(&host).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut both = String::new();
    s.read_to_string(&mut both).unwrap();
    assert_eq!(both.matches("HTTP/1.1 200 OK").count(), 2, "{both}");

    // Stall: 10 body bytes arrive, then nothing until we give up.
    let mut s = TcpStream::connect(&host).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s.write_all(b"GET /stall HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let t0 = Instant::now();
    let mut buf = [0u8; 2048];
    loop {
        match s.read(&mut buf) {
            Ok(0) => panic!("server closed a stalled response"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("Content-Length: 1000\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nxxxxxxxxxx"), "{text}");
    drop(s);

    let t0 = Instant::now();
    let slow = http_get(&host, "/slow", &[]).unwrap();
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert!(
        slow.starts_with("HTTP/1.1 204") && !slow.contains("Content-Length"),
        "{slow}"
    );

    let panicked = http_get(&host, "/panic", &[]).unwrap();
    assert!(
        panicked.starts_with("HTTP/1.1 500") && panicked.contains("boom"),
        "{panicked}"
    );

    let requests = server.requests();
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/ok?a=1");
    assert_eq!(requests[0].header("ACCEPT"), Some("text/plain"));
    assert_eq!(requests[0].query(), [("a".to_owned(), "1".to_owned())]);
    assert!(requests.iter().any(|r| r.method == "HEAD"));

    // A stalled connection does not keep the server alive after drop.
    let mut s = TcpStream::connect(&host).unwrap();
    s.write_all(b"GET /stall HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    drop(server);
    assert!(t0.elapsed() < Duration::from_secs(2));
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest); // returns once the server side closed
    assert!(TcpStream::connect(&host).is_err());
}

#[test]
fn seeded_images_are_served_without_access_log_noise() {
    use imagefacts_testkit::{ImageSpec, OciLayout, fixture_multi_specs};
    let registry = Registry::start(RegistryKind::Plain).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(tmp.path()).unwrap();
    let single = layout.add_image("s", &ImageSpec::simple("amd64")).unwrap();
    let index = layout.add_index("m", &fixture_multi_specs(), true).unwrap();
    let t0 = Instant::now();
    for i in 0..20 {
        assert_eq!(
            registry
                .seed(&layout, "s", &format!("seeded/s{i}:v1"))
                .unwrap(),
            single
        );
    }
    assert_eq!(
        registry.seed(&layout, "m", "seeded/multi:v1").unwrap(),
        index
    );
    eprintln!("seeding 21 repos took {:?}", t0.elapsed());
    assert!(registry.access_log().is_empty());

    let raw = skopeo_inspect_raw(&registry, "seeded/s7:v1").unwrap();
    assert_eq!(sha256_digest(&raw), single);
    let raw = skopeo_inspect_raw(&registry, &format!("seeded/multi@{index}")).unwrap();
    assert_eq!(sha256_digest(&raw), index);
    let arm =
        skopeo_inspect_config_platform(&registry, "seeded/multi:v1", "linux", "arm64", Some("v8"))
            .unwrap();
    assert_eq!(arm["architecture"], "arm64");
    let summary = skopeo_inspect(&registry, "seeded/s3:v1").unwrap();
    assert_eq!(summary["Digest"], single.as_str());
    assert!(registry.seed(&layout, "nope", "seeded/x:v1").is_err());
    assert!(registry.seed(&layout, "s", "no-tag").is_err());
}
