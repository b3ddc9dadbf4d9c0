//! Faults injected by a proxy in front of the real registry (`docker-registry`), one test per
//! fault: each ends with the registry's own facts (a transient fault, retried) or the typed error
//! that says what happened, in bounded time.

use std::time::{Duration, Instant};

use imagefacts_testkit::{Fault, FaultProxy, Registry};
use serde_json::Value;

use crate::support::{Run, app_registry, inspect};

/// A plain registry holding `app:1` (one linux/amd64 image) and a proxy in front of it.
struct Behind {
    proxy: FaultProxy,
    _registry: Registry,
    _layout: tempfile::TempDir,
}

fn behind(
    token_auth: bool,
    plan: impl Fn(&imagefacts_testkit::Request, usize) -> Option<Fault> + Send + Sync + 'static,
) -> Behind {
    let (registry, dir) = app_registry(&["1"]);
    let proxy = if token_auth {
        FaultProxy::with_token_auth(&registry.host(), plan)
    } else {
        FaultProxy::start(&registry.host(), plan)
    }
    .unwrap();
    Behind {
        proxy,
        _registry: registry,
        _layout: dir,
    }
}

impl Behind {
    /// `imagefacts inspect` of `app:1` through the proxy (`--timeout 2s` unless `extra` sets one).
    fn run(&self, extra: &[&str]) -> Run {
        let host = self.proxy.host();
        let mut flags = vec!["--insecure-registry".to_owned(), format!("http://{host}")];
        if !extra.contains(&"--timeout") {
            flags.extend(["--timeout".to_owned(), "2s".to_owned()]);
        }
        flags.extend(extra.iter().map(|s| (*s).to_owned()));
        inspect(&flags, &[format!("{host}/app:1")])
    }

    /// The one entry of a run, after checking it ended with `status`.
    fn entry(&self, extra: &[&str], status: i32) -> Value {
        let run = self.run(extra);
        assert_eq!(run.status, status, "{}\n{}", run.stdout, run.stderr);
        run.facts().remove(0)
    }

    /// How many requests the proxy received for `method` on paths containing `part`.
    fn count(&self, method: &str, part: &str) -> usize {
        self.proxy
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path_only().contains(part))
            .count()
    }
}

/// The entry a run without any fault gives.
fn clean() -> Value {
    let b = behind(false, |_, _| None);
    let mut f = b.entry(&[], 0);
    strip_host(&mut f);
    f
}

/// Drops the fields that name the proxy's address (different per test).
fn strip_host(f: &mut Value) {
    for k in [
        "reference",
        "registry",
        "endpoint",
        "source",
        "repository",
        "collectedAt",
    ] {
        f.as_object_mut().unwrap().remove(k);
    }
}

/// The entry equals a clean run's, but for the proxy's address.
fn assert_clean(mut f: Value) {
    strip_host(&mut f);
    assert_eq!(f, clean());
}

fn is_tag_get(r: &imagefacts_testkit::Request) -> bool {
    r.method == "GET" && r.path_only() == "/v2/app/manifests/1"
}

fn is_blob_get(r: &imagefacts_testkit::Request) -> bool {
    r.method == "GET" && r.path_only().starts_with("/v2/app/blobs/")
}

#[test]
fn a_reset_before_the_headers_is_retried() {
    let b = behind(false, |r, nth| {
        (is_tag_get(r) && nth == 1).then_some(Fault::HangUp)
    });
    assert_clean(b.entry(&[], 0));
    assert_eq!(b.count("GET", "/manifests/1"), 2);
}

#[test]
fn a_reset_after_the_headers_is_retried() {
    let b = behind(false, |r, nth| {
        (is_blob_get(r) && nth == 1).then_some(Fault::HangUpAfterHeaders)
    });
    assert_clean(b.entry(&[], 0));
    assert_eq!(b.count("GET", "/blobs/"), 2);
}

#[test]
fn server_errors_are_retried_and_a_persistent_one_reports_its_attempts() {
    for status in [500, 502, 503] {
        let b = behind(false, move |r, nth| {
            (is_tag_get(r) && nth <= 2).then_some(Fault::Status(status))
        });
        assert_clean(b.entry(&[], 0));
        assert_eq!(b.count("GET", "/manifests/1"), 3, "{status}");
    }
    let b = behind(false, |r, _| is_tag_get(r).then_some(Fault::Status(503)));
    let f = b.entry(&["--retries", "2"], 1);
    let e = &f["errorDetail"];
    assert_eq!(e["kind"], "server", "{e}");
    assert_eq!(e["status"], 503);
    assert_eq!(e["attempts"], 3);
    assert_eq!(b.count("GET", "/manifests/1"), 3);
}

#[test]
fn rate_limits_with_and_without_retry_after_are_waited_out() {
    for retry_after in [Some(1), None] {
        let b = behind(false, move |r, nth| {
            (is_tag_get(r) && nth == 1).then_some(Fault::TooManyRequests { retry_after })
        });
        let started = Instant::now();
        assert_clean(b.entry(&[], 0));
        if retry_after.is_some() {
            assert!(started.elapsed() >= Duration::from_secs(1));
        }
        assert_eq!(b.count("GET", "/manifests/1"), 2);
    }
}

