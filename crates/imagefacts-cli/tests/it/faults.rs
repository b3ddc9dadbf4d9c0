//! Resilience against a misbehaving registry served in-process: retries with `Retry-After`,
//! 5xx, stalls, deadlines, fallback strategies, and progress events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use imagefacts_testkit::{Registry, RegistryKind, Reply, Request, ScriptedServer, push_fixtures};
use serde_json::{Value, json};

use crate::support::{args, imagefacts, inspect, sha256};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A valid one-image registry (`app:1`) whose replies pass through `fault(request, nth)` first:
/// returning `Some(reply)` injects it. `nth` counts requests to that path, from 1.
fn faulty(
    fault: impl Fn(&Request, usize) -> Option<Reply> + Send + Sync + 'static,
) -> ScriptedServer {
    let (config, manifest) = app_image();
    let manifest_digest = sha256(&manifest);
    let config_path = format!("/v2/app/blobs/{}", sha256(&config));
    let counts: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    ScriptedServer::start(move |req: &Request| {
        let nth = {
            let mut c = counts.lock().unwrap();
            let n = c
                .entry(format!("{} {}", req.method, req.path_only()))
                .or_insert(0);
            *n += 1;
            *n
        };
        if let Some(reply) = fault(req, nth) {
            return reply;
        }
        match req.path_only() {
            "/v2/" => Reply::new(200),
            "/v2/app/manifests/1" => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .header("Docker-Content-Digest", manifest_digest.clone())
                .body(if req.method == "HEAD" {
                    Vec::new()
                } else {
                    manifest.clone()
                })
                .header("Content-Length", manifest.len().to_string()),
            p if p.starts_with("/v2/app/manifests/sha256:") => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(manifest.clone()),
            p if p == config_path => Reply::new(200).body(config.clone()),
            _ => Reply::new(404),
        }
    })
    .unwrap()
}

/// `app:1`'s config and manifest (one layer).
fn app_image() -> (Vec<u8>, Vec<u8>) {
    let config = br#"{"architecture":"amd64","os":"linux","config":{"Env":["A=1"]}}"#.to_vec();
    let layer = "sha256:".to_owned() + &"ab".repeat(32);
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 1234}]
    })
    .to_string()
    .into_bytes();
    (config, manifest)
}

/// Whether `req` asks about the tag `app:1` (a `GET` when nothing is known, a `HEAD` to revalidate).
fn is_tag(req: &Request) -> bool {
    req.path_only() == "/v2/app/manifests/1"
}

fn run_app(server: &ScriptedServer, extra: &[&str]) -> crate::support::Run {
    let host = server.host();
    let mut flags = vec!["--insecure-registry".to_owned(), host.clone()];
    flags.extend(extra.iter().map(|s| (*s).to_owned()));
    inspect(&flags, &[format!("{host}/app:1")])
}

#[test]
fn rate_limited_with_retry_after_is_retried_after_the_wait() {
    let server = faulty(|req, nth| {
        (is_tag(req) && nth == 1).then(|| Reply::new(429).header("Retry-After", "1"))
    });
    let started = Instant::now();
    let run = run_app(&server, &[]);
    let took = started.elapsed();
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(took >= Duration::from_secs(1), "waited {took:?}");
    let asked: Vec<_> = server.requests().into_iter().filter(is_tag).collect();
    assert_eq!(asked.len(), 2);
}

#[test]
fn service_unavailable_twice_then_ok_succeeds() {
    let server = faulty(|req, nth| {
        (req.method == "GET" && req.path_only().contains("/manifests/") && nth <= 2)
            .then(|| Reply::new(503))
    });
    let run = run_app(&server, &[]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(run.facts()[0].get("error").is_none());
    let gets = server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path_only().contains("/manifests/"))
        .count();
    assert_eq!(gets, 3);
}

