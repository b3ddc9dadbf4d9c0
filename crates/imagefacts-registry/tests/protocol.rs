//! The protocol client against scripted servers and real registries: HEAD resolution and its GET
//! fallback, credentials never following a redirect to another host, stalled bodies, token reuse.

mod common;
use common::Fixed;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use imagefacts_model::facts::ErrorKind;
use imagefacts_model::{Digest, Reference};
use imagefacts_registry::{ClientConfig, Credential, RegistryClient, RegistryError, RetryPolicy};
use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer, push_fixtures};
use serde_json::json;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn insecure(host: &str) -> ClientConfig {
    ClientConfig {
        insecure_registries: vec![host.to_owned()],
        ..ClientConfig::default()
    }
}

fn reference(s: &str) -> Reference {
    s.parse().unwrap()
}

fn manifest_body(config: &[u8]) -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(config).to_string(), "size": config.len()},
        "layers": []
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn resolve_uses_head_and_falls_back_to_get_without_digest_header() {
    let body = manifest_body(b"{}");
    let digest = Digest::sha256_of(&body);
    let announced = digest.to_string();
    let server =
        ScriptedServer::start(
            move |req: &Request| match (req.method.as_str(), req.path_only()) {
                (_, "/v2/") => Reply::new(200),
                ("HEAD", "/v2/a/manifests/with-header") => Reply::new(200)
                    .header("Content-Type", OCI_MANIFEST)
                    .header("Docker-Content-Digest", announced.clone())
                    .header("Content-Length", body.len().to_string()),
                ("HEAD", "/v2/a/manifests/no-header") => {
                    Reply::new(200).header("Content-Type", OCI_MANIFEST)
                }
                ("GET", "/v2/a/manifests/no-header") => Reply::new(200)
                    .header("Content-Type", OCI_MANIFEST)
                    .body(body.clone()),
                _ => Reply::new(404),
            },
        )
        .unwrap();
    let host = server.host();
    let client = RegistryClient::new(insecure(&host)).unwrap();
    let got = client
        .resolve(&reference(&format!("{host}/a:with-header")))
        .await
        .unwrap();
    assert_eq!(got, digest);
    let got = client
        .resolve(&reference(&format!("{host}/a:no-header")))
        .await
        .unwrap();
    assert_eq!(got, digest);
    // A pinned reference needs no request at all.
    let before = server.requests().len();
    let pinned = reference(&format!("{host}/a@{digest}"));
    assert_eq!(client.resolve(&pinned).await.unwrap(), digest);
    assert_eq!(server.requests().len(), before);
    let methods: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_only()))
        .collect();
    // No `/v2/` ping: the first request itself finds the endpoint.
    assert_eq!(
        methods,
        [
            "HEAD /v2/a/manifests/with-header",
            "HEAD /v2/a/manifests/no-header",
            "GET /v2/a/manifests/no-header"
        ]
    );
}

