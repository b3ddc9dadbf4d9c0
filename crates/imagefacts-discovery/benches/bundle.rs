//! How long discovery takes on a support bundle of 10,000 pods (the issue asks for under 2 s in a
//! release build on the 2-core project machine). Run with
//! `cargo bench -p imagefacts-discovery --bench bundle`; results are kept in `BENCHMARKS.md`.

#[path = "../tests/it/synthetic.rs"]
mod synthetic;

use std::time::{Duration, Instant};

use imagefacts_bundle::Bundle;
use imagefacts_discovery::{BundleScan, NamespaceFilter};
use imagefacts_model::discovery::Discovery;

/// One pass of the bundle reader feeding discovery, as the CLI reads a bundle.
fn read_bundle(path: &std::path::Path, filter: &NamespaceFilter) -> Result<Discovery, String> {
    let mut scan = BundleScan::new(filter);
    Bundle::open_with(path, &mut scan).map_err(|e| e.to_string())?;
    scan.finish(path)
        .map(|(d, _)| d.discovery)
        .map_err(|e| e.to_string())
}

const RUNS: usize = 5;

fn time(what: &str, mut f: impl FnMut() -> usize) {
    let mut times: Vec<Duration> = Vec::new();
    let mut images = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        images = f();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{what:<28} median {:>7.1} ms   min {:>7.1} ms   max {:>7.1} ms   ({images} images, {RUNS} runs)",
        times[RUNS / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[RUNS - 1].as_secs_f64() * 1e3,
    );
}

fn main() {
    // `cargo test --benches` runs this binary too: keep that quick.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let shape = synthetic::Shape::ten_thousand_pods();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let archive = dir.path().join("support-bundle.tar.gz");
    let bytes = synthetic::tar_gz(shape);
    let json_bytes: usize = synthetic::files(shape).iter().map(|(_, d)| d.len()).sum();
    std::fs::write(&archive, &bytes).unwrap_or_else(|e| panic!("write: {e}"));
    synthetic::write_dir(shape, &dir.path().join("extracted"));
    println!(
        "synthetic bundle: {} pods, {} namespaces, {:.1} MiB of JSON, {:.1} MiB gzipped",
        shape.pods(),
        shape.namespaces,
        json_bytes as f64 / (1024.0 * 1024.0),
        bytes.len() as f64 / (1024.0 * 1024.0)
    );
    let filter = NamespaceFilter::default();
    time("read_bundle(.tar.gz)", || {
        read_bundle(&archive, &filter)
            .map(|d| d.images.len())
            .unwrap_or_else(|e| panic!("{e}"))
    });
    time("read_bundle(directory)", || {
        read_bundle(&dir.path().join("extracted"), &filter)
            .map(|d| d.images.len())
            .unwrap_or_else(|e| panic!("{e}"))
    });
}