#[test]
fn persistent_failure_records_attempts_and_other_4xx_are_not_retried() {
    let server = faulty(|req, _| is_tag(req).then(|| Reply::new(502)));
    let run = run_app(&server, &["--retries", "2"]);
    assert_eq!(run.status, 1);
    let e = &run.facts()[0]["errorDetail"];
    assert_eq!(e["kind"], "server", "{e}");
    assert_eq!(e["status"], 502);
    assert_eq!(e["attempts"], 3);
    assert_eq!(e["retryable"], true);

    let server = faulty(|req, _| is_tag(req).then(|| Reply::new(400)));
    let run = run_app(&server, &[]);
    assert_eq!(run.status, 1);
    assert!(run.facts()[0]["errorDetail"].get("attempts").is_none());
    assert_eq!(server.requests().iter().filter(|r| is_tag(r)).count(), 1);
}

#[test]
fn stalled_body_times_out() {
    let server = faulty(|req, _| {
        (req.method == "GET" && req.path_only().contains("/blobs/")).then(|| {
            Reply::new(200)
                .header("Content-Length", "100")
                .body(vec![b'{'; 100])
                .stall_after(5)
        })
    });
    let started = Instant::now();
    let run = run_app(&server, &["--timeout", "1s", "--retries", "1"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(run.status, 1);
    let e = &run.facts()[0]["errorDetail"];
    assert_eq!(e["kind"], "timeout", "{e}");
    assert_eq!(e["attempts"], 2);
}

#[test]
fn deadline_turns_unfinished_images_into_timeouts_and_still_writes() {
    let server =
        faulty(|req, _| is_tag(req).then(|| Reply::new(200).delay(Duration::from_secs(5))));
    let started = Instant::now();
    let run = run_app(&server, &["--deadline", "1s"]);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(run.status, 1);
    let e = &run.facts()[0]["errorDetail"];
    assert_eq!(e["kind"], "timeout");
    assert!(e["message"].as_str().unwrap().contains("deadline"), "{e}");
}

#[test]
fn fallback_none_stops_and_writes_nothing() {
    let server = faulty(|req, _| is_tag(req).then(|| Reply::new(404)));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("facts.json");
    let run = run_app(
        &server,
        &["--fallback", "none", "-o", out.to_str().unwrap()],
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("app:1"), "{}", run.stderr);
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_missing_config_keeps_what_the_manifest_gave() {
    let server = faulty(|req, _| (req.path_only().contains("/blobs/")).then(|| Reply::new(404)));
    let (_, manifest) = app_image();
    // The default (best-effort) and `partial` alike keep the manifest's facts, as upstream does.
    for extra in [&[][..], &["--fallback", "partial"][..]] {
        let run = run_app(&server, extra);
        assert_eq!(run.status, 1);
        let f = &run.facts()[0];
        assert_eq!(f["partial"], true, "{f}");
        assert_eq!(f["digest"], sha256(&manifest), "{f}");
        assert_eq!(f["mediaType"], OCI_MANIFEST);
        assert_eq!(f["size"], 1234);
        assert_eq!(f["layers"].as_array().map(Vec::len), Some(1), "{f}");
        assert!(f["configDigest"].is_string());
        assert_eq!(f["errorDetail"]["kind"], "notFound");
        assert_eq!(f["errorDetail"]["step"], "config");
        assert!(f["error"].as_str().unwrap().contains("config"), "{f}");
    }
}

#[test]
fn a_malformed_manifest_is_invalid_manifest() {
    for body in [
        &b"not json"[..],
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#,
    ] {
        let body = body.to_vec();
        let server = faulty(move |req, _| {
            is_tag(req).then(|| {
                Reply::new(200)
                    .header("Content-Type", OCI_MANIFEST)
                    .body(body.clone())
            })
        });
        let run = run_app(&server, &[]);
        assert_eq!(run.status, 1);
        let e = &run.facts()[0]["errorDetail"];
        assert_eq!(e["kind"], "invalidManifest", "{e}");
        assert_eq!(e["retryable"], false);
        assert_eq!(e["step"], "resolve");
    }
}

#[test]
fn fallback_cached_serves_an_unreachable_registry_from_cache() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut flags = reg.imagefacts_args();
    flags.extend(["--cache-dir".to_owned(), cache.path().display().to_string()]);
    let refs = vec![
        format!("{}/{}", reg.host(), fx.single),
        format!("{}/{}", reg.host(), fx.multi_oci),
    ];
    let first = inspect(&flags, &refs);
    assert_eq!(first.status, 0);
    drop(reg); // the registry is gone
    flags.extend(
        [
            "--fallback",
            "cached",
            "--cache-ttl",
            "0s",
            "--retries",
            "0",
        ]
        .map(String::from),
    );
    let second = inspect(&flags, &refs);
    assert_eq!(second.status, 0, "{}", second.stdout);
    for (a, b) in first.facts().iter().zip(second.facts()) {
        assert_eq!(b["source"], "cache");
        assert_eq!(b["collectedAt"], a["collectedAt"], "original collectedAt");
        assert_eq!(b["digest"], a["digest"]);
        assert_eq!(b["fallbackReason"]["kind"], "network", "{b}");
    }
    assert_eq!(second.json()["summary"]["fromCache"], 2);
    // Without the fallback the same run fails.
    let mut no_fallback = flags.clone();
    no_fallback.truncate(no_fallback.len() - 6);
    no_fallback.extend(["--cache-ttl", "0s", "--retries", "0"].map(String::from));
    let third = inspect(&no_fallback, &refs);
    assert_eq!(third.status, 1);
}

#[test]
fn progress_json_lines_match_the_summary() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let refs = vec![
        format!("{host}/{}", fx.single),
        format!("{host}/{}", fx.multi_oci),
        format!("{host}/no/such:1"),
        "Invalid".to_owned(),
        format!("{host}/{}", fx.single),
    ];
    let mut flags = reg.imagefacts_args();
    flags.extend(["--progress".to_owned(), "json".to_owned()]);
    let run = inspect(&flags, &refs);
    assert_eq!(run.status, 1);
    let events: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(events.first().unwrap()["event"], "start");
    assert_eq!(events.first().unwrap()["total"], 5);
    let finish = events.last().unwrap();
    assert_eq!(finish["event"], "finish");
    let summary = &run.json()["summary"];
    assert_eq!(finish["totalImages"], summary["totalImages"]);
    assert_eq!(finish["collectionErrors"], summary["collectionErrors"]);
    assert_eq!(finish["errorsByKind"], summary["errorsByKind"]);
    assert_eq!(finish["succeeded"], 3);
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "imageFailed")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().any(|e| e["kind"] == "invalidReference"));
}

