//! The benchmark behind `scripts/bench`: imagefacts on one local registry against a shell loop of
//! `skopeo inspect --config` and against a `curl --parallel` floor, in the same run. Every case
//! counts the registry's requests from its access log. Prints a Markdown report.
//!
//! Cases (all by default; `--case NAME`, repeatable, runs only those):
//! - `shared`: one image under 500 repository names, cold and warm cache, vs the skopeo loop;
//! - `distinct`: 500 distinct single-platform images, cold, vs curl fetching exactly their manifests
//!   and configs;
//! - `tags`: 100 repositories × 50 tags (5,000 references, 100 images), cold and warm;
//! - `memory`: peak RSS at 200 repositories × 100 tags (20,000 references), cold;
//! - `bundle`: discovery from a 50,000-pod support bundle;
//! - `html`: the `report --html` page of 5,000 images, written and then opened in headless
//!   Chromium (time to interactive, and the time a filter, a sort and an expansion take).
//!
//! Usage: `imagefacts-bench --imagefacts PATH [--case NAME]... [--images 500] [--runs 5]
//! [--skopeo-runs 3] [--tags-repos 100 --tags-tags 50 --tags-runs 3] [--memory-repos 200
//! --memory-tags 100 --memory-runs 2] [--bundle-pods 50000] [--extra "FLAGS"]`

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use imagefacts_testkit::{AccessLogEntry, ImageSpec, OciLayout, Registry, RegistryKind};

/// The benchmark cases, in report order.
const CASES: [&str; 6] = ["shared", "distinct", "tags", "memory", "bundle", "html"];

/// The `Accept` header the curl floor sends for manifests.
/// The `Accept` list imagefacts sends for a manifest (`imagefacts_model::media_type::
/// MANIFEST_ACCEPT`): the floor makes the same requests, indexes and manifest lists accepted as a
/// correct client must.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Transfers in flight for the curl floor (imagefacts' default `--concurrency`).
const CURL_PARALLEL: usize = 16;

struct Options {
    imagefacts: PathBuf,
    cases: Vec<String>,
    images: usize,
    runs: usize,
    skopeo_runs: usize,
    tags_repos: usize,
    tags_tags: usize,
    tags_runs: usize,
    memory_repos: usize,
    memory_tags: usize,
    memory_runs: usize,
    bundle_pods: usize,
    extra: String,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut o = Options {
        imagefacts: PathBuf::new(),
        cases: Vec::new(),
        images: 500,
        runs: 5,
        skopeo_runs: 3,
        tags_repos: 100,
        tags_tags: 50,
        tags_runs: 3,
        memory_repos: 200,
        memory_tags: 100,
        memory_runs: 2,
        bundle_pods: 50_000,
        extra: String::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--imagefacts" => o.imagefacts = PathBuf::from(value()?),
            "--case" => o.cases.push(value()?),
            "--only-bundle" => o.cases.push("bundle".to_owned()),
            "--images" => o.images = value()?.parse()?,
            "--runs" => o.runs = value()?.parse()?,
            "--skopeo-runs" => o.skopeo_runs = value()?.parse()?,
            "--tags-repos" => o.tags_repos = value()?.parse()?,
            "--tags-tags" => o.tags_tags = value()?.parse()?,
            "--tags-runs" => o.tags_runs = value()?.parse()?,
            "--memory-repos" => o.memory_repos = value()?.parse()?,
            "--memory-tags" => o.memory_tags = value()?.parse()?,
            "--memory-runs" => o.memory_runs = value()?.parse()?,
            "--bundle-pods" => o.bundle_pods = value()?.parse()?,
            "--extra" => o.extra = value()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if o.imagefacts.as_os_str().is_empty() {
        bail!("--imagefacts PATH is required");
    }
    if let Some(bad) = o.cases.iter().find(|c| !CASES.contains(&c.as_str())) {
        bail!("unknown case {bad:?} (cases: {})", CASES.join(", "));
    }
    if o.cases.is_empty() {
        o.cases = CASES.iter().map(|c| (*c).to_owned()).collect();
    }
    let counts = [o.images, o.runs, o.skopeo_runs, o.tags_runs, o.memory_runs];
    if counts.contains(&0) || o.tags_repos * o.tags_tags == 0 || o.memory_repos * o.memory_tags == 0
    {
        bail!("image, tag and run counts must be at least 1");
    }
    Ok(o)
}

/// One measured command: wall time, CPU time, peak RSS (KiB), and the registry requests it made.
struct Sample {
    wall: Duration,
    /// User + system CPU time of the measured process tree.
    cpu: Duration,
    rss_kib: u64,
    /// User + system CPU time the registry process spent meanwhile.
    registry_cpu: Duration,
    /// Bytes the command wrote to stdout (facts.json, for imagefacts).
    stdout_bytes: u64,
    requests: BTreeMap<&'static str, usize>,
}

fn classify(e: &AccessLogEntry) -> &'static str {
    match (e.method.as_str(), e.path.as_str()) {
        _ if e.status >= 400 => "failed (status ≥ 400)",
        (_, "/v2/") => "ping",
        ("HEAD", p) if p.contains("/manifests/") => "manifest HEAD",
        ("GET", p) if p.contains("/manifests/") => "manifest GET",
        ("GET", p) if p.contains("/blobs/") => "blob GET",
        _ => "other",
    }
}

