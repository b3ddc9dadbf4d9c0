//! Command-line arguments, parsed by clap and then resolved into settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use imagefacts_model::Platform;

/// Tells exactly which container images a Kubernetes cluster runs and what is inside each one.
#[derive(Debug, Parser)]
#[command(name = "imagefacts", version, about, max_term_width = 100)]
pub struct Cli {
    /// Print nothing on stderr but errors: no progress, no summary line, no warnings.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Facts of the given image references, as facts.json on stdout.
    Inspect(InspectArgs),
    /// The images a cluster, a support bundle or manifest files use, without asking any registry.
    List(ListArgs),
    /// Discovery, then the facts of every image found, as facts.json.
    Collect(CollectCmdArgs),
    /// Write a support bundle in troubleshoot's layout, or add image facts to an existing one.
    Bundle(BundleArgs),
    /// Facts as a table: from a facts.json file or a support bundle holding image-facts/.
    Report(ReportArgs),
    /// Insights (why an image fails to pull, drift, platform mismatch, mutable or stale
    /// references, supply chain) from a facts.json file or a bundle, asking no registry.
    Analyze(AnalyzeArgs),
    /// Merge the facts of several clusters (facts.json files or bundles) into one facts.json:
    /// one entry per image (reference and digest) with the clusters and workloads that run it.
    Merge(MergeArgs),
    /// Print the JSON Schema (draft 2020-12) of facts.json.
    Schema,
    /// Check a facts.json file against the schema; each violation is printed with its JSON path.
    Validate {
        /// The file to check.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Print a shell completion script: `source <(imagefacts completions bash)`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a man page per command (`imagefacts.1`, `imagefacts-list.1`, ...) into DIR.
    Man {
        /// The directory (created when missing).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Arguments of `imagefacts bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// Add image-facts/ to this existing bundle (`.tar.gz`, `.tar` or directory), reading
    /// discovery from its own cluster-resources; every original entry is kept byte for byte.
    #[arg(long, value_name = "BUNDLE")]
    pub add_to: Option<PathBuf>,

    /// Replace an existing image-facts/ in the bundle (with --add-to).
    #[arg(long, requires = "add_to")]
    pub force: bool,

    /// Also collect image facts into image-facts/ of the new bundle.
    #[arg(long)]
    pub include_images: bool,

    /// New bundle: a directory to write `support-bundle-<time>.tar.gz` in, or the file name
    /// [default: .]. With --add-to: write the result here instead of replacing the bundle.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Where to discover (for a new bundle).
    #[command(flatten)]
    pub source: SourceArgs,

    /// Registry settings.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Collection settings.
    #[command(flatten)]
    pub collect: CollectArgs,

    /// How the insights of image-facts/analysis.json are judged.
    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// Write no image-facts/report.html (the page `imagefacts report --html` writes) beside
    /// facts.json.
    #[arg(long)]
    pub no_html: bool,
}

/// Output format of `imagefacts report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// An aligned table.
    Table,
    /// The rows as JSON.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// Arguments of `imagefacts merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// facts.json files, or support bundles with image-facts/facts.json; each file's cluster is
    /// the one it names (a fleet run's or an earlier merge's), else its file name without
    /// `.json`, `.tar.gz` or `-facts`.
    #[arg(value_name = "FILE|BUNDLE", required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,

    /// Write the merged facts.json to FILE instead of stdout (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `imagefacts report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A facts.json file, or a support bundle with image-facts/facts.json.
    #[arg(value_name = "FILE|BUNDLE")]
    pub input: PathBuf,

    /// More columns: namespaces, manifest and config digests, creation time, reference, error.
    #[arg(long)]
    pub wide: bool,

    /// Output format: table, json or html [default: table]; with --html, the file to write the
    /// page to (atomically) [default: stdout].
    #[arg(short = 'o', long = "output", value_name = "FORMAT|FILE")]
    pub output: Option<String>,

    /// One self-contained HTML page (inline styles and script, no request of any kind, works
    /// from file://): insights first, then every image, sortable and filterable, each with its
    /// details.
    #[arg(long)]
    pub html: bool,

    /// The time ages are computed against (RFC 3339) [default: now].
    #[arg(long, hide = true, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<time::OffsetDateTime>,

    /// How the insights printed first are judged.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
}

/// How insights are judged.
#[derive(Debug, Args)]
pub struct AnalysisArgs {
    /// An image built longer ago than this is stale.
    #[arg(long, default_value = "365d", value_name = "DURATION", value_parser = parse_duration_long)]
    pub stale_after: Duration,

