//! `imagefacts list` and `imagefacts collect`: discovery from a live cluster, a support bundle or
//! manifest files, then (for collect) the facts of every image found.

use anyhow::Context as _;
use imagefacts_bundle::Bundle;
use imagefacts_discovery::{
    BundleScan, ClusterOptions, Discovered, Extractor, KeptObject, NamespaceFilter, Source,
    render_table,
};
use imagefacts_engine::ImageRequest;
use imagefacts_model::discovery::DiscoveryError;

use crate::Outcome;
use crate::args::{CollectCmdArgs, ListArgs, ListFormat, SourceArgs};
use crate::inspect::{collect_facts, write_facts};
use crate::output::write_output;

/// The discovery source the flags name for one context (a bundle is read apart:
/// [`discover_bundle`]).
pub(crate) fn source(args: &SourceArgs, context: Option<&str>) -> Source {
    if !args.manifests.is_empty() {
        Source::Manifests(args.manifests.clone())
    } else {
        Source::Cluster(ClusterOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: context.map(str::to_owned),
            page_size: args.page_size,
        })
    }
}

/// The kubeconfig contexts of a fleet run (`--context` repeated, or `--all-contexts`); `None`
/// for a run over one source.
fn fleet_contexts(args: &SourceArgs) -> anyhow::Result<Option<Vec<String>>> {
    let contexts = if args.all_contexts {
        imagefacts_discovery::kubeconfig_contexts(args.kubeconfig.as_deref())?
    } else if args.contexts.len() > 1 {
        args.contexts.clone()
    } else {
        return Ok(None);
    };
    if args.cluster_name.is_some() {
        anyhow::bail!(
            "--cluster-name names the one cluster of a run; a run over several contexts names \
             each by its context"
        );
    }
    if contexts.is_empty() {
        anyhow::bail!("--all-contexts: the kubeconfig has no context");
    }
    Ok(Some(contexts))
}

/// Discovers the one source the flags name (live cluster at one context, or manifests).
async fn discover_one(
    args: &SourceArgs,
    filter: &NamespaceFilter,
    context: Option<&str>,
) -> anyhow::Result<Discovered> {
    Ok(imagefacts_discovery::discover(&source(args, context), filter).await?)
}

/// `found` as the discovery of the cluster `--cluster-name` names, when it names one.
fn named(args: &SourceArgs, found: Discovered) -> Discovered {
    match &args.cluster_name {
        Some(name) => {
            let mut all = Discovered::default();
            all.join_cluster(name, found);
            all
        }
        None => found,
    }
}

/// The namespace filter the flags name.
pub(crate) fn filter(args: &SourceArgs) -> NamespaceFilter {
    NamespaceFilter {
        namespace: args.namespace.clone(),
        all_namespaces: args.all_namespaces,
        include: args.include_namespaces.clone(),
        exclude: args.exclude_namespaces.clone(),
        include_system: args.include_system_namespaces,
    }
}

/// Opens the bundle at `path` and discovers what it holds, in one read of the bundle (safety
/// checks included); with `keep`, the objects are kept for a new bundle, passed through `redact`.
pub(crate) async fn discover_bundle(
    path: &std::path::Path,
    filter: &NamespaceFilter,
    keep: Option<fn(&mut serde_json::Value) -> usize>,
) -> anyhow::Result<(Bundle, Discovered, Vec<KeptObject>)> {
    let (path, filter) = (path.to_owned(), filter.clone());
    tokio::task::spawn_blocking(move || {
        let x = match keep {
            Some(redact) => Extractor::new(&filter).keeping_objects_with(redact),
            None => Extractor::new(&filter),
        };
        let mut scan = BundleScan::with_extractor(x);
        let bundle = Bundle::open_with(&path, &mut scan)?;
        let (found, kept) = scan.finish(&path)?;
        Ok((bundle, found, kept))
    })
    .await
    .context("bundle reading stopped")?
}

/// Discovers what the flags name: a bundle, manifests, one cluster, or several contexts at once
/// (joined into one discovery, each workload naming its context).
pub(crate) async fn discover(args: &SourceArgs) -> anyhow::Result<Discovered> {
    let filter = filter(args);
    if let Some(path) = &args.bundle {
        return Ok(named(args, discover_bundle(path, &filter, None).await?.1));
    }
    let Some(contexts) = fleet_contexts(args)? else {
        let found = discover_one(args, &filter, args.contexts.first().map(String::as_str)).await?;
        return Ok(named(args, found));
    };
    let found = futures::future::try_join_all(contexts.iter().map(|context| {
        let filter = &filter;
        async move {
            discover_one(args, filter, Some(context))
                .await
                .with_context(|| format!("context {context}"))
        }
    }))
    .await?;
    let mut all = Discovered::default();
    for (context, one) in contexts.iter().zip(found) {
        all.join_cluster(context, one);
    }
    Ok(all)
}

