//! `imagefacts list` and `imagefacts collect`: discovery from a live cluster, a support bundle or
//! manifest files, then (for collect) the facts of every image found.

use std::sync::Arc;

use anyhow::Context as _;
use imagefacts_discovery::{ClusterOptions, Discovered, NamespaceFilter, Source, render_table};
use imagefacts_engine::ImageRequest;
use imagefacts_registry::{CredentialSource, DockerConfig};

use crate::Outcome;
use crate::args::{CollectCmdArgs, ListArgs, ListFormat, SourceArgs};
use crate::inspect::{collect_facts, write_facts};
use crate::output::write_output;

/// The discovery source and namespace filter the flags name.
pub(crate) fn source_and_filter(args: &SourceArgs) -> (Source, NamespaceFilter) {
    let source = if let Some(bundle) = &args.bundle {
        Source::Bundle(bundle.clone())
    } else if !args.manifests.is_empty() {
        Source::Manifests(args.manifests.clone())
    } else {
        Source::Cluster(ClusterOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
            page_size: args.page_size,
        })
    };
    let filter = NamespaceFilter {
        namespace: args.namespace.clone(),
        all_namespaces: args.all_namespaces,
        include: args.include_namespaces.clone(),
        exclude: args.exclude_namespaces.clone(),
        include_system: args.include_system_namespaces,
    };
    (source, filter)
}

/// Refuses an unsafe or malformed bundle before discovery reads it (the bundle reader's checks:
/// paths, links, header sizes).
fn check_source(source: &Source) -> anyhow::Result<()> {
    if let Source::Bundle(path) = source {
        imagefacts_bundle::Bundle::open(path)?;
    }
    Ok(())
}

pub(crate) async fn discover(args: &SourceArgs) -> anyhow::Result<Discovered> {
    let (source, filter) = source_and_filter(args);
    check_source(&source)?;
    Ok(imagefacts_discovery::discover(&source, &filter).await?)
}

/// [`discover`], also keeping every selected object (for a new support bundle).
pub(crate) async fn discover_with_objects(
    args: &SourceArgs,
) -> anyhow::Result<(Discovered, Vec<imagefacts_discovery::KeptObject>)> {
    let (source, filter) = source_and_filter(args);
    check_source(&source)?;
    Ok(imagefacts_discovery::discover_with_objects(&source, &filter).await?)
}

pub(crate) async fn list(args: ListArgs) -> anyhow::Result<Outcome> {
    let found = discover(&args.source).await?;
    let d = &found.discovery;
    let bytes = match args.format {
        ListFormat::Table => render_table(d).into_bytes(),
        ListFormat::Json => {
            let mut v = serde_json::to_vec_pretty(d).context("cannot serialise the discovery")?;
            v.push(b'\n');
            v
        }
        ListFormat::Yaml => serde_saphyr::to_string(d)
            .context("cannot serialise the discovery")?
            .into_bytes(),
    };
    write_output(None, &bytes)?;
    warn_discovery_errors(d);
    Ok(if d.errors.is_empty() {
        Outcome::Success
    } else {
        Outcome::Partial
    })
}

/// One `warning:` line per discovery error on stderr, naming the file or the denied request.
pub(crate) fn warn_discovery_errors(d: &imagefacts_model::discovery::Discovery) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    for e in &d.errors {
        let place = match (&e.path, &e.verb, &e.resource) {
            (Some(path), _, _) => format!("{path}: "),
            (None, Some(verb), Some(resource)) => format!(
                "{verb} {resource}{}: ",
                e.namespace
                    .as_deref()
                    .map(|n| format!(" in namespace {n}"))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        let _ = writeln!(err, "warning: {place}{}", e.message);
    }
}

/// Credentials from the pull secrets discovery read (live cluster only), by secret.
pub(crate) fn pull_secret_credentials(found: &Discovered) -> crate::inspect::PullSecretCredentials {
    found
        .pull_secrets
        .iter()
        .filter_map(|(secret, bytes)| {
            let origin =
                std::path::PathBuf::from(format!("secret {}/{}", secret.namespace, secret.name));
            match DockerConfig::parse(bytes, &origin) {
                Ok(c) => Some((secret.clone(), Arc::new(c) as Arc<dyn CredentialSource>)),
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            }
        })
        .collect()
}

/// Facts for every image `found` lists (the `collect` pipeline), with its discovery errors and
/// the cluster's platforms.
pub(crate) async fn facts_of(
    found: &Discovered,
    registry: &crate::args::RegistryArgs,
    collect: &crate::args::CollectArgs,
) -> anyhow::Result<imagefacts_model::facts::FactsFile> {
    let requests = found
        .discovery
        .images
        .iter()
        .map(|u| ImageRequest {
            reference: u.reference.clone(),
            usage: Some(u.clone()),
        })
        .collect();
    let extra = pull_secret_credentials(found);
    let mut file = collect_facts(registry, collect, requests, extra).await?;
    file.cluster_platforms = found.discovery.cluster_platforms.clone();
    file.discovery_errors = found.discovery.errors.clone();
    Ok(file)
}

pub(crate) async fn collect(args: CollectCmdArgs) -> anyhow::Result<Outcome> {
    let found = discover(&args.source).await?;
    warn_discovery_errors(&found.discovery);
    let file = facts_of(&found, &args.registry, &args.collect).await?;
    let outcome = write_facts(&file, args.output.as_deref())?;
    Ok(if file.discovery_errors.is_empty() {
        outcome
    } else {
        Outcome::Partial
    })
}
