//! Smoke tests of the harness itself: real registries of every kind, fixtures, access log, token
//! server (users, OAuth2 grants, grant log), mutual TLS, process lifetime, scripted server.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use imagefacts_testkit::{
    Grant, Registry, RegistryKind, Reply, ScriptedServer, TokenGrant, push_fixtures, sha256_digest,
    skopeo_inspect, skopeo_inspect_config, skopeo_inspect_config_platform, skopeo_inspect_raw,
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
            assert!(registry.client_identity().is_none() && registry.docker_certs_d().is_none());
        }
        RegistryKind::TlsClientCert => {
            let ca = registry.ca_file().unwrap();
            assert!(registry.credentials().is_none() && registry.authfile().is_none());
            assert_eq!(
                registry.imagefacts_args(),
                ["--ca-file".to_owned(), ca.display().to_string()]
            );
            let (cert, key) = registry.client_identity().unwrap();
            assert!(cert.exists() && key.exists());
            let dir = registry.docker_certs_d().unwrap().join(registry.host());
            for name in ["ca.crt", "client.cert", "client.key"] {
                assert!(dir.join(name).is_file(), "{}/{name}", dir.display());
            }
            assert_eq!(registry.token_grants(), []);
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

#[test]
fn tls_client_cert_registry_roundtrip() {
    registry_roundtrip(RegistryKind::TlsClientCert);
}

#[test]
fn all_kinds_are_listed() {
    assert_eq!(RegistryKind::ALL.len(), 4);
    assert!(RegistryKind::ALL.contains(&RegistryKind::TlsClientCert));
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

/// `curl -sS --cacert CA ARGS URL`: whether curl succeeded, the HTTP status (0 when there was none,
/// e.g. a refused handshake), the body, and curl's stderr.
fn curl(ca: &Path, args: &[&str], url: &str) -> (bool, u16, String, String) {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(ca)
        .args(args)
        .args(["-w", "\n%{http_code}"])
        .arg(url)
        .output()
        .expect("running curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        out.status.success(),
        code.trim().parse().unwrap_or(0),
        body.to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `POST realm` with an urlencoded form (curl `--data-urlencode`): status and parsed JSON body.
fn post_form(realm: &str, ca: &Path, form: &[(&str, &str)]) -> (u16, Value) {
    let pairs: Vec<String> = form.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = Vec::new();
    for pair in &pairs {
        args.push("--data-urlencode");
        args.push(pair.as_str());
    }
    let (ok, status, body, stderr) = curl(ca, &args, realm);
    assert!(ok, "curl POST {realm} failed: {stderr}");
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The claims of a JWT (not verified).
fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn token_server_grants_refresh_tokens_and_logs_who_asked() {
    let t0 = Instant::now();
    let registry = Registry::start(RegistryKind::Token).unwrap();
    let realm = registry.token_realm().unwrap();
    let ca = registry.ca_file().unwrap();
    let service = "imagefacts-test-registry";
    let (scope_a, scope_b) = ("repository:team-a/app:pull", "repository:team-b/app:pull");
    registry.add_token_user("alice", "alice-pw");
    let alice_rt = registry.identity_token("alice");

    // Refresh-token grant (an identity token, as Docker and ACR send it).
    let (status, body) = post_form(
        &realm,
        &ca,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &alice_rt),
            ("service", service),
            ("scope", scope_a),
            ("client_id", "smoke"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], scope_a);
    assert_eq!(body["refresh_token"], alice_rt.as_str());
    assert!(
        body.get("token").is_none(),
        "OAuth2 answers carry access_token only: {body}"
    );
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    let claims = jwt_claims(&access_token);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type": "repository", "name": "team-a/app", "actions": ["pull"]}])
    );
    // The registry accepts it: an unknown manifest is 404 (authorized), not 401.
    let bearer = format!("Authorization: Bearer {access_token}");
    let manifest = format!("{}/v2/team-a/app/manifests/latest", registry.url());
    let (ok, status, _, stderr) = curl(&ca, &["-I", "-H", &bearer], &manifest);
    assert!(ok && status == 404, "{status} {stderr}");
    let (_, status, _, _) = curl(&ca, &["-I"], &manifest);
    assert_eq!(status, 401);

    // Password grant with access_type=offline: a new refresh token for bob, good for a refresh grant.
    registry.add_token_user("bob", "bob-pw");
    let password_form = |password: &'static str| {
        [
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", password),
            ("access_type", "offline"),
            ("service", service),
            ("scope", scope_b),
            ("client_id", "smoke"),
        ]
    };
    let (status, body) = post_form(&realm, &ca, &password_form("bob-pw"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["sub"],
        "bob"
    );
    let bob_rt = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(bob_rt, alice_rt);
    let (status, body) = post_form(
        &realm,
        &ca,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &bob_rt),
            ("service", service),
            ("scope", scope_b),
            ("client_id", "smoke"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        jwt_claims(body["access_token"].as_str().unwrap())["sub"],
        "bob"
    );

    // Refused: a wrong password, an unknown refresh token, a missing grant_type.
    let (status, body) = post_form(&realm, &ca, &password_form("wrong"));
    assert_eq!(status, 401, "{body}");
    let (status, body) = post_form(
        &realm,
        &ca,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt-bogus"),
            ("service", service),
            ("scope", scope_a),
            ("client_id", "smoke"),
        ],
    );
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    let (status, _) = post_form(&realm, &ca, &[("service", service), ("client_id", "smoke")]);
    assert_eq!(status, 400);

    // Docker token auth (GET + Basic) knows the extra users too; anonymous still works.
    let (ok, status, body, _) = curl(
        &ca,
        &["-u", "alice:alice-pw"],
        &format!("{realm}?service={service}&scope={scope_a}"),
    );
    assert!(ok && status == 200, "{status} {body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        jwt_claims(body["token"].as_str().unwrap())["access"][0]["name"],
        "team-a/app"
    );
    let (_, status, _, _) = curl(&ca, &[], &format!("{realm}?service={service}"));
    assert_eq!(status, 200);

    let grants = registry.token_grants();
    let grant = |subject: &str, grant: Grant, scopes: &[&str], status: u16| TokenGrant {
        subject: subject.to_owned(),
        grant,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        status,
    };
    assert_eq!(
        grants,
        [
            grant("alice", Grant::RefreshToken, &[scope_a], 200),
            grant("bob", Grant::Password, &[scope_b], 200),
            grant("bob", Grant::RefreshToken, &[scope_b], 200),
            grant("bob", Grant::Password, &[scope_b], 401),
            grant("", Grant::RefreshToken, &[scope_a], 401),
            grant("", Grant::Unsupported, &[], 400),
            grant("alice", Grant::Basic, &[scope_a], 200),
            grant("", Grant::Anonymous, &[], 200),
        ]
    );
    assert_eq!(registry.token_requests(), grants.len());
    let shown = format!("{grants:?}");
    for secret in [
        "alice-pw", "bob-pw", "wrong", &alice_rt, &bob_rt, "rt-bogus",
    ] {
        assert!(
            !shown.contains(secret),
            "{secret} in the grant log: {shown}"
        );
    }
    eprintln!("token grants test took {:?}", t0.elapsed());
}

/// `GET /v2/` over rustls 0.23 (ring), verified against `ca`, presenting `identity` (certificate,
/// PKCS#8 key) if given; the raw response, or the error when nothing came back.
fn rustls_get_v2(
    host: &str,
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> std::io::Result<String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_file(key).unwrap();
            assert!(
                matches!(key, PrivateKeyDer::Pkcs8(_)),
                "client key is not PKCS#8"
            );
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(host)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(
        format!("GET /v2/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            // A server closing without close_notify after a complete answer is fine.
            Err(_) if !out.is_empty() => break,
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[test]
fn tls_client_cert_registry_refuses_clients_without_a_certificate() {
    let t0 = Instant::now();
    let registry = Registry::start(RegistryKind::TlsClientCert).unwrap();
    let started = t0.elapsed();
    let ca = registry.ca_file().unwrap();
    let (cert, key) = registry.client_identity().unwrap();
    let url = format!("{}/v2/", registry.url());
    let cert_s = cert.display().to_string();
    let key_s = key.display().to_string();

    // curl with the client identity: 200; without: the handshake is refused (no HTTP status).
    let (ok, status, _, stderr) = curl(&ca, &["--cert", &cert_s, "--key", &key_s], &url);
    assert!(ok && status == 200, "{status} {stderr}");
    let (ok, status, _, stderr) = curl(&ca, &[], &url);
    assert!(
        !ok && status == 0,
        "a client without certificate got through: {status} {stderr}"
    );

    // The certs.d copy works the same way. (curl's `--cert` reads `FILE:PASSPHRASE`: the `:` of
    // `127.0.0.1:PORT` must be escaped.)
    let dir = registry.docker_certs_d().unwrap().join(registry.host());
    let key_pem = std::fs::read_to_string(dir.join("client.key")).unwrap();
    assert!(
        key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{key_pem}"
    );
    let (ok, status, _, stderr) = curl(
        &dir.join("ca.crt"),
        &[
            "--cert",
            &dir.join("client.cert")
                .display()
                .to_string()
                .replace(':', "\\:"),
            "--key",
            &dir.join("client.key").display().to_string(),
        ],
        &url,
    );
    assert!(ok && status == 200, "{status} {stderr}");

    // rustls 0.23 accepts the PKCS#8 key; without a certificate it is refused.
    let answer = rustls_get_v2(&registry.host(), &ca, Some((&cert, &key))).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let refused = rustls_get_v2(&registry.host(), &ca, None);
    assert!(
        refused.as_ref().is_err() || !refused.as_ref().unwrap().starts_with("HTTP/"),
        "{refused:?}"
    );

    // A certificate the client CA did not sign (the server's own, from the server CA) is refused.
    let tls_dir = ca.parent().unwrap();
    let (ok, status, _, _) = curl(
        &ca,
        &[
            "--cert",
            &tls_dir.join("server.crt").display().to_string(),
            "--key",
            &tls_dir.join("server.key").display().to_string(),
        ],
        &url,
    );
    assert!(
        !ok && status == 0,
        "a foreign certificate got through: {status}"
    );

    // skopeo with only the CA is refused too.
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(registry.cert_dir().unwrap())
        .arg(format!("docker://{}/fixtures/single:1.0", registry.host()))
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "skopeo without client certificate got through"
    );

    // Only the three requests that got through reached the HTTP layer.
    let log = registry.access_log();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert!(
        log.iter().all(|e| e.path == "/v2/" && e.status == 200),
        "{log:#?}"
    );
    // The refusals show in the registry's stderr (Go's `http: TLS handshake error`).
    let stderr = registry.stderr_tail();
    assert!(
        stderr.contains("tls: client didn't provide a certificate")
            && stderr.contains("failed to verify client certificate"),
        "{stderr}"
    );
    eprintln!("mTLS: start {started:?}, test {:?}", t0.elapsed() - started);
}