#[test]
fn retry_events_are_reported() {
    let server = faulty(|req, nth| (is_tag(req) && nth == 1).then(|| Reply::new(503)));
    let run = run_app(&server, &["--progress", "json"]);
    assert_eq!(run.status, 0);
    let retry: Value = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["event"] == "retry")
        .expect("a retry event");
    assert_eq!(retry["attempt"], 1);
    assert_eq!(retry["kind"], "server");
}

#[test]
fn progress_bar_is_drawn_on_a_terminal_only() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let bin = env!("CARGO_BIN_EXE_imagefacts");
    let cache = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{bin} inspect --cache-dir {} --insecure-registry {host} {host}/{} {host}/{} > /dev/null",
        cache.path().display(),
        fx.single,
        fx.multi_oci,
        host = reg.host()
    );
    // `script` gives the command a pseudo-terminal and records what it draws.
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("/2"),
        "a bar with done/total was drawn: {screen:?}"
    );
    // Not a terminal: nothing on stderr.
    let run = imagefacts(&args(
        &[
            "inspect".to_owned(),
            "--insecure-registry".to_owned(),
            reg.host(),
        ],
        &[format!("{}/{}", reg.host(), fx.single)],
    ));
    assert_eq!(run.status, 0);
    assert_eq!(run.stderr, "");
}

