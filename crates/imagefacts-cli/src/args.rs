//! Command-line arguments, parsed by clap and then resolved into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
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
    #[arg(required = true, value_name = "REF")]
    pub references: Vec<String>,

    /// Write facts.json to FILE instead of stdout (atomically).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Registry settings.
    #[command(flatten)]
    pub registry: RegistryArgs,
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

    /// Platform whose facts fill the top level of a multi-platform image [default: linux/amd64, else the first].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<Platform>,

    /// How many images are collected at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,

    /// Per-request timeout in seconds.
    #[arg(long = "timeout", default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,
}