    /// Namespaces (comma-separated globs) where a reference without a digest is worth an insight.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "GLOBS",
        default_value = "prod,production,prod-*,*-prod"
    )]
    pub production_namespaces: Vec<String>,
}

/// Arguments of `imagefacts analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A facts.json file, or a support bundle with image-facts/facts.json.
    #[arg(value_name = "FILE|BUNDLE")]
    pub input: PathBuf,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,

    /// Also list the checks that passed (`debug` results).
    #[arg(long)]
    pub all: bool,

    /// How insights are judged.
    #[command(flatten)]
    pub analysis: AnalysisArgs,

    /// The time ages are computed against (RFC 3339) [default: now].
    #[arg(long, hide = true, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<time::OffsetDateTime>,
}

/// `analyze -o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    /// One line per insight, worst first.
    Text,
    /// troubleshoot's analysis.json.
    Json,
}

/// Where images are discovered: a live cluster (the default), a support bundle or manifest files.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A troubleshoot support bundle: `.tar.gz`, `.tar` or an extracted directory.
    #[arg(long, value_name = "PATH", conflicts_with = "manifests")]
    pub bundle: Option<PathBuf>,

    /// Manifest files or directories (multi-document YAML, JSON, `kind: List`); `-` for stdin.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub manifests: Vec<PathBuf>,

    /// Kubeconfig file [default: $KUBECONFIG (a `:`-separated list, merged as kubectl merges
    /// it), else ~/.kube/config, else the in-cluster config].
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context; repeat it for several clusters, collected in one run (each entry and
    /// workload then names its cluster).
    #[arg(long = "context", value_name = "NAME")]
    pub contexts: Vec<String>,

    /// Every context of the kubeconfig, collected in one run.
    #[arg(long, conflicts_with_all = ["contexts", "bundle", "manifests"])]
    pub all_contexts: bool,

    /// The name of the one cluster the source shows, written on each workload and entry (a run
    /// over several contexts names each by its context).
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// Only this namespace.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Every namespace (the default when no namespace is named).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Only namespaces matching these globs (comma-separated or repeated).
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    pub include_namespaces: Vec<String>,

    /// Leave out namespaces matching these globs (comma-separated or repeated).
    #[arg(long, value_name = "GLOB", value_delimiter = ',')]
    pub exclude_namespaces: Vec<String>,

    /// Also look at system namespaces (`kube-*`).
    #[arg(long)]
    pub include_system_namespaces: bool,

    /// Objects per page when listing from the API server.
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
}

/// Output format of `imagefacts list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// An aligned table.
    Table,
    /// The discovery as JSON.
    Json,
    /// The discovery as YAML.
    Yaml,
}

/// Arguments of `imagefacts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Where to discover.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Arguments of `imagefacts collect`.
#[derive(Debug, Args)]
pub struct CollectCmdArgs {
    /// Where to discover.
    #[command(flatten)]
    pub source: SourceArgs,

    /// Write facts.json to FILE instead of stdout (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Registry settings.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Collection settings.
    #[command(flatten)]
    pub collect: CollectArgs,
}

/// Arguments of `imagefacts inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Image references (`nginx:1.25`, `ghcr.io/org/app@sha256:...`).
    #[arg(value_name = "REF", required_unless_present = "files")]
    pub references: Vec<String>,

    /// Also read references from FILE, one per line (`#` comments; `-` for stdin; repeatable).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write facts.json to FILE instead of stdout (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Registry settings.
    #[command(flatten)]
    pub registry: RegistryArgs,

    /// Collection settings.
    #[command(flatten)]
    pub collect: CollectArgs,
}

