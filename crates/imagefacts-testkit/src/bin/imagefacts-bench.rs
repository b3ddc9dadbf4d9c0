//! The benchmark behind `scripts/bench`: imagefacts against a shell loop of `skopeo inspect
//! --config`, on one local registry, in the same run. Prints a Markdown report.
//!
//! Usage: `imagefacts-bench --imagefacts PATH [--images 500] [--runs 5] [--skopeo-runs 3]
//! [--memory-repos 100 --memory-tags 50]`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use imagefacts_testkit::{AccessLogEntry, ImageSpec, OciLayout, Registry, RegistryKind};

struct Options {
    imagefacts: PathBuf,
    images: usize,
    runs: usize,
    skopeo_runs: usize,
    memory_repos: usize,
    memory_tags: usize,
    bundle_pods: usize,
    only_bundle: bool,
    extra: String,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut o = Options {
        imagefacts: PathBuf::new(),
        images: 500,
        runs: 5,
        skopeo_runs: 3,
        memory_repos: 100,
        memory_tags: 50,
        bundle_pods: 50_000,
        only_bundle: false,
        extra: String::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--imagefacts" => o.imagefacts = PathBuf::from(value()?),
            "--images" => o.images = value()?.parse()?,
            "--runs" => o.runs = value()?.parse()?,
            "--skopeo-runs" => o.skopeo_runs = value()?.parse()?,
            "--memory-repos" => o.memory_repos = value()?.parse()?,
            "--memory-tags" => o.memory_tags = value()?.parse()?,
            "--extra" => o.extra = value()?,
            "--bundle-pods" => o.bundle_pods = value()?.parse()?,
            "--only-bundle" => o.only_bundle = true,
            other => bail!("unknown flag {other}"),
        }
    }
    if o.imagefacts.as_os_str().is_empty() {
        bail!("--imagefacts PATH is required");
    }
    Ok(o)
}

/// One measured command: wall time, peak RSS (KiB), and the registry requests it made.
struct Sample {
    wall: Duration,
    /// User + system CPU time of the measured process tree.
    cpu: Duration,
    rss_kib: u64,
    requests: BTreeMap<&'static str, usize>,
}

fn classify(e: &AccessLogEntry) -> &'static str {
    match (e.method.as_str(), e.path.as_str()) {
        (_, "/v2/") => "ping",
        ("HEAD", p) if p.contains("/manifests/") => "manifest HEAD",
        ("GET", p) if p.contains("/manifests/") => "manifest GET",
        ("GET", p) if p.contains("/blobs/") => "blob GET",
        _ => "other",
    }
}