/// User + system CPU time of the registry process so far (Linux `/proc`, 100 ticks a second).
fn registry_cpu(registry: &Registry) -> Duration {
    let stat = std::fs::read_to_string(registry.dir().join("registry.pid"))
        .ok()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).ok())
        .unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Runs `sh -c script` under `/usr/bin/time` and counts the registry's access log.
fn measure(registry: &Registry, script: &str) -> anyhow::Result<Sample> {
    registry.clear_access_log();
    let registry_before = registry_cpu(registry);
    let rss_file = tempfile::NamedTempFile::new()?;
    let started = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M", "-o"])
        .arg(rss_file.path())
        .args(["sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .context("running /usr/bin/time (Debian package `time`)")?;
    let mut stdout = child.stdout.take().context("child stdout")?;
    let counter = std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let status = child.wait()?;
    let wall = started.elapsed();
    let stdout_bytes = counter
        .join()
        .map_err(|_| anyhow::anyhow!("stdout counter panicked"))??;
    let registry_cpu = registry_cpu(registry).saturating_sub(registry_before);
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
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let mut requests = BTreeMap::new();
    for e in registry.access_log() {
        *requests.entry(classify(&e)).or_insert(0) += 1;
    }
    Ok(Sample {
        wall,
        cpu: Duration::from_secs_f64(field(0) + field(1)),
        rss_kib: fields.get(2).and_then(|f| f.parse().ok()).unwrap_or(0),
        registry_cpu,
        stdout_bytes,
        requests,
    })
}

/// The samples of one measured command, repeated.
#[derive(Default)]
struct Series(Vec<Sample>);

impl Series {
    /// The median of one measure over the runs.
    fn med(&self, f: fn(&Sample) -> Duration) -> Duration {
        let mut v: Vec<Duration> = self.0.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    }

    fn median(&self) -> Duration {
        self.med(|s| s.wall)
    }

    fn rss_mib(&self) -> u64 {
        self.0.iter().map(|s| s.rss_kib).max().unwrap_or(0) / 1024
    }

    /// Requests of the first run.
    fn total(&self) -> usize {
        self.0[0].requests.values().sum()
    }

    /// Requests of one kind in the first run.
    fn count(&self, kind: &str) -> usize {
        self.0[0].requests.get(kind).copied().unwrap_or(0)
    }

    /// The first run's requests by kind, and whether every run made the same ones.
    fn requests(&self) -> String {
        let first = &self.0[0].requests;
        if first.is_empty() {
            return "0".to_owned();
        }
        let parts: Vec<String> = first.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let same = if self.0.len() == 1 {
            String::new()
        } else if self.0.iter().all(|s| &s.requests == first) {
            format!("; same in all {} runs", self.0.len())
        } else {
            let totals: Vec<String> = self
                .0
                .iter()
                .map(|s| s.requests.values().sum::<usize>().to_string())
                .collect();
            format!("; totals differ by run: {}", totals.join(", "))
        };
        format!("{} ({}{same})", self.total(), parts.join(", "))
    }

    /// Every run as `wall/CPU/registry CPU`.
    fn raw(&self) -> String {
        let runs: Vec<String> = self
            .0
            .iter()
            .map(|s| format!("{}/{}/{}", ms(s.wall), ms(s.cpu), ms(s.registry_cpu)))
            .collect();
        runs.join(", ")
    }

    /// Median CPU time of the command and of the registry, as `client / registry`.
    fn cpu(&self) -> String {
        format!(
            "{} / {}",
            ms(self.med(|s| s.cpu)),
            ms(self.med(|s| s.registry_cpu))
        )
    }
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// One goal of issue 10 and what this run measured against it.
struct Goal {
    what: String,
    measured: String,
    met: bool,
}

/// One Deployment per reference, as multi-document YAML for `imagefacts collect --manifests`.
fn write_manifests(path: &Path, refs: &[String]) -> anyhow::Result<()> {
    let mut yaml = String::new();
    for (i, r) in refs.iter().enumerate() {
        write!(
            yaml,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: bench}}\nspec:\n  template:\n    spec:\n      containers: [{{name: app, image: \"{r}\"}}]\n"
        )?;
    }
    std::fs::write(path, yaml)?;
    Ok(())
}

/// A curl config file (`-K`) fetching every URL to /dev/null.
fn write_curl_config(path: &Path, urls: &[String]) -> anyhow::Result<()> {
    let mut cfg = String::new();
    for u in urls {
        writeln!(cfg, "url = \"{u}\"\noutput = \"/dev/null\"")?;
    }
    std::fs::write(path, cfg)?;
    Ok(())
}

/// The registry, a work directory, the report so far.
struct Bench {
    o: Options,
    registry: Registry,
    work: tempfile::TempDir,
    caches: usize,
    sections: Vec<String>,
    goals: Vec<Goal>,
    raw: Vec<String>,
}

impl Bench {
    /// A fresh, empty cache directory.
    fn fresh_cache(&mut self) -> PathBuf {
        self.caches += 1;
        self.work.path().join(format!("cache-{}", self.caches))
    }

    /// `imagefacts collect --manifests FILE` with cache `cache` and `flags`.
    fn collect(&self, manifests: &Path, cache: &Path, flags: &str) -> String {
        self.imagefacts(
            &format!("collect --manifests {}", manifests.display()),
            cache,
            flags,
        )
    }

    fn imagefacts(&self, input: &str, cache: &Path, flags: &str) -> String {
        format!(
            "{} {input} --progress none --insecure-registry {} --cache-dir {} {flags} {}",
            self.o.imagefacts.display(),
            self.registry.host(),
            cache.display(),
            self.o.extra
        )
    }

    fn measure(&self, script: &str) -> anyhow::Result<Sample> {
        measure(&self.registry, script)
    }

    fn goal(&mut self, what: impl Into<String>, measured: impl Into<String>, met: bool) {
        let (what, measured) = (what.into(), measured.into());
        self.goals.push(Goal {
            what,
            measured,
            met,
        });
    }

    fn layout(&self, name: &str) -> anyhow::Result<OciLayout> {
        OciLayout::create(&self.work.path().join(format!("layout-{name}")))
    }

    /// Case `shared`: one image under `--images` repository names, cold and warm, vs skopeo.
    fn shared(&mut self) -> anyhow::Result<()> {
        let n = self.o.images;
        let host = self.registry.host();
        let layout = self.layout("shared")?;
        layout.add_image("small", &ImageSpec::simple("amd64"))?;
        eprintln!("bench: shared: seeding one image under {n} repositories ...");
        let mut refs = Vec::new();
        for i in 0..n {
            self.registry
                .seed(&layout, "small", &format!("bench/app{i:04}:1.0"))?;
            refs.push(format!("{host}/bench/app{i:04}:1.0"));
        }
        let refs_file = self.work.path().join("shared-refs.txt");
        std::fs::write(&refs_file, refs.join("\n") + "\n")?;
        let manifests = self.work.path().join("shared.yaml");
        write_manifests(&manifests, &refs)?;
        let skopeo_loop = format!(
            "while read r; do skopeo inspect --config --tls-verify=false docker://$r > /dev/null || exit 1; done < {}",
            refs_file.display()
        );
        eprintln!("bench: shared: skopeo loop x{} ...", self.o.skopeo_runs);
        let mut skopeo = Series::default();
        for _ in 0..self.o.skopeo_runs {
            skopeo.0.push(self.measure(&skopeo_loop)?);
        }
        eprintln!(
            "bench: shared: imagefacts cold x{}, warm x{} ...",
            self.o.runs, self.o.runs
        );
        let (mut cold, mut warm) = (Series::default(), Series::default());
        let mut last_cache = PathBuf::new();
        for _ in 0..self.o.runs {
            last_cache = self.fresh_cache();
            cold.0
                .push(self.measure(&self.collect(&manifests, &last_cache, ""))?);
        }
        for _ in 0..self.o.runs {
            warm.0
                .push(self.measure(&self.collect(&manifests, &last_cache, ""))?);
        }

        let s = skopeo.median();
        let mut out = format!(
            "## 1. One image under {n} repository names: imagefacts vs a skopeo loop\n\n\
             imagefacts gets the references as {n} Deployments in one manifest file (`imagefacts \
             collect --manifests`, one process, defaults `--concurrency 16 --per-registry 16`); \
             skopeo gets one process per reference (`skopeo inspect --config`, a shell loop).\n\n\
             | run | wall (median) | runs | vs skopeo loop | registry requests | peak RSS |\n\
             |---|---|---|---|---|---|\n"
        );
        writeln!(
            out,
            "| skopeo inspect --config, shell loop | {} | {} | 1× | {} | {} MiB (per process) |",
            ms(s),
            skopeo.0.len(),
            skopeo.requests(),
            skopeo.rss_mib()
        )?;
        for (name, series) in [
            ("imagefacts, cold cache (fresh cache dir per run)", &cold),
            (
                "imagefacts, warm cache (every reference asked again)",
                &warm,
            ),
        ] {
            writeln!(
                out,
                "| {name} | {} | {} | {:.1}× faster | {} | {} MiB |",
                ms(series.median()),
                series.0.len(),
                ratio(s, series.median()),
                series.requests(),
                series.rss_mib()
            )?;
        }
        self.sections.push(out);
        self.raw.push(format!(
            "Case 1 cold: {}. Warm: {}. Skopeo loop: {}.",
            cold.raw(),
            warm.raw(),
            skopeo.raw()
        ));
        let manifest_requests = cold.count("manifest GET") + cold.count("manifest HEAD");
        self.goal(
            format!(
                "1. shared image, cold: ≤ 1 manifest request per reference ({n}) + 1 config GET"
            ),
            format!(
                "{manifest_requests} manifest, {} blob GET",
                cold.count("blob GET")
            ),
            manifest_requests <= n && cold.count("blob GET") <= 1,
        );
        self.warm_goal("1. shared image, warm", &warm, n);
        Ok(())
    }

    fn warm_goal(&mut self, what: &str, warm: &Series, refs: usize) {
        let gets = warm.count("manifest GET") + warm.count("blob GET");
        self.goal(
            format!("{what}: 1 HEAD per reference ({refs}), 0 GET"),
            format!(
                "{} HEAD, {gets} GET, {} requests in all",
                warm.count("manifest HEAD"),
                warm.total()
            ),
            warm.count("manifest HEAD") == refs && warm.total() == refs,
        );
    }

    /// Case `distinct`: `--images` distinct images, one repository each, cold, vs the curl floor.
    fn distinct(&mut self) -> anyhow::Result<()> {
        let n = self.o.images;
        let (host, work) = (self.registry.host(), self.work.path().to_owned());
        let layout = self.layout("distinct")?;
        eprintln!("bench: distinct: building and seeding {n} distinct images ...");
        let (mut refs, mut manifest_urls, mut config_urls) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let mut spec = ImageSpec::simple("amd64");
            spec.labels.insert("bench.image".into(), i.to_string());
            let tag = format!("img{i}");
            let digest = layout.add_image(&tag, &spec)?;
            let config = layout.read_json(&digest)?["config"]["digest"]
                .as_str()
                .context("image without config digest")?
                .to_owned();
            let repo = format!("distinct/app{i:04}");
            self.registry.seed_tags(&layout, &tag, &repo, &["1.0"])?;
            refs.push(format!("{host}/{repo}:1.0"));
            manifest_urls.push(format!("http://{host}/v2/{repo}/manifests/1.0"));
            config_urls.push(format!("http://{host}/v2/{repo}/blobs/{config}"));
        }
        let refs_file = work.join("distinct-refs.txt");
        std::fs::write(&refs_file, refs.join("\n") + "\n")?;
        let (manifests_cfg, configs_cfg, both_cfg) = (
            work.join("curl-manifests"),
            work.join("curl-configs"),
            work.join("curl-both"),
        );
        write_curl_config(&manifests_cfg, &manifest_urls)?;
        write_curl_config(&configs_cfg, &config_urls)?;
        write_curl_config(&both_cfg, &[manifest_urls, config_urls].concat())?;
        let curl = |cfg: &Path| {
            format!(
                "curl --parallel --parallel-max {CURL_PARALLEL} --silent --show-error --no-progress-meter --fail \
                 -H 'Accept: {ACCEPT}' -K {}",
                cfg.display()
            )
        };
        let one = curl(&both_cfg);
        let two = format!("{} && {}", curl(&manifests_cfg), curl(&configs_cfg));
        let inspect = format!("inspect -f {}", refs_file.display());

        eprintln!(
            "bench: distinct: curl and imagefacts, interleaved, x{} ...",
            self.o.runs
        );
        // The default before it was raised to 16, fewer in flight than curl: shown beside it.
        let per6 = "--per-registry 6";
        let mut series: [Series; 5] = Default::default();
        for _ in 0..self.o.runs {
            series[0].0.push(self.measure(&one)?);
            series[1].0.push(self.measure(&two)?);
            for (i, flags) in ["", per6, "--no-cache"].into_iter().enumerate() {
                let cache = self.fresh_cache();
                let script = self.imagefacts(&inspect, &cache, flags);
                series[2 + i].0.push(self.measure(&script)?);
            }
        }
        let names = [
            "curl, one invocation: manifests then configs in one list (**the floor**)",
            "curl, two invocations: manifests, then configs (times summed)",
            "imagefacts, cold cache (defaults: `--concurrency 16 --per-registry 16`, 16 in flight as curl)",
            "imagefacts, cold cache, `--per-registry 6` (diagnostic: 6 in flight, the default before)",
            "imagefacts, `--no-cache` (diagnostic: defaults, no cache files written)",
        ];
        let floor = series[0].median();
        let mut out = format!(
            "## 2. {n} distinct single-platform images, cold: imagefacts vs a curl floor\n\n\
             One repository per image (`distinct/appNNNN:1.0`), each with its own config (a label \
             differs), so {n} manifests and {n} configs. imagefacts: `imagefacts inspect -f refs.txt` \
             with a fresh `--cache-dir` per run. The floor: `curl --parallel --parallel-max \
             {CURL_PARALLEL}` fetching exactly the {n} manifests (by tag, `Accept: {ACCEPT}`) and \
             the {n} config blobs (digests known to the benchmark, which built the images) to \
             /dev/null, in one invocation: the same requests at the same concurrency with no wait \
             for a manifest before its config, so no client can beat it; the two-invocation \
             variant (all manifests, then all configs) is shown beside it. The five commands run \
             interleaved, {} rounds.\n\n\
             | run | wall (median) | runs | vs curl floor | registry requests | requests per image | CPU: client / registry (medians) | peak RSS |\n\
             |---|---|---|---|---|---|---|---|\n",
            self.o.runs
        );
        for (name, s) in names.iter().zip(&series) {
            writeln!(
                out,
                "| {name} | {} | {} | {:.2}× | {} | {:.2} | {} | {} MiB |",
                ms(s.median()),
                s.0.len(),
                ratio(s.median(), floor),
                s.requests(),
                s.total() as f64 / n as f64,
                s.cpu(),
                s.rss_mib()
            )?;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        write!(
            out,
            "\nReading it: during the floor the registry itself burns {} CPU in {} wall ({:.1} of \
             {cores} cores), so the machine is CPU-bound and every millisecond of client CPU is taken \
             from the registry. Median client CPU: curl {}, imagefacts {} with its cache (it keeps \
             each manifest and config and writes them as one pack at the end), {} with \
             `--no-cache`.\n",
            ms(series[0].med(|s| s.registry_cpu)),
            ms(floor),
            series[0].med(|s| s.registry_cpu).as_secs_f64() / floor.as_secs_f64(),
            ms(series[0].med(|s| s.cpu)),
            ms(series[2].med(|s| s.cpu)),
            ms(series[4].med(|s| s.cpu)),
        )?;
        self.sections.push(out);
        let raw: Vec<String> = names
            .iter()
            .zip(&series)
            .map(|(name, s)| format!("{}: {}", name.split(" (").next().unwrap_or(name), s.raw()))
            .collect();
        self.raw.push(format!("Case 2: {}.", raw.join("; ")));
        let per_image = series[2].total() as f64 / n as f64;
        self.goal(
            "2. distinct images, cold: ≤ 2.0 requests per image",
            format!("{per_image:.2}"),
            per_image <= 2.0,
        );
        let r = ratio(series[2].median(), floor);
        self.goal(
            "2. distinct images, cold, defaults: ≤ 1.0× the curl floor",
            format!("{r:.2}× ({} vs {})", ms(series[2].median()), ms(floor)),
            r <= 1.0,
        );
        Ok(())
    }

    /// Seeds `repos` repositories × `tags` tags under `prefix`, one image per repository; writes the
    /// references as Deployments. Returns the manifest file and the reference count.
    fn seed_many(
        &self,
        prefix: &str,
        repos: usize,
        tags: usize,
    ) -> anyhow::Result<(PathBuf, usize)> {
        let host = self.registry.host();
        let layout = self.layout(prefix)?;
        let tag_names: Vec<String> = (0..tags).map(|t| format!("t{t:03}")).collect();
        let tag_refs: Vec<&str> = tag_names.iter().map(String::as_str).collect();
        let mut refs = Vec::new();
        for r in 0..repos {
            let mut spec = ImageSpec::simple("amd64");
            spec.labels
                .insert("bench.repo".into(), format!("{prefix}{r}"));
            let tag = format!("repo{r}");
            layout.add_image(&tag, &spec)?;
            let repo = format!("{prefix}/repo{r:03}");
            self.registry.seed_tags(&layout, &tag, &repo, &tag_refs)?;
            refs.extend(tag_names.iter().map(|t| format!("{host}/{repo}:{t}")));
        }
        let manifests = self.work.path().join(format!("{prefix}.yaml"));
        write_manifests(&manifests, &refs)?;
        Ok((manifests, refs.len()))
    }

    /// Case `tags`: many tags per repository, cold and warm.
    fn tags(&mut self) -> anyhow::Result<()> {
        let (repos, tags, runs) = (self.o.tags_repos, self.o.tags_tags, self.o.tags_runs);
        eprintln!("bench: tags: seeding {repos} repositories x {tags} tags ...");
        let (manifests, n) = self.seed_many("tags", repos, tags)?;
        eprintln!("bench: tags: imagefacts cold x{runs}, warm x{runs} ...");
        let (mut cold, mut warm) = (Series::default(), Series::default());
        let mut last_cache = PathBuf::new();
        for _ in 0..runs {
            last_cache = self.fresh_cache();
            cold.0
                .push(self.measure(&self.collect(&manifests, &last_cache, ""))?);
        }
        for _ in 0..runs {
            warm.0
                .push(self.measure(&self.collect(&manifests, &last_cache, ""))?);
        }
        let mut out = format!(
            "## 3. {repos} repositories × {tags} tags: {n} references, {repos} distinct images\n\n\
             Each repository's tags point at one image of its own. `imagefacts collect --manifests` \
             ({n} Deployments), defaults.\n\n\
             | run | wall (median) | runs | registry requests | requests per reference | peak RSS |\n\
             |---|---|---|---|---|---|\n"
        );
        for (name, s) in [("cold cache (fresh per run)", &cold), ("warm cache", &warm)] {
            writeln!(
                out,
                "| imagefacts, {name} | {} | {} | {} | {:.3} | {} MiB |",
                ms(s.median()),
                s.0.len(),
                s.requests(),
                s.total() as f64 / n as f64,
                s.rss_mib()
            )?;
        }
        self.sections.push(out);
        self.raw.push(format!(
            "Case 3 cold: {}. Warm: {}.",
            cold.raw(),
            warm.raw()
        ));
        let per_ref = cold.total() as f64 / n as f64;
        self.goal(
            format!("3. {n} references, cold: ≤ 1.05 requests per reference"),
            format!(
                "{per_ref:.3} ({} requests, {})",
                cold.total(),
                ms(cold.median())
            ),
            per_ref <= 1.05,
        );
        self.warm_goal(&format!("3. {n} references, warm"), &warm, n);
        Ok(())
    }

    /// Case `memory`: peak RSS with many references, cold.
    fn memory(&mut self) -> anyhow::Result<()> {
        let (repos, tags, runs) = (self.o.memory_repos, self.o.memory_tags, self.o.memory_runs);
        eprintln!("bench: memory: seeding {repos} repositories x {tags} tags ...");
        let (manifests, n) = self.seed_many("mem", repos, tags)?;
        eprintln!("bench: memory: imagefacts cold x{runs} ...");
        let mut cold = Series::default();
        for _ in 0..runs {
            let cache = self.fresh_cache();
            cold.0
                .push(self.measure(&self.collect(&manifests, &cache, ""))?);
            std::fs::remove_dir_all(&cache).ok();
        }
        eprintln!("bench: memory: discovery alone ...");
        let list = format!(
            "{} list --manifests {} -o json",
            self.o.imagefacts.display(),
            manifests.display()
        );
        let discovery = Series(vec![self.measure(&list)?]);
        let mut out = format!(
            "## 4. Memory: {n} references ({repos} repositories × {tags} tags, {repos} distinct \
             images), cold\n\n\
             `imagefacts collect --manifests` ({n} Deployments, {:.1} MB of YAML), defaults, fresh \
             cache per run; beside it, as a diagnostic, discovery alone on the same file.\n\n\
             | run | wall (median) | runs | registry requests | requests per reference | peak RSS | stdout |\n\
             |---|---|---|---|---|---|---|\n",
            std::fs::metadata(&manifests)?.len() as f64 / 1e6,
        );
        for (name, s) in [
            ("imagefacts collect, cold cache", &cold),
            (
                "discovery alone: `imagefacts list -o json` (no registry)",
                &discovery,
            ),
        ] {
            writeln!(
                out,
                "| {name} | {} | {} | {} | {:.3} | **{} MiB** ({:.1} KiB per reference) | {:.1} MB |",
                ms(s.median()),
                s.0.len(),
                s.requests(),
                s.total() as f64 / n as f64,
                s.rss_mib(),
                s.0.iter().map(|x| x.rss_kib).max().unwrap_or(0) as f64 / n as f64,
                s.0[0].stdout_bytes as f64 / 1e6
            )?;
        }
        self.sections.push(out);
        self.raw.push(format!(
            "Case 4: {}. Discovery alone: {}.",
            cold.raw(),
            discovery.raw()
        ));
        self.goal(
            format!("4. {n} references, cold: peak RSS ≤ 100 MiB"),
            format!("{} MiB", cold.rss_mib()),
            cold.rss_mib() <= 100,
        );
        Ok(())
    }

    /// Case `bundle`: discovery from a large support bundle (wall time, peak RSS).
    fn bundle(&mut self) -> anyhow::Result<()> {
        let pods = self.o.bundle_pods;
        eprintln!("bench: bundle: writing a bundle of {pods} pods ...");
        let (bundle, json_bytes) =
            imagefacts_testkit::write_big_bundle(self.work.path(), pods, 10, "registry.example")?;
        let gz = std::fs::metadata(&bundle)?.len();
        let script = format!(
            "{} list --bundle {} -o json",
            self.o.imagefacts.display(),
            bundle.display()
        );
        let mut runs = Series::default();
        for _ in 0..3 {
            runs.0.push(self.measure(&script)?);
        }
        self.sections.push(format!(
            "## 5. Bundle discovery\n\n{pods} pods in 10 namespaces ({:.0} MB of pod JSON with \
             managedFields, {:.0} MB gzipped), `imagefacts list --bundle X.tar.gz -o json`: median \
             {:.2} s over {} runs, peak RSS {} MiB.",
            json_bytes as f64 / 1e6,
            gz as f64 / 1e6,
            runs.median().as_secs_f64(),
            runs.0.len(),
            runs.rss_mib()
        ));
        self.raw.push(format!("Case 5: {}.", runs.raw()));
        Ok(())
    }

    /// The page of 5,000 images: written, then opened from file:// in headless Chromium, 5 times.
    fn html(&mut self) -> anyhow::Result<()> {
        const IMAGES: usize = 5000;
        const RUNS: usize = 5;
        eprintln!("bench: html: the page of {IMAGES} images ...");
        let facts = self.work.path().join("html-facts.json");
        std::fs::write(&facts, imagefacts_testkit::bulk_facts(IMAGES).to_string())?;
        let facts_bytes = std::fs::metadata(&facts)?.len();
        let page = self.work.path().join("report.html");
        let script = format!(
            "{} report --html -o {} {} --now 2026-12-01T12:00:00Z",
            self.o.imagefacts.display(),
            page.display(),
            facts.display()
        );
        let mut writes = Series::default();
        for _ in 0..3 {
            writes.0.push(self.measure(&script)?);
        }
        let page_bytes = std::fs::metadata(&page)?.len();
        let url = imagefacts_testkit::Browser::file_url(&page)?;
        // Each run: a fresh browser (no warm V8 caches), then the page; times are the page's own
        // (performance.now() from navigation start), plus the driver's view of the load.
        let probe = "var input = document.getElementById('filter');\
            var t0 = performance.now();\
            input.value = 'app-04999'; input.dispatchEvent(new Event('input'));\
            var filtered = performance.now() - t0;\
            var rows = document.querySelectorAll('#rows tr.image-row').length;\
            input.value = ''; input.dispatchEvent(new Event('input'));\
            var t1 = performance.now();\
            document.querySelector('th[data-key=size] button').click();\
            var sorted = performance.now() - t1;\
            var t2 = performance.now();\
            document.querySelector('#rows tr.image-row').click();\
            var expanded = performance.now() - t2;\
            var ready = performance.getEntriesByName('imagefacts-ready')[0].startTime;\
            return [ready, filtered, sorted, expanded, rows];";
        let mut samples: Vec<[f64; 5]> = Vec::new();
        for _ in 0..RUNS {
            let browser = imagefacts_testkit::Browser::start(1400, 1000)?;
            let started = Instant::now();
            browser.goto(&url)?;
            while browser.execute(
                "return document.documentElement.dataset.ready || null;",
                vec![],
            )? != serde_json::json!("1")
            {
                if started.elapsed() > Duration::from_secs(60) {
                    bail!("the page did not render in 60 s");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let driver_ms = started.elapsed().as_secs_f64() * 1000.0;
            let v: Vec<f64> = serde_json::from_value(browser.execute(probe, vec![])?)?;
            if v.get(4) != Some(&1.0) {
                bail!("the filter showed {:?} rows, not 1", v.get(4));
            }
            samples.push([v[0], driver_ms, v[1], v[2], v[3]]);
        }
        let median = |i: usize| {
            let mut xs: Vec<f64> = samples.iter().map(|s| s[i]).collect();
            xs.sort_by(|a, b| a.total_cmp(b));
            xs[xs.len() / 2]
        };
        let (ready, driver, filter, sort, expand) =
            (median(0), median(1), median(2), median(3), median(4));
        self.goals.push(Goal {
            what: format!(
                "16. {IMAGES} images: the page interactive within 2 s (headless Chromium, median)"
            ),
            measured: format!(
                "{ready:.0} ms (rendered, handlers on); {driver:.0} ms as the driver saw it"
            ),
            met: ready <= 2000.0 && driver <= 2000.0,
        });
        self.goals.push(Goal {
            what: format!("16. {IMAGES} images: the page ≤ 5 MB"),
            measured: format!("{:.2} MB", page_bytes as f64 / 1e6),
            met: page_bytes <= 5 * 1024 * 1024,
        });
        self.sections.push(format!(
            "## 6. The HTML report of {IMAGES} images

`imagefacts report --html` over a facts.json \
             of {IMAGES} images ({:.1} MB; `imagefacts_testkit::bulk_facts`: 8 layers each, 3 of \
             them shared with one of 20 base images, 6 labels, 1 to 3 workloads, a quarter \
             multi-platform, 4 % failed): written in {:.2} s (median of {}, peak RSS {} MiB), \
             {:.2} MB (the data is gzipped JSON in base64). Opened from file:// in headless \
             Chromium ({}), a fresh browser per run, {RUNS} runs:\n\n\
             | measure (median) | ms |\n|---|---|\n\
             | navigation start → first page of rows rendered, handlers on (`performance.mark`) | {ready:.0} |\n\
             | the driver's navigate command → the page says it is ready | {driver:.0} |\n\
             | a filter keystroke over {IMAGES} rows (`app-04999`, 1 match) → rendered | {filter:.1} |\n\
             | sort by size → first page rendered | {sort:.1} |\n\
             | expand a row (layers, config, labels) | {expand:.1} |",
            facts_bytes as f64 / 1e6,
            writes.median().as_secs_f64(),
            writes.0.len(),
            writes.rss_mib(),
            page_bytes as f64 / 1e6,
            tool_version("chromium"),
        ));
        self.raw.push(format!(
            "Case 6: writes {}; page runs (ready, driver, filter, sort, expand ms): {}.",
            writes.raw(),
            samples
                .iter()
                .map(|s| format!(
                    "{:.0}/{:.0}/{:.1}/{:.1}/{:.1}",
                    s[0], s[1], s[2], s[3], s[4]
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(())
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| format!("Linux {}", s.trim()))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {cpu}, {kernel}")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn tool_version(tool: &str) -> String {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

fn main() -> anyhow::Result<()> {
    let o = parse_options()?;
    let started = Instant::now();
    let load_before = load_average();
    let cases = o.cases.clone();
    let mut bench = Bench {
        o,
        registry: Registry::start(RegistryKind::Plain)?,
        work: tempfile::tempdir()?,
        caches: 0,
        sections: Vec::new(),
        goals: Vec::new(),
        raw: Vec::new(),
    };
    for case in CASES.iter().filter(|c| cases.iter().any(|x| x == *c)) {
        match *case {
            "shared" => bench.shared()?,
            "distinct" => bench.distinct()?,
            "tags" => bench.tags()?,
            "memory" => bench.memory()?,
            "html" => bench.html()?,
            _ => bench.bundle()?,
        }
    }

    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    println!("# imagefacts benchmark results\n");
    println!(
        "- date: {date}; cases: {}; whole run {:.0} s",
        cases.join(", "),
        started.elapsed().as_secs_f64()
    );
    println!("- machine: {}", machine());
    println!(
        "- load average (1/5/15 min) before: {load_before}, after: {}. A shared 2-core VM is noisy: \
         the same command varies by ±20% between runs, so compare medians taken in the same run, \
         not across runs.",
        load_average()
    );
    println!(
        "- registry: Debian docker-registry (distribution 2.8) on 127.0.0.1, plain HTTP, seeded \
         straight into its storage; requests counted from its access log, per run; {}; {}",
        tool_version("skopeo"),
        tool_version("curl").split(" (").next().unwrap_or("curl")
    );
    if !bench.goals.is_empty() {
        println!("\n## Goals (issues 10 and 16)\n\n| goal | measured | met |\n|---|---|---|");
        for g in &bench.goals {
            println!(
                "| {} | {} | {} |",
                g.what,
                g.measured,
                if g.met { "yes" } else { "**no**" }
            );
        }
    }
    for s in &bench.sections {
        println!("\n{s}");
    }
    println!("\n## Every run (wall / client CPU / registry CPU)\n");
    for r in &bench.raw {
        println!("- {r}");
    }
    Ok(())
}