/// How registries are reached.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Credentials in docker config.json format (`auths`, `credHelpers`, `credsStore`), asked
    /// before every other source.
    #[arg(long, value_name = "PATH")]
    pub authfile: Option<PathBuf>,

    /// USER:PASS for REGISTRY (the password may hold ':'), asked before every other source
    /// (repeatable). Without `REGISTRY=`, for the one registry the images come from.
    #[arg(long = "creds", value_name = "[REGISTRY=]USER:PASS", value_parser = CredsArg::parse)]
    pub creds: Vec<CredsArg>,

    /// Read no credential file on your own (docker config.json, containers auth.json):
    /// only --authfile, --creds and the pods' pull secrets.
    #[arg(long)]
    pub no_default_credentials: bool,

    /// How long a credential helper (docker-credential-NAME) may take.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub credential_helper_timeout: Duration,

    /// Send pulls of FROM (a registry, or registry/namespace) to the mirror TO first, then to
    /// FROM itself (repeatable): `docker.io=mirror.example:5000`, `docker.io=http://127.0.0.1:5000`.
    #[arg(long = "mirror", value_name = "FROM=TO")]
    pub mirrors: Vec<String>,

    /// containerd's hosts directory (`DIR/<host>/hosts.toml`, certs.d files) [default:
    /// /etc/containerd/certs.d].
    #[arg(long, value_name = "DIR")]
    pub hosts_dir: Option<PathBuf>,

    /// containers registries.conf (v2; its `.d` drop-ins too) [default:
    /// $CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf].
    #[arg(long, value_name = "PATH")]
    pub registries_conf: Option<PathBuf>,

    /// k3s / RKE2 registries.yaml [default: /etc/rancher/k3s/registries.yaml].
    #[arg(long, value_name = "PATH")]
    pub k3s_registries: Option<PathBuf>,

    /// A directory laid out as /etc/docker/certs.d: `DIR/<host>/ca.crt`, `client.cert`,
    /// `client.key` (repeatable) [default: /etc/docker/certs.d and /etc/containers/certs.d].
    #[arg(long = "certs-dir", value_name = "DIR")]
    pub certs_dirs: Vec<PathBuf>,

    /// PEM CA bundle trusted beside the system roots (repeatable).
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// Reach HOST[:PORT] over unverified TLS, or plain HTTP when it does not speak TLS;
    /// `http://HOST[:PORT]`: over plain HTTP directly (repeatable).
    #[arg(long = "insecure-registry", value_name = "[http://]HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// Requests in flight to one registry at most (halved on HTTP 429, recovering gradually).
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub per_registry: u16,

    /// Retries of a failed request (connection errors, timeouts, 408, 429, 5xx).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub retries: u32,

    /// Per-request timeout (e.g. 30s, 2m).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// One `--creds` value. Its `Debug` never shows the password, and a malformed value is kept
/// (`valid: false`) to be refused later without quoting it, as clap would.
#[derive(Clone, PartialEq, Eq)]
pub struct CredsArg {
    /// The registry it is for, when named.
    pub registry: Option<String>,
    /// User name.
    pub username: String,
    /// Password (may contain `:`).
    pub password: String,
    /// Whether the value had the `[REGISTRY=]USER:PASS` shape.
    pub valid: bool,
}

impl std::fmt::Debug for CredsArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredsArg")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("valid", &self.valid)
            .finish()
    }
}

impl CredsArg {
    /// Parses `[REGISTRY=]USER:PASS`. `REGISTRY=` is taken as such when it is a host name with
    /// a dot, `localhost` or an IP address, optionally with a port. Never fails: clap would
    /// quote the value (a password) in its error.
    fn parse(value: &str) -> Result<CredsArg, std::convert::Infallible> {
        let (registry, rest) = match value.split_once('=') {
            Some((host, rest)) if looks_like_registry(host) => (Some(host.to_owned()), rest),
            _ => (None, value),
        };
        Ok(match rest.split_once(':').filter(|(u, _)| !u.is_empty()) {
            Some((username, password)) => CredsArg {
                registry,
                username: username.to_owned(),
                password: password.to_owned(),
                valid: true,
            },
            None => CredsArg {
                registry: None,
                username: String::new(),
                password: String::new(),
                valid: false,
            },
        })
    }
}

fn looks_like_registry(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => return false,
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let host_ok = s.starts_with('[')
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && (host.contains('.') || host == "localhost"));
    port_ok && host_ok
}

/// How images are collected.
#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Platform whose facts fill the top level of a multi-platform image [default: linux/amd64, else the first].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<Platform>,

    /// How many images are collected at once.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// What a failed image does to the run.
    #[arg(long, value_enum, default_value_t = FallbackArg::BestEffort)]
    pub fallback: FallbackArg,

    /// Give up on unfinished images after this long (they get a `timeout` error; output is still written).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<Duration>,

    /// The longest one image spends retrying over all its requests (Retry-After and backoff
    /// waits, retried attempts) [default: --deadline when given, else 2m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_retry_time: Option<Duration>,

    /// Cache directory [default: the platform cache directory, e.g. ~/.cache/imagefacts].
    #[arg(long, value_name = "DIR", env = "IMAGEFACTS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Use no on-disk cache (wins over --cache-dir).
    #[arg(long)]
    pub no_cache: bool,

    /// Trust a cached tag → digest answer this long without asking the registry (entries then
    /// say `source: "cache"`); by default every run asks about every reference.
    #[arg(long, default_value = "0s", value_name = "DURATION", value_parser = parse_duration)]
    pub cache_ttl: Duration,

    /// Make no request at all: answer from the cache alone (entries say `source: "cache"`;
    /// what the cache lacks is a `notCached` error).
    #[arg(long, conflicts_with = "no_cache")]
    pub offline: bool,

    /// Platforms of a multi-platform image fetched at most; the rest are listed, marked not fetched.
    #[arg(long, default_value_t = 64, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_platforms: u32,

    /// Also look for each image's signatures, attestations and SBOMs (`supplyChain`): the OCI 1.1
    /// referrers API, else the `sha256-<hex>` tag schema (cosign `.sig`/`.att`/`.sbom`) from the
    /// repository's tag list, and the attestations in its index. Costs requests; off by default.
    #[arg(long, conflicts_with = "offline")]
    pub supply_chain: bool,

    /// Progress on stderr: a bar on a terminal (auto), JSON lines, or nothing.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,

    /// Keep secret-looking env values, labels and URL credentials in the output (hidden by default).
    #[arg(long)]
    pub no_redact: bool,
}