#[test]
fn announced_rate_limits_are_reported_in_the_summary() {
    let server = faulty(|req, _| {
        is_tag(req).then(|| {
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .header("ratelimit-limit", "100;w=21600")
                .header("ratelimit-remaining", "76;w=21600")
                .body(app_image().1)
        })
    });
    let run = run_app(&server, &[]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    let rl = &run.json()["summary"]["rateLimits"][server.host()];
    assert_eq!(rl["limit"], 100, "{}", run.stdout);
    assert_eq!(rl["remaining"], 76);
    assert_eq!(rl["windowSeconds"], 21600);
}

/// An index of BuildKit attestations only is an artifact (in-toto), not an error; an index of
/// children of unknown platforms that say nothing of being artifacts has no runnable platform.
#[test]
fn an_index_of_attestations_only_is_an_artifact_and_of_unknown_platforms_no_runnable_platform() {
    let child = sha256(b"attestation");
    let index_of = |annotations: Value| {
        json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": OCI_MANIFEST, "digest": child, "size": 11,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": annotations
            }]
        })
        .to_string()
        .into_bytes()
    };
    let attestations = index_of(json!({"vnd.docker.reference.type": "attestation-manifest"}));
    let unknown = index_of(json!({}));
    for (index, artifact) in [(attestations, true), (unknown, false)] {
        let index_digest = sha256(&index);
        let server = faulty(move |req, _| {
            is_tag(req).then(|| {
                Reply::new(200)
                    .header("Content-Type", "application/vnd.oci.image.index.v1+json")
                    .body(index.clone())
            })
        });
        let run = run_app(&server, &[]);
        let f = &run.facts()[0];
        // It exists: its digest and the child it holds are kept either way.
        assert_eq!(f["digest"], index_digest);
        assert_eq!(f["attestations"][0]["manifestDigest"], child);
        if artifact {
            assert_eq!(run.status, 0, "{f}");
            assert_eq!(f["artifactType"], "application/vnd.in-toto+json", "{f}");
            assert!(f.get("error").is_none(), "{f}");
            continue;
        }
        assert_eq!(run.status, 1);
        let e = &f["errorDetail"];
        assert_eq!(e["kind"], "noRunnablePlatform", "{f}");
        assert_eq!(e["step"], "platform");
        assert_eq!(e["retryable"], false);
        assert_eq!(f["partial"], true);
        assert!(f.get("artifactType").is_none(), "{f}");
    }
}