/// [`discover`], also keeping every selected object (for a new support bundle), redacted. A
/// bundle holds one cluster: several contexts are refused.
pub(crate) async fn discover_with_objects(
    args: &SourceArgs,
    redact: fn(&mut serde_json::Value) -> usize,
) -> anyhow::Result<(Discovered, Vec<KeptObject>)> {
    let filter = filter(args);
    if fleet_contexts(args)?.is_some() {
        anyhow::bail!(
            "a support bundle holds one cluster: name one --context (or collect several with \
             `imagefacts collect` and combine them with `imagefacts merge`)"
        );
    }
    let (found, kept) = match &args.bundle {
        Some(path) => {
            let (_, found, kept) = discover_bundle(path, &filter, Some(redact)).await?;
            (found, kept)
        }
        None => {
            let context = args.contexts.first().map(String::as_str);
            imagefacts_discovery::discover_with_objects(&source(args, context), &filter, redact)
                .await?
        }
    };
    Ok((named(args, found), kept))
}

pub(crate) async fn list(args: ListArgs) -> anyhow::Result<Outcome> {
    let found = discover(&args.source).await?;
    hint_left_out(&found.discovery, &args.source);
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

/// One `note:` line on stderr when the namespace filter left images out: how many, from which
/// namespaces, and the flag that keeps them.
pub(crate) fn hint_left_out(d: &imagefacts_model::discovery::Discovery, args: &SourceArgs) {
    use imagefacts_model::text::printable;
    if d.left_out.is_empty() || crate::quiet() {
        return;
    }
    let total: usize = d.left_out.iter().map(|l| l.images).sum();
    let names: Vec<String> = d
        .left_out
        .iter()
        .take(5)
        .map(|l| format!("{} ({})", printable(&l.namespace), l.images))
        .collect();
    let more = d.left_out.len().saturating_sub(names.len());
    let system_only = d
        .left_out
        .iter()
        .all(|l| imagefacts_discovery::is_system_namespace(&l.namespace));
    let flag = if system_only && !args.include_system_namespaces {
        "--include-system-namespaces keeps them"
    } else {
        "-A --include-system-namespaces (and no --include/--exclude-namespaces) keeps them"
    };
    eprintln!(
        "note: the namespace filter left out {total} image{} of {}{}; {flag}",
        if total == 1 { "" } else { "s" },
        names.join(", "),
        if more > 0 {
            format!(" and {more} more namespaces")
        } else {
            String::new()
        },
    );
}

/// One `warning:` line per discovery error on stderr, naming the file or the denied request
/// (control characters escaped: the text comes from the bundle or the cluster).
pub(crate) fn warn_discovery_errors(d: &imagefacts_model::discovery::Discovery) {
    use std::io::Write as _;
    if crate::quiet() {
        return;
    }
    let mut err = std::io::stderr().lock();
    for e in &d.errors {
        let _ = writeln!(err, "warning: {}", discovery_error_line(e));
    }
}

/// One printable line for a discovery error: where (file, or verb and resource) and what.
pub(crate) fn discovery_error_line(e: &DiscoveryError) -> String {
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
    imagefacts_model::text::printable(&format!("{place}{}", e.message)).into_owned()
}

/// Facts for every image `found` lists (the `collect` pipeline), with its discovery errors and
/// the cluster's platforms. The images' usage moves into the facts (`found` keeps no images).
pub(crate) async fn facts_of(
    found: &mut Discovered,
    registry: &crate::args::RegistryArgs,
    collect: &crate::args::CollectArgs,
) -> anyhow::Result<imagefacts_model::facts::FactsFile> {
    let requests = std::mem::take(&mut found.discovery.images)
        .into_iter()
        .map(ImageRequest::discovered)
        .collect();
    let extra = crate::credentials::pull_secret_credentials(found);
    let mut file = collect_facts(registry, collect, requests, extra).await?;
    file.cluster_platforms = found.discovery.cluster_platforms.clone();
    file.discovery_errors = found.discovery.errors.clone();
    file.pull_secrets = found.discovery.pull_secrets.clone();
    file.clusters = found.clusters.clone();
    Ok(file)
}

pub(crate) async fn collect(args: CollectCmdArgs) -> anyhow::Result<Outcome> {
    let mut found = discover(&args.source).await?;
    hint_left_out(&found.discovery, &args.source);
    warn_discovery_errors(&found.discovery);
    let file = facts_of(&mut found, &args.registry, &args.collect).await?;
    let outcome = write_facts(&file, args.output.as_deref())?;
    Ok(if file.discovery_errors.is_empty() {
        outcome
    } else {
        Outcome::Partial
    })
}