/// Runs `sh -c script` under `/usr/bin/time` and counts the registry's access log.
fn measure(registry: &Registry, script: &str) -> anyhow::Result<Sample> {
    registry.clear_access_log();
    let rss_file = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M", "-o"])
        .arg(rss_file.path())
        .args(["sh", "-c", script])
        .stdout(Stdio::null())
        .status()
        .context("running /usr/bin/time (Debian package `time`)")?;
    let wall = started.elapsed();
    if !status.success() {
        bail!("benchmark command failed ({status}): {script}");
    }
    let report = std::fs::read_to_string(rss_file.path())?;
    let fields: Vec<&str> = report
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let cpu = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = Duration::from_secs_f64(cpu(0) + cpu(1));
    let rss_kib = fields.get(2).and_then(|f| f.parse().ok()).unwrap_or(0);
    let mut requests = BTreeMap::new();
    for e in registry.access_log() {
        *requests.entry(classify(&e)).or_insert(0) += 1;
    }
    Ok(Sample {
        wall,
        cpu,
        rss_kib,
        requests,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One Deployment per reference, as multi-document YAML for `imagefacts collect --manifests`.
fn write_manifests(path: &Path, refs: &[String]) -> anyhow::Result<()> {
    let mut yaml = String::new();
    for (i, r) in refs.iter().enumerate() {
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: bench}}\nspec:\n  template:\n    spec:\n      containers: [{{name: app, image: \"{r}\"}}]\n"
        ));
    }
    std::fs::write(path, yaml)?;
    Ok(())
}

fn fmt_requests(r: &BTreeMap<&str, usize>) -> String {
    let total: usize = r.values().sum();
    let parts: Vec<String> = r.iter().map(|(k, v)| format!("{v} {k}")).collect();
    format!("{total} ({})", parts.join(", "))
}

/// Discovery from a large support bundle: wall time and peak RSS of `imagefacts list --bundle`.
fn bundle_bench(o: &Options, registry: &Registry, work: &Path) -> anyhow::Result<String> {
    eprintln!("bench: writing a bundle of {} pods ...", o.bundle_pods);
    let (bundle, json_bytes) =
        imagefacts_testkit::write_big_bundle(work, o.bundle_pods, 10, "registry.example")?;
    let gz = std::fs::metadata(&bundle)?.len();
    let script = format!(
        "{} list --bundle {} -o json",
        o.imagefacts.display(),
        bundle.display()
    );
    let mut samples = Vec::new();
    for _ in 0..3 {
        samples.push(measure(registry, &script)?);
    }
    let walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    let rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) / 1024;
    Ok(format!(
        "Bundle discovery: {} pods in 10 namespaces ({:.0} MB of pod JSON with managedFields, {:.0} MB gzipped), `imagefacts list --bundle X.tar.gz -o json`: median {:.2} s over {} runs (all: {}), peak RSS {rss} MiB.",
        o.bundle_pods,
        json_bytes as f64 / 1e6,
        gz as f64 / 1e6,
        median(walls.clone()).as_secs_f64(),
        walls.len(),
        walls
            .iter()
            .map(|w| format!("{:.2} s", w.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

fn main() -> anyhow::Result<()> {
    let o = parse_options()?;
    let work = tempfile::tempdir()?;
    let registry = Registry::start(RegistryKind::Plain)?;
    if o.only_bundle {
        println!("{}", bundle_bench(&o, &registry, work.path())?);
        return Ok(());
    }
    let host = registry.host();
    let layout = OciLayout::create(&work.path().join("layout"))?;
    layout.add_image("small", &ImageSpec::simple("amd64"))?;
    eprintln!(
        "bench: seeding one image under {} repositories ...",
        o.images
    );
    let mut refs = Vec::new();
    for i in 0..o.images {
        registry.seed(&layout, "small", &format!("bench/app{i:04}:1.0"))?;
        refs.push(format!("{host}/bench/app{i:04}:1.0"));
    }
    let refs_file = work.path().join("refs.txt");
    std::fs::write(&refs_file, refs.join("\n") + "\n")?;
    let manifests = work.path().join("workloads.yaml");
    write_manifests(&manifests, &refs)?;
    let bin = o.imagefacts.display();
    let imagefacts = |cache: &Path| {
        format!(
            "{bin} collect --progress none --insecure-registry {host} --cache-dir {} --manifests {} {}",
            cache.display(),
            manifests.display(),
            o.extra
        )
    };
    let skopeo_loop = format!(
        "while read r; do skopeo inspect --config --tls-verify=false docker://$r > /dev/null || exit 1; done < {}",
        refs_file.display()
    );

    eprintln!("bench: skopeo loop x{} ...", o.skopeo_runs);
    let mut skopeo = Vec::new();
    for _ in 0..o.skopeo_runs {
        skopeo.push(measure(&registry, &skopeo_loop)?);
    }
    eprintln!("bench: imagefacts cold x{} ...", o.runs);
    let mut cold = Vec::new();
    for i in 0..o.runs {
        let cache = work.path().join(format!("cold-{i}"));
        cold.push(measure(&registry, &imagefacts(&cache))?);
    }
    eprintln!("bench: imagefacts warm x{} ...", o.runs);
    let warm_cache = work.path().join("warm");
    measure(&registry, &imagefacts(&warm_cache))?;
    let mut warm = Vec::new();
    for _ in 0..o.runs {
        warm.push(measure(&registry, &imagefacts(&warm_cache))?);
    }

    eprintln!(
        "bench: memory, {} repos x {} tags ...",
        o.memory_repos, o.memory_tags
    );
    let mut many = Vec::new();
    for r in 0..o.memory_repos {
        let mut spec = ImageSpec::simple("amd64");
        spec.labels.insert("bench.repo".into(), r.to_string());
        let tag = format!("repo{r}");
        layout.add_image(&tag, &spec)?;
        for t in 0..o.memory_tags {
            registry.seed(&layout, &tag, &format!("mem/repo{r:03}:t{t:02}"))?;
            many.push(format!("{host}/mem/repo{r:03}:t{t:02}"));
        }
    }
    write_manifests(&manifests, &many)?;
    let memory = measure(&registry, &imagefacts(&work.path().join("mem-cache")))?;

    let walls = |s: &[Sample]| s.iter().map(|x| x.wall).collect::<Vec<_>>();
    let (skopeo_med, cold_med, warm_med) = (
        median(walls(&skopeo)),
        median(walls(&cold)),
        median(walls(&warm)),
    );
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let max_rss = |s: &[Sample]| s.iter().map(|x| x.rss_kib).max().unwrap_or(0) / 1024;
    let machine = format!(
        "{} cores, {}, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned()))
            .unwrap_or_else(|| "unknown CPU".to_owned()),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_default(),
    );
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    println!("# imagefacts benchmark results\n");
    println!("- date: {date}");
    println!("- machine: {machine}");
    println!(
        "- registry: Debian docker-registry (distribution 2.8) on 127.0.0.1, plain HTTP; skopeo {}",
        Command::new("skopeo")
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    );
    println!(
        "- workload: one small image under {n} repository names (tag `1.0`); imagefacts gets the \
         references as {n} Deployments in one manifest file (`imagefacts collect --manifests`, \
         one process, defaults `--concurrency 16 --per-registry 6`); skopeo gets one process per \
         reference\n",
        n = o.images
    );
    println!(
        "| run | wall (median) | runs | vs skopeo loop | registry requests (one run) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| skopeo inspect --config, shell loop | {} | {} | 1× | {} | {} MiB (per process) |",
        ms(skopeo_med),
        skopeo.len(),
        fmt_requests(&skopeo[0].requests),
        max_rss(&skopeo)
    );
    println!(
        "| imagefacts, cold cache | {} | {} | {:.1}× faster | {} | {} MiB |",
        ms(cold_med),
        cold.len(),
        ratio(skopeo_med, cold_med),
        fmt_requests(&cold[0].requests),
        max_rss(&cold)
    );
    println!(
        "| imagefacts, warm cache (every reference asked again: one HEAD each) | {} | {} | {:.1}× faster | {} | {} MiB |",
        ms(warm_med),
        warm.len(),
        ratio(skopeo_med, warm_med),
        fmt_requests(&warm[0].requests),
        max_rss(&warm)
    );
    println!(
        "\nMemory: {} references ({} repositories × {} tags, {} distinct images), cold cache: \
         {}, peak RSS {} MiB, requests {}.",
        many.len(),
        o.memory_repos,
        o.memory_tags,
        o.memory_repos,
        ms(memory.wall),
        memory.rss_kib / 1024,
        fmt_requests(&memory.requests)
    );
    println!("\n{}", bundle_bench(&o, &registry, work.path())?);
    println!(
        "\nAll cold runs (wall/CPU): {}. All warm runs: {}. Skopeo loop CPU: {}.",
        cold.iter()
            .map(|s| format!("{}/{}", ms(s.wall), ms(s.cpu)))
            .collect::<Vec<_>>()
            .join(", "),
        warm.iter()
            .map(|s| format!("{}/{}", ms(s.wall), ms(s.cpu)))
            .collect::<Vec<_>>()
            .join(", "),
        ms(skopeo[0].cpu)
    );
    Ok(())
}