/// A token endpoint that accepts the connection and never answers: each attempt of the one
/// request costs one token request, the retries are the request's (not retries squared), and the
/// error's `attempts` is the number made.
#[test]
fn a_stalled_token_endpoint_costs_at_most_the_retry_budget() {
    let token_requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = token_requests.clone();
    let tokens = ScriptedServer::start(move |_req: &Request| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Reply::new(200).delay(Duration::from_secs(60))
    })
    .unwrap();
    let realm = format!("{}/token", tokens.url());
    let registry = ScriptedServer::start(move |_req: &Request| {
        Reply::new(401).header(
            "WWW-Authenticate",
            format!("Bearer realm=\"{realm}\",service=\"test\""),
        )
    })
    .unwrap();
    let host = registry.host();
    let started = Instant::now();
    let run = inspect(
        &[
            "--insecure-registry".to_owned(),
            host.clone(),
            "--timeout".to_owned(),
            "1s".to_owned(),
            "--retries".to_owned(),
            "2".to_owned(),
        ],
        &[format!("{host}/app:1")],
    );
    let took = started.elapsed();
    assert_eq!(run.status, 1);
    let e = &run.facts()[0]["errorDetail"];
    assert_eq!(e["kind"], "timeout", "{e}");
    let asked = token_requests.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(asked, 3, "one token request per attempt, 1 + 2 retries");
    assert_eq!(e["attempts"], 3, "{e}");
    assert_eq!(
        registry.requests().len(),
        1,
        "only the first contact reached the registry"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// A registry that sends headers and then one byte every 200 ms: the first attempt ends at the
/// request timeout, and the retries end with the image's retry time, not after every retry.
#[test]
fn a_dripping_registry_ends_by_the_images_retry_time() {
    let server = faulty(|req, _| {
        is_tag(req).then(|| {
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(app_image().1)
                .drip(Duration::from_millis(200))
        })
    });
    let started = Instant::now();
    let run = run_app(&server, &["--timeout", "2s", "--max-retry-time", "3s"]);
    let took = started.elapsed();
    assert_eq!(run.status, 1);
    let e = &run.facts()[0]["errorDetail"];
    assert_eq!(e["kind"], "timeout", "{e}");
    assert_eq!(e["attempts"], 2, "{e}");
    // Five attempts of 2 s each without the retry time; 3 s (and start-up) with it.
    assert!(took < Duration::from_secs(7), "{took:?}");
}

/// `Retry-After` is waited only while the image's retry time lasts.
#[test]
fn retry_after_is_waited_only_within_the_images_retry_time() {
    let server = faulty(|req, _| is_tag(req).then(|| Reply::new(429).header("Retry-After", "2")));
    let started = Instant::now();
    let run = run_app(&server, &["--max-retry-time", "3s"]);
    let took = started.elapsed();
    assert_eq!(run.status, 1);
    let f = &run.facts()[0];
    let e = &f["errorDetail"];
    assert_eq!(e["kind"], "rateLimited", "{e}");
    assert_eq!(e["attempts"], 2, "{e}");
    assert!(
        f["error"]
            .as_str()
            .unwrap()
            .contains("3s of retrying are spent"),
        "{f}"
    );
    assert_eq!(server.requests().iter().filter(|r| is_tag(r)).count(), 2);
    // Four waits of 2 s without the retry time.
    assert!(took < Duration::from_secs(6), "{took:?}");
}

/// A config whose values Go's types would refuse (a `created` that is not RFC 3339, port and
/// volume maps holding strings, a lowercase `t` in a time): the entry still decodes with
/// upstream's Go types (`run.facts()` checks every file that way), the bad time left out.
#[test]
fn config_values_go_would_refuse_are_normalised() {
    for (created, want) in [
        (json!("yesterday"), Value::Null),
        (
            json!("2024-05-01t12:00:00.5+02:00"),
            json!("2024-05-01T12:00:00.5+02:00"),
        ),
        (json!(12345), Value::Null),
    ] {
        let config = json!({"architecture": "amd64", "os": "linux", "created": created,
            "config": {"ExposedPorts": {"80/tcp": "x", "53/udp": null}, "Volumes": {"/data": 1}}})
        .to_string()
        .into_bytes();
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
            "layers": []})
        .to_string()
        .into_bytes();
        let config_path = format!("/v2/app/blobs/{}", sha256(&config));
        let server = ScriptedServer::start(move |req: &Request| match req.path_only() {
            "/v2/app/manifests/1" => Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(manifest.clone()),
            p if p == config_path => Reply::new(200).body(config.clone()),
            _ => Reply::new(404),
        })
        .unwrap();
        let run = run_app(&server, &[]);
        let f = &run.facts()[0];
        if f.get("error").is_some() {
            // A config Go could not read is refused as malformed, never passed on.
            assert_eq!(f["errorDetail"]["kind"], "invalidManifest", "{f}");
            continue;
        }
        assert_eq!(run.status, 0, "{}", run.stderr);
        assert_eq!(
            f.get("created").cloned().unwrap_or(Value::Null),
            want,
            "{f}"
        );
        assert_eq!(
            f["config"]["exposedPorts"],
            json!({"80/tcp": {}, "53/udp": {}})
        );
        assert_eq!(f["config"]["volumes"], json!({"/data": {}}));
    }
}