#[tokio::test]
async fn blob_redirect_to_another_host_carries_no_credentials() {
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let digest = Digest::sha256_of(&config);
    let cdn_body = config.clone();
    let cdn = ScriptedServer::start(move |_req: &Request| Reply::new(200).body(cdn_body.clone()))
        .unwrap();
    let cdn_url = format!("{}/signed/blob?sig=abc", cdn.url());
    let blob_path = format!("/v2/a/blobs/{digest}");
    let registry = ScriptedServer::start(move |req: &Request| {
        if req.header("authorization").is_none() {
            return Reply::new(401).header("WWW-Authenticate", r#"Basic realm="test""#);
        }
        if req.path_only() == blob_path {
            return Reply::new(307).header("Location", cdn_url.clone());
        }
        Reply::new(200)
    })
    .unwrap();
    let host = registry.host();
    let credential = Credential::UserPassword {
        username: "u".into(),
        password: "hunter2".into(),
    };
    let client =
        RegistryClient::with_credentials(insecure(&host), Arc::new(Fixed(credential))).unwrap();
    let (bytes, parsed) = client.get_config(&host, "a", &digest).await.unwrap();
    assert_eq!(bytes, config);
    assert_eq!(parsed.platform().to_string(), "linux/amd64");
    let to_registry = registry.requests();
    assert!(
        to_registry
            .iter()
            .any(|r| r.header("authorization").is_some())
    );
    assert!(
        !format!("{client:?}").contains("hunter2"),
        "Debug of the client"
    );
    let to_cdn = cdn.requests();
    assert_eq!(to_cdn.len(), 1);
    assert_eq!(
        to_cdn[0].header("authorization"),
        None,
        "credentials leaked across hosts"
    );
}

#[tokio::test]
async fn stalled_body_times_out_and_wrong_blob_is_rejected() {
    let body = manifest_body(b"{}");
    let server = ScriptedServer::start(move |req: &Request| match req.path_only() {
        "/v2/" => Reply::new(200),
        "/v2/a/manifests/stall" => Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(body.clone())
            .stall_after(10),
        _ => Reply::new(200).body("not the blob"),
    })
    .unwrap();
    let host = server.host();
    let config = ClientConfig {
        read_timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        }
        .no_delay(),
        ..insecure(&host)
    };
    let client = RegistryClient::new(config).unwrap();
    let started = std::time::Instant::now();
    let err = client
        .get_manifest(&reference(&format!("{host}/a:stall")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert_eq!(
        err.attempts(),
        2,
        "a stalled read is retried once, then given up"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let stalls = server
        .requests()
        .iter()
        .filter(|r| r.path_only() == "/v2/a/manifests/stall")
        .count();
    assert_eq!(stalls, 2);
    let err = client
        .get_blob(&host, "a", &Digest::sha256_of(b"x"), 1024, "config")
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn reauthenticates_once_when_a_token_is_refused() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let issued = tokens.clone();
    let server = ScriptedServer::start(move |req: &Request| {
        let realm = format!("http://{}/token", req.header("host").unwrap_or_default());
        let challenge = format!(r#"Bearer realm="{realm}",service="svc""#);
        match req.path_only() {
            "/token" => {
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                Reply::new(200).json(&json!({"access_token": format!("tok{n}"), "expires_in": 300}))
            }
            // The first token is refused, the second accepted.
            _ if req.header("authorization") == Some("Bearer tok2") => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(manifest_body(b"{}")),
            _ => Reply::new(401).header("WWW-Authenticate", challenge),
        }
    })
    .unwrap();
    let host = server.host();
    let client = RegistryClient::new(insecure(&host)).unwrap();
    client
        .get_manifest(&reference(&format!("{host}/a:1")))
        .await
        .unwrap();
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    // Cached now: more requests, no more tokens.
    client
        .get_manifest(&reference(&format!("{host}/a:1")))
        .await
        .unwrap();
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    let token_req = server
        .requests()
        .into_iter()
        .find(|r| r.path_only() == "/token")
        .unwrap();
    let q = token_req.query();
    assert!(q.contains(&("service".into(), "svc".into())), "{q:?}");
    assert!(
        q.contains(&("scope".into(), "repository:a:pull".into())),
        "{q:?}"
    );
}

#[tokio::test]
async fn token_registry_no_ping_and_one_token_per_repository() {
    let reg = tokio::task::spawn_blocking(|| {
        let reg = Registry::start(RegistryKind::Token).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        (reg, fx)
    })
    .await
    .unwrap();
    let (reg, fx) = reg;
    let (username, password) = reg.credentials().unwrap();
    let config = ClientConfig {
        ca_files: vec![reg.ca_file().unwrap()],
        ..ClientConfig::default()
    };
    let client = RegistryClient::with_credentials(
        config,
        Arc::new(Fixed(Credential::UserPassword { username, password })),
    )
    .unwrap();
    let before = reg.token_requests();
    reg.clear_access_log();
    let r = reference(&format!("{}/{}", reg.host(), fx.multi_oci));
    let top = client.get_manifest(&r).await.unwrap();
    let head = client.head_manifest(&r).await.unwrap();
    assert_eq!(head.digest, Some(top.digest.clone()));
    let other = reference(&format!("{}/{}", reg.host(), fx.single));
    client.get_manifest(&other).await.unwrap();
    assert_eq!(
        reg.token_requests() - before,
        2,
        "one token per repository scope"
    );
    let log = reg.access_log();
    assert_eq!(
        log.iter().filter(|e| e.path == "/v2/").count(),
        0,
        "no ping"
    );
    // The first request is refused anonymously (it tells the challenge); every later one carries
    // its repository's token: one 401 in all.
    assert_eq!(
        log.iter().filter(|e| e.status == 401).count(),
        1,
        "{log:#?}"
    );
    assert_eq!(log.len(), 4, "{log:#?}");
}

#[tokio::test]
async fn insecure_registry_accepts_an_untrusted_certificate() {
    let (reg, fx) = tokio::task::spawn_blocking(|| {
        let reg = Registry::start(RegistryKind::TlsBasic).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        (reg, fx)
    })
    .await
    .unwrap();
    let (username, password) = reg.credentials().unwrap();
    let r = reference(&format!("{}/{}", reg.host(), fx.single));
    let creds = Arc::new(Fixed(Credential::UserPassword { username, password }));
    // Verified TLS without the CA fails; named insecure, it works over unverified TLS.
    let strict = RegistryClient::with_credentials(ClientConfig::default(), creds.clone()).unwrap();
    let err = strict.get_manifest(&r).await.unwrap_err();
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let lax = RegistryClient::with_credentials(insecure(&reg.host()), creds).unwrap();
    let got = lax.get_manifest(&r).await.unwrap();
    assert_eq!(got.digest.to_string(), fx.single_digest);
}

/// Requests to one registry stay under `per_registry`; a 429 halves that limit.
#[tokio::test]
async fn per_registry_concurrency_halves_on_429() {
    let arrivals: Arc<std::sync::Mutex<Vec<(std::time::Instant, String)>>> = Arc::default();
    let log = arrivals.clone();
    let server = ScriptedServer::start(move |req: &Request| {
        log.lock()
            .unwrap()
            .push((std::time::Instant::now(), req.path_only().to_owned()));
        match req.path_only() {
            "/v2/" => Reply::new(200),
            "/v2/a/manifests/limited" => Reply::new(429).header("Retry-After", "0"),
            _ => Reply::new(200)
                .header("Docker-Content-Digest", Digest::sha256_of(b"m").to_string())
                .delay(Duration::from_millis(400)),
        }
    })
    .unwrap();
    let host = server.host();
    let config = ClientConfig {
        per_registry: 6,
        retry: RetryPolicy::never(),
        ..insecure(&host)
    };
    let client = RegistryClient::new(config).unwrap();
    // How many of a burst of 12 concurrent HEADs the server receives before the first reply can
    // be back: each reply takes 400 ms, so until 400 ms after the first arrival, every request
    // received is still in flight. That is the limit at the start of the burst (never more).
    let burst = |tag: &'static str| {
        let client = client.clone();
        let host = host.clone();
        let arrivals = arrivals.clone();
        async move {
            arrivals.lock().unwrap().clear();
            let heads = (0..12).map(|i| {
                let r = reference(&format!("{host}/a:{tag}{i}"));
                let client = client.clone();
                async move { client.head_manifest(&r).await.unwrap() }
            });
            futures::future::join_all(heads).await;
            let times: Vec<std::time::Instant> = arrivals
                .lock()
                .unwrap()
                .iter()
                .filter(|(_, p)| p.contains(tag))
                .map(|(t, _)| *t)
                .collect();
            let first = *times.iter().min().unwrap();
            times
                .iter()
                .filter(|t| t.duration_since(first) < Duration::from_millis(400))
                .count()
        }
    };
    // The first request to a registry goes alone (it finds the endpoint): make it before the burst.
    client
        .head_manifest(&reference(&format!("{host}/a:first")))
        .await
        .unwrap();
    let before = burst("before").await;
    assert!(
        (4..=6).contains(&before),
        "in flight before the 429: {before}"
    );
    assert_eq!(client.concurrency_limit(&host), 6);
    let err = client
        .head_manifest(&reference(&format!("{host}/a:limited")))
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::RateLimited { .. }), "{err:?}");
    assert_eq!(client.concurrency_limit(&host), 3);
    // The limit holds for the next burst, then grows back with successes.
    let after = burst("after").await;
    assert!((1..=3).contains(&after), "in flight after the 429: {after}");
    assert!(client.concurrency_limit(&host) > 3);
}

/// An `identitytoken` (OAuth2 refresh token) is exchanged with a POST to the realm.
#[tokio::test]
async fn identity_token_is_exchanged_with_a_post() {
    let server = ScriptedServer::start(move |req: &Request| {
        let realm = format!(
            "http://{}/oauth2/token",
            req.header("host").unwrap_or_default()
        );
        match (req.method.as_str(), req.path_only()) {
            ("POST", "/oauth2/token") => {
                let form = String::from_utf8_lossy(&req.body).into_owned();
                if form.contains("grant_type=refresh_token")
                    && form.contains("refresh_token=r3fresh")
                {
                    Reply::new(200).json(&json!({"access_token": "from-refresh", "expires_in": 60}))
                } else {
                    Reply::new(401)
                }
            }
            _ if req.header("authorization") == Some("Bearer from-refresh") => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(manifest_body(b"{}")),
            _ => Reply::new(401).header(
                "WWW-Authenticate",
                format!(r#"Bearer realm="{realm}",service="acr""#),
            ),
        }
    })
    .unwrap();
    let host = server.host();
    let credential = Credential::IdentityToken {
        username: "00000000-0000-0000-0000-000000000000".into(),
        token: "r3fresh".into(),
    };
    let client =
        RegistryClient::with_credentials(insecure(&host), Arc::new(Fixed(credential))).unwrap();
    client
        .get_manifest(&reference(&format!("{host}/a:1")))
        .await
        .unwrap();
    let post = server
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(String::from_utf8_lossy(&post.body).contains("scope=repository%3Aa%3Apull"));
}

/// A credential helper that takes its time (a first `aws sso` login, a keychain prompt) holds up
/// only the registry it serves: on one thread, as the CLI runs, requests to another registry go
/// on meanwhile, and the helper's answer is still used.
#[tokio::test(flavor = "current_thread")]
async fn a_slow_credential_helper_holds_up_only_its_registry() {
    use imagefacts_registry::credentials::{DockerConfig, HelperRunner};
    use std::time::Instant;

    let body = manifest_body(b"{}");
    let digest = Digest::sha256_of(&body);
    let (private_body, public_body) = (body.clone(), body.clone());
    let manifest = |body: &[u8]| {
        Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(body.to_vec())
    };
    // "u:p" in base64.
    let private = ScriptedServer::start(move |req: &Request| {
        if req.path_only() != "/v2/" && req.header("authorization") == Some("Basic dTpw") {
            manifest(&private_body)
        } else {
            Reply::new(401).header("WWW-Authenticate", r#"Basic realm="test""#)
        }
    })
    .unwrap();
    let public = ScriptedServer::start(move |req: &Request| match req.path_only() {
        "/v2/" => Reply::new(200),
        _ => manifest(&public_body),
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let helper = dir.path().join("docker-credential-slow");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread -r server\nsleep 2\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"u\",\"Secret\":\"p\"}' \"$server\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let config = serde_json::to_vec(&json!({"credHelpers": {private.host(): "slow"}})).unwrap();
    let runner = HelperRunner::new(Duration::from_secs(20)).with_search_path(dir.path());
    let source = DockerConfig::parse(&config, &dir.path().join("config.json"))
        .unwrap()
        .with_helpers(Arc::new(runner));
    let client = RegistryClient::with_credentials(
        ClientConfig {
            insecure_registries: vec![
                format!("http://{}", private.host()),
                format!("http://{}", public.host()),
            ],
            ..ClientConfig::default()
        },
        Arc::new(source),
    )
    .unwrap();

    let started = Instant::now();
    let private_ref = reference(&format!("{}/app:1", private.host()));
    let slow = client.get_manifest(&private_ref);
    let quick = async {
        // Once the helper is running, ask the other registry.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let got = client
            .get_manifest(&reference(&format!("{}/app:1", public.host())))
            .await
            .unwrap();
        (got, started.elapsed())
    };
    let (slow, (quick, quick_at)) = tokio::join!(slow, quick);
    let slow_at = started.elapsed();
    assert_eq!(quick.digest, digest);
    assert_eq!(slow.unwrap().digest, digest);
    assert!(
        quick_at < Duration::from_millis(1500),
        "the public registry waited for the helper: answered after {quick_at:?}"
    );
    assert!(slow_at >= Duration::from_secs(2), "{slow_at:?}");
}
