//! Command-line arguments, parsed by clap and then resolved into settings.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use imagefacts_model::Platform;

/// Tells exactly which container images a Kubernetes cluster runs and what is inside each one.
#[derive(Debug, Parser)]
#[command(name = "imagefacts", version, about, max_term_width = 100)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Facts of the given image references, as facts.json on stdout.
    Inspect(InspectArgs),
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
    /// Credentials in docker config.json format (`auths.<host>.auth`).
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,

    /// PEM CA bundle trusted beside the system roots (repeatable).
    #[arg(long = "ca-file", value_name = "PATH")]
    pub ca_files: Vec<PathBuf>,

    /// Reach HOST[:PORT] over plain HTTP or unverified TLS (repeatable).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,

    /// Requests in flight to one registry at most (halved on HTTP 429, recovering gradually).
    #[arg(long, default_value_t = 6, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub per_registry: u16,

    /// Retries of a failed request (connection errors, timeouts, 408, 429, 5xx).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub retries: u32,

    /// Per-request timeout (e.g. 30s, 2m).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Duration,
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

    /// Cache directory [default: the platform cache directory, e.g. ~/.cache/imagefacts].
    #[arg(long, value_name = "DIR", env = "IMAGEFACTS_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Use no on-disk cache (wins over --cache-dir).
    #[arg(long)]
    pub no_cache: bool,

    /// How long a cached tag → digest answer is trusted.
    #[arg(long, default_value = "1h", value_name = "DURATION", value_parser = parse_duration)]
    pub cache_ttl: Duration,

    /// Progress on stderr: a bar on a terminal (auto), JSON lines, or nothing.
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,
}

/// `--fallback` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FallbackArg {
    /// The first failure stops the run; nothing is written.
    None,
    /// Keep whatever facts were obtained before a failure, marked partial.
    Partial,
    /// Every image gets facts or a typed error.
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

/// Parses `250ms`, `90s`, `5m`, `2h` or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 90s, 5m, 1h"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => {
            return Err(format!(
                "invalid duration {s:?}: unit must be ms, s, m or h"
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
    }
}