/// `--fallback` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FallbackArg {
    /// The first failure stops the run; nothing is written.
    None,
    /// The same as best-effort (kept for scripts that name it).
    Partial,
    /// Every image gets facts or a typed error; a failed one keeps what was obtained, marked partial.
    BestEffort,
    /// Serve an image whose registry fails from the on-disk cache when present.
    Cached,
}

/// `--progress` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// A bar when stderr is a terminal, else nothing.
    Auto,
    /// One JSON object per line on stderr.
    Json,
    /// Nothing.
    None,
}

/// The longest duration any flag accepts.
const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses `250ms`, `90s`, `5m`, `2h`, `1d` or a bare number of seconds, up to 30 days.
/// A duration of any length (`365d`), for thresholds rather than waits.
/// An RFC 3339 time (`2026-12-01T18:04:23Z`).
fn parse_time(s: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{s:?} is not an RFC 3339 time ({e})"))
}

fn parse_duration_long(s: &str) -> Result<Duration, String> {
    match s.strip_suffix('d').map(str::parse::<u64>) {
        Some(Ok(days)) if days > 0 => Ok(Duration::from_secs(days.saturating_mul(86_400))),
        _ => parse_duration(s),
    }
}

pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let too_long = || format!("{s:?} is too long (at most 30d)");
    let n: u64 = match digits.parse() {
        Ok(n) => n,
        Err(_) if !digits.is_empty() => return Err(too_long()),
        Err(_) => return Err(format!("invalid duration {s:?}: expected e.g. 90s, 5m, 1h")),
    };
    let per_unit = match unit {
        "ms" => {
            let d = Duration::from_millis(n);
            return if d > MAX_DURATION {
                Err(too_long())
            } else {
                Ok(d)
            };
        }
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => {
            return Err(format!(
                "invalid duration {s:?}: unit must be ms, s, m, h or d"
            ));
        }
    };
    let d = n
        .checked_mul(per_unit)
        .map(Duration::from_secs)
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(too_long)?;
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creds_values() {
        let c = |v: &str| {
            let got = CredsArg::parse(v).unwrap();
            if got.valid {
                Ok(got)
            } else {
                Err(format!("{got:?}"))
            }
        };
        let got = c("127.0.0.1:5000=alice:pa:ss=w").unwrap();
        assert_eq!(got.registry.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(
            (got.username.as_str(), got.password.as_str()),
            ("alice", "pa:ss=w")
        );
        let got = c("alice:pa=ss").unwrap();
        assert_eq!(got.registry, None);
        assert_eq!(got.password, "pa=ss");
        assert_eq!(c("alice:123=x").unwrap().registry, None);
        assert_eq!(
            c("ghcr.io=me:tok").unwrap().registry.as_deref(),
            Some("ghcr.io")
        );
        assert_eq!(
            c("localhost=me:tok").unwrap().registry.as_deref(),
            Some("localhost")
        );
        assert_eq!(
            c("[::1]:5000=me:t").unwrap().registry.as_deref(),
            Some("[::1]:5000")
        );
        assert_eq!(c("me:").unwrap().password, "");
        let err = c("hunter2").unwrap_err();
        assert!(!err.contains("hunter2"));
        assert!(c(":pw").is_err());
        assert!(!format!("{:?}", c("a:hunter2").unwrap()).contains("hunter2"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86400)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("m").is_err());
        for huge in [
            "18446744073709551615s",
            "18446744073709551616",
            "18446744073709551615m",
            "99999999999999999999999h",
            "31d",
            "2592000001ms",
        ] {
            let err = parse_duration(huge).unwrap_err();
            assert!(err.contains("too long"), "{huge}: {err}");
        }
        assert_eq!(parse_duration("30d"), Ok(MAX_DURATION));
    }
}
