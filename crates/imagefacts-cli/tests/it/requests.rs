//! Request counts from the registry's own access log: the fewest requests, cold and warm.

use imagefacts_testkit::{
    AccessLogEntry, ImageSpec, OciLayout, PushFormat, Registry, RegistryKind, push,
};

use crate::support::{args, imagefacts, inspect};

/// Requests by type: (pings, manifest HEADs, manifest GETs, blob GETs, others).
fn count(log: &[AccessLogEntry]) -> (usize, usize, usize, usize, usize) {
    let mut c = (0, 0, 0, 0, 0);
    for e in log {
        assert!(
            e.user_agent.starts_with("imagefacts/"),
            "only imagefacts talked: {e:?}"
        );
        match (e.method.as_str(), e.path.as_str()) {
            (_, "/v2/") => c.0 += 1,
            ("HEAD", p) if p.contains("/manifests/") => c.1 += 1,
            ("GET", p) if p.contains("/manifests/") => c.2 += 1,
            ("GET", p) if p.contains("/blobs/") => c.3 += 1,
            _ => c.4 += 1,
        }
    }
    c
}

/// Pushes one image (made distinct per index when `distinct`) under `n` repository names.
fn push_images(reg: &Registry, n: usize, distinct: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let mut refs = Vec::new();
    for i in 0..n {
        let mut spec = ImageSpec::simple("amd64");
        if distinct {
            spec.labels.insert("test.index".into(), i.to_string());
        }
        let tag = format!("t{i}");
        layout.add_image(&tag, &spec).unwrap();
        push(
            &layout,
            &tag,
            reg,
            &format!("count/img{i}:v{i}"),
            PushFormat::Oci,
            false,
        )
        .unwrap();
        refs.push(format!("{}/count/img{i}:v{i}", reg.host()));
    }
    refs
}

/// N distinct single-platform tagged images in one run: one `/v2/` ping, one HEAD per tag, one
/// manifest GET and one config GET per distinct digest, nothing else.
#[test]
fn cold_run_distinct_images() {
    const N: usize = 6;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let refs = push_images(&reg, N, true);
    reg.clear_access_log();
    let run = inspect(&reg.imagefacts_args(), &refs);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let log = reg.access_log();
    assert_eq!(count(&log), (1, N, N, N, 0), "{log:#?}");
    assert!(log.iter().all(|e| e.status == 200), "{log:#?}");
}

/// One image under N repository names: N HEADs, but its manifest and config fetched once; the
/// second run with the same cache makes no request at all (tags within their TTL); references
/// pinned by digest make none either.
#[test]
fn shared_digests_are_fetched_once_and_warm_runs_are_free() {
    const N: usize = 8;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let refs = push_images(&reg, N, false);
    let cache = tempfile::tempdir().unwrap();
    let mut flags = reg.imagefacts_args();
    flags.extend(["--cache-dir".to_owned(), cache.path().display().to_string()]);
    reg.clear_access_log();
    let cold = inspect(&flags, &refs);
    assert_eq!(cold.status, 0, "{}", cold.stderr);
    let log = reg.access_log();
    assert_eq!(count(&log), (1, N, 1, 1, 0), "{log:#?}");

    reg.clear_access_log();
    let warm = inspect(&flags, &refs);
    assert_eq!(warm.status, 0, "{}", warm.stderr);
    assert_eq!(
        count(&reg.access_log()),
        (0, 0, 0, 0, 0),
        "warm run, tags fresh"
    );
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        for f in v.as_array_mut().unwrap() {
            f.as_object_mut().unwrap().remove("collectedAt");
        }
        v
    };
    assert_eq!(
        strip(&cold.json()["imageFacts"]),
        strip(&warm.json()["imageFacts"])
    );

    // Tags past their TTL: one HEAD each, still no manifest or config GET.
    reg.clear_access_log();
    let mut stale = flags.clone();
    stale.extend(["--cache-ttl".to_owned(), "0s".to_owned()]);
    let run = inspect(&stale, &refs);
    assert_eq!(run.status, 0);
    assert_eq!(count(&reg.access_log()), (1, N, 0, 0, 0));

    // Pinned by digest: nothing to ask at all.
    let digest = cold.facts()[0]["digest"].as_str().unwrap().to_owned();
    let pinned: Vec<String> = refs
        .iter()
        .map(|r| {
            format!(
                "{}@{digest}",
                r.split(':').take(2).collect::<Vec<_>>().join(":")
            )
        })
        .collect();
    reg.clear_access_log();
    let run = imagefacts(&args(&["inspect".to_owned()], &args(&flags, &pinned)));
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(count(&reg.access_log()), (0, 0, 0, 0, 0));
}
