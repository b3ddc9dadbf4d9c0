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

/// N distinct single-platform tagged images in one run: no `/v2/` ping and no HEAD (nothing is
/// known, so the GET of each tag gives digest and content at once), one config GET per image:
/// 2 requests per image, nothing else.
#[test]
fn cold_run_distinct_images() {
    const N: usize = 6;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let refs = push_images(&reg, N, true);
    reg.clear_access_log();
    let run = inspect(&reg.imagefacts_args(), &refs);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let log = reg.access_log();
    assert_eq!(count(&log), (0, 0, N, N, 0), "{log:#?}");
    assert!(log.iter().all(|e| e.status == 200), "{log:#?}");
}

/// The registry's flags with a cache directory of the test's own (kept while the guard lives).
fn with_cache(reg: &Registry) -> (tempfile::TempDir, Vec<String>) {
    let cache = tempfile::tempdir().unwrap();
    let mut flags = reg.imagefacts_args();
    flags.extend(["--cache-dir".to_owned(), cache.path().display().to_string()]);
    (cache, flags)
}

fn sources(run: &crate::support::Run) -> Vec<String> {
    run.facts()
        .iter()
        .map(|f| f["source"].as_str().unwrap().to_owned())
        .collect()
}

/// One image under N repository names: one manifest GET per reference (the digest is not known
/// before asking) and one config GET. A warm run asks the registry about every reference again
/// (one HEAD each, since the content is cached) and fetches nothing;
/// trusting cached tags (`--cache-ttl`) or `--offline` makes no request at all and says so
/// (`source: "cache"`, the original `collectedAt`).
#[test]
fn shared_digests_are_fetched_once_and_warm_runs_only_revalidate() {
    const N: usize = 8;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let refs = push_images(&reg, N, false);
    let (_cache, flags) = with_cache(&reg);
    reg.clear_access_log();
    let cold = inspect(&flags, &refs);
    assert_eq!(cold.status, 0, "{}", cold.stderr);
    let log = reg.access_log();
    assert_eq!(count(&log), (0, 0, N, 1, 0), "{log:#?}");
    assert_eq!(sources(&cold), vec!["registry"; N]);
    assert_eq!(cold.json()["summary"]["fromRegistry"], N);

    // Warm: the registry is asked about every reference (one HEAD), nothing is fetched.
    reg.clear_access_log();
    let warm = inspect(&flags, &refs);
    assert_eq!(warm.status, 0, "{}", warm.stderr);
    assert_eq!(count(&reg.access_log()), (0, N, 0, 0, 0), "warm run");
    assert_eq!(sources(&warm), vec!["registry"; N]);
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
    let collected = |run: &crate::support::Run| -> Vec<String> {
        run.facts()
            .iter()
            .map(|f| f["collectedAt"].as_str().unwrap().to_owned())
            .collect()
    };

    // Opting in to trust cached tags: no request, and the entries say the cache answered,
    // with the time the registry last did.
    for extra in [&["--cache-ttl", "1h"][..], &["--offline"][..]] {
        reg.clear_access_log();
        let mut trusting = flags.clone();
        trusting.extend(extra.iter().map(|s| (*s).to_owned()));
        let run = inspect(&trusting, &refs);
        assert_eq!(run.status, 0, "{extra:?}: {}", run.stderr);
        assert_eq!(count(&reg.access_log()), (0, 0, 0, 0, 0), "{extra:?}");
        assert_eq!(sources(&run), vec!["cache"; N], "{extra:?}");
        assert_eq!(run.json()["summary"]["fromCache"], N);
        assert_eq!(run.json()["summary"]["fromRegistry"], 0);
        // To the second (the cache keeps whole seconds): not later than the last registry answer.
        for (then, now) in collected(&warm).iter().zip(collected(&run)) {
            assert!(
                now[..19] <= then[..19],
                "{extra:?}: collectedAt {now} is not the cached time"
            );
        }
    }

    // Pinned by digest, content cached: one HEAD each confirms existence and access.
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
    assert_eq!(count(&reg.access_log()), (0, N, 0, 0, 0));
    assert_eq!(sources(&run), vec!["registry"; N]);

    // Offline with something the cache never saw: a typed error, still no request.
    reg.clear_access_log();
    let mut offline = flags.clone();
    offline.push("--offline".to_owned());
    let unknown = vec![format!("{}/count/never:seen", reg.host())];
    let run = inspect(&offline, &unknown);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(run.facts()[0]["errorDetail"]["kind"], "notCached");
    assert_eq!(count(&reg.access_log()), (0, 0, 0, 0, 0));
}

/// Repositories × tags, each repository's tags pointing at one image of its own (the bench's
/// 100 × 50 case, scaled down): one manifest GET per reference and one config GET per distinct
/// image, ≤ 1.05 requests per reference; warm, one HEAD per reference and nothing else.
#[test]
fn repositories_times_tags_cost_about_one_request_per_reference() {
    const REPOS: usize = 4;
    const TAGS: usize = 25;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let mut refs = Vec::new();
    for r in 0..REPOS {
        let mut spec = ImageSpec::simple("amd64");
        spec.labels.insert("test.repo".into(), r.to_string());
        let tag = format!("r{r}");
        layout.add_image(&tag, &spec).unwrap();
        for t in 0..TAGS {
            reg.seed(&layout, &tag, &format!("grid/repo{r}:t{t}"))
                .unwrap();
            refs.push(format!("{}/grid/repo{r}:t{t}", reg.host()));
        }
    }
    let (_cache, flags) = with_cache(&reg);
    reg.clear_access_log();
    let cold = inspect(&flags, &refs);
    assert_eq!(cold.status, 0, "{}", cold.stderr);
    let log = reg.access_log();
    assert_eq!(count(&log), (0, 0, REPOS * TAGS, REPOS, 0), "{log:#?}");
    let per_reference = log.len() as f64 / refs.len() as f64;
    assert!(
        per_reference <= 1.05,
        "{per_reference} requests per reference"
    );

    reg.clear_access_log();
    let warm = inspect(&flags, &refs);
    assert_eq!(warm.status, 0, "{}", warm.stderr);
    assert_eq!(
        count(&reg.access_log()),
        (0, REPOS * TAGS, 0, 0, 0),
        "warm run"
    );
}
