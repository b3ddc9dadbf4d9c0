//! The soak test: 2,000 references through a proxy that faults 10 % of the requests (seeded),
//! in front of the real registry. Every reference ends with facts or a typed error, nothing
//! panics, the deadline holds, and the facts of the images no fault touched equal a clean run's.
//! The figures are printed and written to `target/soak-figures.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use imagefacts_testkit::{Fault, FaultProxy, OciLayout, Registry, RegistryKind};
use serde_json::{Value, json};

use crate::support::{Run, imagefacts};

const REFERENCES: usize = 2_000;
const SEED: u64 = 20_261_202;
const PERCENT: u32 = 10;
/// The run's `--deadline`; the whole run must end before it (plus writing the output).
const DEADLINE: Duration = Duration::from_secs(120);

/// Every fault the proxy can inject (the hanging token endpoint needs token auth: it has its own
/// test in `injected`).
fn faults() -> Vec<Fault> {
    vec![
        Fault::HangUp,
        Fault::HangUpAfterHeaders,
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
        Fault::TooManyRequests { retry_after: None },
        Fault::StallBody,
        Fault::TruncateBody,
        Fault::OtherContent,
        Fault::Oversize(5 * 1024 * 1024),
        Fault::RedirectLoop,
        Fault::InvalidJson,
        Fault::ManyLayers(10_000),
        Fault::GarbageChallenge,
        Fault::Hang,
    ]
}

/// `imagefacts inspect -f REFS` through `proxy`; returns the run and how long it took.
fn collect(proxy: &FaultProxy, refs_file: &std::path::Path) -> (Run, Duration) {
    let deadline = format!("{}s", DEADLINE.as_secs());
    let started = Instant::now();
    let run = imagefacts(&[
        "inspect",
        "--insecure-registry",
        &format!("http://{}", proxy.host()),
        "--timeout",
        "2s",
        "--max-retry-time",
        "20s",
        "--deadline",
        &deadline,
        "--per-registry",
        "16",
        "--no-cache",
        "-f",
        refs_file.to_str().unwrap(),
    ]);
    (run, started.elapsed())
}

/// Entries by repository (the proxy's address differs between runs), without the fields that
/// name the address or the time.
fn by_repository(run: &Run) -> BTreeMap<String, Value> {
    run.facts()
        .into_iter()
        .map(|mut f| {
            let repo = f["repository"].as_str().unwrap_or_default().to_owned();
            let o = f.as_object_mut().unwrap();
            for k in ["reference", "registry", "endpoint", "source", "collectedAt"] {
                o.remove(k);
            }
            (repo, f)
        })
        .collect()
}

/// The repository a request path is about (`/v2/<repo>/manifests/…`), if any.
fn repository_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/v2/")?;
    let end = rest.find("/manifests/").or_else(|| rest.find("/blobs/"))?;
    Some(rest[..end].to_owned())
}

#[test]
fn two_thousand_references_through_ten_percent_faults() {
    let started = Instant::now();
    let registry = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(&dir.path().join("layout")).unwrap();
    let repos = registry
        .seed_distinct(&layout, "soak/app", REFERENCES, "1")
        .unwrap();
    let seeded = started.elapsed();
    let clean_proxy = FaultProxy::start(&registry.host(), |_, _| None).unwrap();
    let write_refs = |proxy: &FaultProxy, name: &str| {
        let path = dir.path().join(name);
        let refs: Vec<String> = repos
            .iter()
            .map(|r| format!("{}/{r}:1", proxy.host()))
            .collect();
        std::fs::write(&path, refs.join("\n") + "\n").unwrap();
        path
    };
    let (clean_run, clean_took) = collect(&clean_proxy, &write_refs(&clean_proxy, "clean.txt"));
    assert_eq!(clean_run.status, 0, "{}", clean_run.stderr);
    let clean = by_repository(&clean_run);
    assert_eq!(clean.len(), REFERENCES);

    let proxy = FaultProxy::seeded(&registry.host(), SEED, PERCENT, faults()).unwrap();
    let (run, took) = collect(&proxy, &write_refs(&proxy, "faulted.txt"));
    assert!(
        !run.stderr.contains("panicked"),
        "a panic in the faulted run:\n{}",
        run.stderr
    );
    assert!(
        matches!(run.status, 0 | 1),
        "exit {}: {}",
        run.status,
        run.stderr
    );
    assert!(took < DEADLINE, "the run took {took:?}, past its deadline");
    let faulted_run = by_repository(&run);
    assert_eq!(
        faulted_run.len(),
        REFERENCES,
        "every reference has an entry"
    );

    let injected = proxy.injected();
    let touched: BTreeSet<String> = injected
        .iter()
        .filter_map(|i| repository_of(&i.path))
        .collect();
    let mut faults_by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for i in &injected {
        *faults_by_kind.entry(i.fault.kind()).or_default() += 1;
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut untouched = 0;
    for (repo, f) in &faulted_run {
        let class = match f["errorDetail"]["kind"].as_str() {
            Some(kind) => format!("error:{kind}"),
            None if f == &clean[repo] => "facts:equal".to_owned(),
            None => "facts:other".to_owned(),
        };
        *outcomes.entry(class).or_default() += 1;
        if f.get("error").is_some() {
            assert!(
                f["errorDetail"]["kind"].is_string(),
                "{repo}: an error without a typed kind: {f}"
            );
        }
        if !touched.contains(repo) {
            untouched += 1;
            assert_eq!(f, &clean[repo], "{repo}: no fault touched it");
        }
    }
    let requests = proxy.requests().len();
    let figures = json!({
        "references": REFERENCES,
        "seed": SEED,
        "faultPercent": PERCENT,
        "requests": requests,
        "faultsInjected": injected.len(),
        "faultsByKind": faults_by_kind,
        "referencesTouchedByAFault": touched.len(),
        "referencesUntouched": untouched,
        "outcomes": outcomes,
        "faultedRunSeconds": took.as_secs_f64(),
        "cleanRunSeconds": clean_took.as_secs_f64(),
        "cleanRequests": clean_proxy.requests().len(),
        "seedSeconds": seeded.as_secs_f64(),
        "testSeconds": started.elapsed().as_secs_f64(),
    });
    let text = serde_json::to_string_pretty(&figures).unwrap();
    println!("soak figures:\n{text}");
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let _ = std::fs::write(target.join("soak-figures.json"), &text);
    assert!(
        injected.len() * 100 >= requests * (PERCENT as usize - 3),
        "too few faults: {text}"
    );
    assert!(untouched > REFERENCES / 2, "{text}");
}
