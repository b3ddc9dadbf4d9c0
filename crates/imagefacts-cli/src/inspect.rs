//! `imagefacts inspect REF...`: facts for explicit references; and the shared run of the engine.

use std::sync::Arc;

use anyhow::Context as _;
use imagefacts_engine::{CollectOptions, Collector, Fallback, ImageRequest};
use imagefacts_model::facts::FactsFile;
use imagefacts_registry::{ClientConfig, CredentialSource, RegistryClient, RetryPolicy};
use time::OffsetDateTime;

use crate::Outcome;
use crate::args::{CollectArgs, FallbackArg, InspectArgs, RegistryArgs};
use crate::credentials::{PullSecretCredentials, run_credentials};
use crate::output::write_output_with;
use crate::progress::Reporter;

/// Builds the shared registry client from the command line, asking `credentials` first.
pub(crate) fn registry_client(
    args: &RegistryArgs,
    routes: imagefacts_registry::routes::Routes,
    credentials: Arc<dyn CredentialSource>,
    reporter: Arc<Reporter>,
) -> anyhow::Result<RegistryClient> {
    let config = ClientConfig {
        routes,
        ca_files: args.ca_files.clone(),
        insecure_registries: args.insecure_registries.clone(),
        request_timeout: args.timeout,
        per_registry: usize::from(args.per_registry),
        retry: RetryPolicy {
            max_retries: args.retries,
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    };
    Ok(RegistryClient::builder(config)
        .credentials(credentials)
        .observer(reporter)
        .build()?)
}

/// The engine's options from the command line.
fn collect_options(args: &CollectArgs) -> CollectOptions {
    let cache_dir = if args.no_cache {
        None
    } else {
        args.cache_dir
            .clone()
            .or_else(|| dirs::cache_dir().map(|d| d.join("imagefacts")))
    };
    CollectOptions {
        platform: args.platform.clone(),
        concurrency: usize::from(args.concurrency),
        fallback: match args.fallback {
            FallbackArg::None => Fallback::None,
            FallbackArg::Partial => Fallback::Partial,
            FallbackArg::BestEffort => Fallback::BestEffort,
            FallbackArg::Cached => Fallback::Cached,
        },
        deadline: args.deadline,
        cache_dir,
        cache_ttl: args.cache_ttl,
        offline: args.offline,
        max_platforms: args.max_platforms as usize,
        // The flag, else the run's deadline (which bounds everything anyway), else 2 minutes.
        max_retry_time: args
            .max_retry_time
            .or(args.deadline)
            .unwrap_or(imagefacts_engine::DEFAULT_MAX_RETRY_TIME),
        supply_chain: args.supply_chain,
    }
}

/// Collects `requests` and returns the facts file (its summary complete), reporting progress.
pub(crate) async fn collect_facts(
    registry: &RegistryArgs,
    collect: &CollectArgs,
    requests: Vec<ImageRequest>,
    pull_secrets: PullSecretCredentials,
) -> anyhow::Result<FactsFile> {
    let routes = crate::routes::run_routes(registry)?;
    let credentials = run_credentials(registry, &routes, &requests)?;
    let reporter = Arc::new(Reporter::new(collect.progress));
    let client = registry_client(registry, routes, credentials.explicit, reporter.clone())?;
    let mut collector = Collector::new(client, collect_options(collect))?
        .with_events(reporter.clone())
        .with_pull_secrets(pull_secrets);
    if let Some(defaults) = credentials.defaults {
        collector = collector.with_default_credentials(defaults);
    }
    let facts = collector.collect(requests).await;
    let mut file = FactsFile::new(
        OffsetDateTime::now_utc(),
        facts.context("collection stopped (--fallback none)")?,
    );
    file.summary.rate_limits = collector.client().rate_limits();
    if !collect.no_redact {
        file.redact();
    }
    reporter.finish(&file.summary, collector.client().requests_sent());
    Ok(file)
}

/// Writes `file` as pretty JSON and returns the outcome its errors imply.
pub(crate) fn write_facts(
    file: &FactsFile,
    output: Option<&std::path::Path>,
) -> anyhow::Result<Outcome> {
    write_output_with(output, |w| {
        serde_json::to_writer_pretty(&mut *w, file).context("cannot serialise facts")?;
        w.write_all(b"\n")?;
        Ok(())
    })?;
    Ok(if file.summary.collection_errors > 0 {
        Outcome::Partial
    } else {
        Outcome::Success
    })
}

/// References listed in a file (or stdin for `-`): one per line, blank lines and `#` comments skipped.
fn read_reference_file(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read references from stdin")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read references from {}", path.display()))?
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

pub(crate) async fn run(args: InspectArgs) -> anyhow::Result<Outcome> {
    let mut references = args.references.clone();
    for f in &args.files {
        references.extend(read_reference_file(f)?);
    }
    let requests = references.iter().map(|r| ImageRequest::new(r)).collect();
    let file = collect_facts(&args.registry, &args.collect, requests, Default::default()).await?;
    write_facts(&file, args.output.as_deref())
}