#[test]
fn a_stalled_body_times_out_and_is_retried() {
    let b = behind(false, |r, nth| {
        (is_blob_get(r) && nth == 1).then_some(Fault::StallBody)
    });
    let started = Instant::now();
    assert_clean(b.entry(&[], 0));
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert_eq!(b.count("GET", "/blobs/"), 2);
}

#[test]
fn a_truncated_body_is_retried() {
    let b = behind(false, |r, nth| {
        (is_tag_get(r) && nth == 1).then_some(Fault::TruncateBody)
    });
    assert_clean(b.entry(&[], 0));
    assert_eq!(b.count("GET", "/manifests/1"), 2);
}

#[test]
fn a_body_with_another_digest_is_a_digest_mismatch_that_keeps_the_manifest() {
    let b = behind(false, |r, _| is_blob_get(r).then_some(Fault::OtherContent));
    let f = b.entry(&[], 1);
    let e = &f["errorDetail"];
    assert_eq!(e["kind"], "digestMismatch", "{e}");
    assert_eq!(e["step"], "config", "{e}");
    let good = clean();
    assert_eq!(f["digest"], good["digest"]);
    assert_eq!(f["layers"], good["layers"]);

    // A tag's manifest whose body is not what its Docker-Content-Digest says.
    let b = behind(false, |r, _| is_tag_get(r).then_some(Fault::OtherContent));
    let e = b.entry(&[], 1)["errorDetail"].clone();
    assert_eq!(e["kind"], "digestMismatch", "{e}");
}

#[test]
fn an_oversize_manifest_is_too_large_and_not_retried() {
    let b = behind(false, |r, _| {
        is_tag_get(r).then_some(Fault::Oversize(5 * 1024 * 1024))
    });
    let e = b.entry(&[], 1)["errorDetail"].clone();
    assert_eq!(e["kind"], "tooLarge", "{e}");
    assert_eq!(b.count("GET", "/manifests/1"), 1);
}

#[test]
fn a_redirect_loop_ends_as_a_server_error() {
    let b = behind(false, |r, _| is_tag_get(r).then_some(Fault::RedirectLoop));
    let started = Instant::now();
    let e = b.entry(&[], 1)["errorDetail"].clone();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(e["kind"], "server", "{e}");
    assert!(e["message"].as_str().unwrap().contains("redirects"), "{e}");
}

#[test]
fn invalid_json_is_an_invalid_manifest() {
    let b = behind(false, |r, _| is_tag_get(r).then_some(Fault::InvalidJson));
    let e = b.entry(&[], 1)["errorDetail"].clone();
    assert_eq!(e["kind"], "invalidManifest", "{e}");
    assert_eq!(e["retryable"], false);
    assert_eq!(b.count("GET", "/manifests/1"), 1);
}

#[test]
fn ten_thousand_layers_are_all_reported_in_bounded_time() {
    let b = behind(false, |r, _| {
        is_tag_get(r).then_some(Fault::ManyLayers(10_000))
    });
    let started = Instant::now();
    let f = b.entry(&[], 0);
    assert!(started.elapsed() < Duration::from_secs(20));
    let layers = f["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 10_000);
    let sum: u64 = (0..10_000u64).map(|i| 1000 + i).sum();
    assert_eq!(
        layers
            .iter()
            .map(|l| l["size"].as_u64().unwrap())
            .sum::<u64>(),
        sum
    );
    assert_eq!(f["configDigest"], clean()["configDigest"]);
}

#[test]
fn a_garbage_challenge_is_an_auth_error() {
    let b = behind(false, |r, _| {
        r.path_only()
            .starts_with("/v2/app/")
            .then_some(Fault::GarbageChallenge)
    });
    let e = b.entry(&[], 1)["errorDetail"].clone();
    assert_eq!(e["kind"], "auth", "{e}");
    assert_eq!(e["status"], 401, "{e}");
}

#[test]
fn a_hanging_token_endpoint_costs_at_most_the_retry_budget() {
    let b = behind(true, |r, _| {
        (r.path_only() == "/token").then_some(Fault::Hang)
    });
    let started = Instant::now();
    let f = b.entry(&["--retries", "2", "--timeout", "1s"], 1);
    assert!(started.elapsed() < Duration::from_secs(15));
    let e = &f["errorDetail"];
    assert_eq!(e["kind"], "timeout", "{e}");
    let tokens = b.count("GET", "/token");
    assert!((1..=3).contains(&tokens), "{tokens} token requests");
    assert_eq!(e["attempts"], tokens, "{e}");
}

#[test]
fn the_token_dance_through_the_proxy_works() {
    let b = behind(true, |_, _| None);
    assert_clean(b.entry(&[], 0));
    assert!(b.count("GET", "/token") >= 1);
}

#[test]
fn a_registry_that_never_answers_ends_the_run_by_its_deadline() {
    let b = behind(false, |_, _| Some(Fault::Hang));
    let started = Instant::now();
    let f = b.entry(&["--deadline", "3s", "--timeout", "60s"], 1);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert_eq!(f["errorDetail"]["kind"], "timeout", "{f}");
}
