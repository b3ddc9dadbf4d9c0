//! `imagefacts bundle`: a new support bundle in troubleshoot's layout, or image facts added to an
//! existing one without losing a byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;
use imagefacts_bundle::{Bundle, BundleFile, FileContents, add_to_bundle, write_new_bundle};
use imagefacts_discovery::{KeptObject, Source, WorkloadResource, resource_of_kind};
use imagefacts_model::discovery::DiscoveryError;
use imagefacts_model::facts::FactsFile;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Outcome;
use crate::args::BundleArgs;
use crate::discover::{discover_with_objects, facts_of, source_and_filter, warn_discovery_errors};

/// Where facts go inside a bundle.
const FACTS_PATH: &str = "image-facts/facts.json";
/// Cap on a facts.json read back from a bundle.
const MAX_FACTS_BYTES: u64 = 512 * 1024 * 1024;

/// facts.json from a file, or `image-facts/facts.json` from a support bundle.
pub(crate) fn read_facts_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Ok(bytes);
        }
    }
    let bundle = Bundle::open(path)?;
    let files = bundle.read_files(|p| p == FACTS_PATH, MAX_FACTS_BYTES)?;
    match files.into_iter().next().map(|f| f.contents) {
        Some(FileContents::Bytes(b)) => Ok(b),
        Some(FileContents::TooLarge { size, limit }) => {
            anyhow::bail!(
                "{}: {FACTS_PATH} is {size} bytes, over the {limit}-byte limit",
                path.display()
            )
        }
        None => anyhow::bail!(
            "{} holds no {FACTS_PATH}\nhint: add image facts with `imagefacts bundle --add-to {}`",
            path.display(),
            path.display()
        ),
    }
}

fn list(kind: &str, api_version: &str, items: Vec<Value>) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(&json!({
        "kind": kind, "apiVersion": api_version, "metadata": {}, "items": items
    }))
    .expect("JSON values serialise");
    bytes.push(b'\n');
    bytes
}

/// `cluster-resources/` in troubleshoot's layout: a List per kind and namespace, `nodes.json`,
/// `namespaces.json`, and `<kind>-errors.json` beside a kind that had errors.
fn cluster_resources(objects: Vec<KeptObject>, errors: &[DiscoveryError]) -> Vec<BundleFile> {
    let mut lists: BTreeMap<(&str, String), (&WorkloadResource, Vec<Value>)> = BTreeMap::new();
    let (mut nodes, mut namespaces) = (Vec::new(), Vec::new());
    let mut seen_ns = BTreeSet::new();
    for o in objects {
        match (o.kind.as_str(), resource_of_kind(&o.kind)) {
            ("Node", _) => nodes.push(o.object),
            ("Namespace", _) => namespaces.push(o.object),
            (_, Some(resource)) => {
                let ns = o.namespace.unwrap_or_else(|| "default".to_owned());
                seen_ns.insert(ns.clone());
                lists
                    .entry((resource.name, ns))
                    .or_insert((resource, Vec::new()))
                    .1
                    .push(o.object);
            }
            _ => {}
        }
    }
    // Namespaces seen only through their objects still get an entry.
    for ns in seen_ns {
        if !namespaces
            .iter()
            .any(|n| n.pointer("/metadata/name").and_then(Value::as_str) == Some(&ns))
        {
            namespaces
                .push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
        }
    }
    let mut files: Vec<BundleFile> = lists
        .into_iter()
        .map(|((dir, ns), (resource, items))| {
            BundleFile::new(
                format!("cluster-resources/{dir}/{ns}.json"),
                list(&resource.list_kind(), resource.api_version, items),
            )
        })
        .collect();
    files.push(BundleFile::new(
        "cluster-resources/nodes.json",
        list("NodeList", "v1", nodes),
    ));
    files.push(BundleFile::new(
        "cluster-resources/namespaces.json",
        list("NamespaceList", "v1", namespaces),
    ));
    let mut by_resource: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in errors {
        if let Some(r) = e.resource.as_deref() {
            by_resource.entry(r).or_default().push(e.message.clone());
        }
    }
    for (resource, messages) in by_resource {
        let mut bytes = serde_json::to_vec_pretty(&messages).expect("strings serialise");
        bytes.push(b'\n');
        files.push(BundleFile::new(
            format!("cluster-resources/{resource}-errors.json"),
            bytes,
        ));
    }
    files
}

fn version_yaml() -> BundleFile {
    BundleFile::new(
        "version.yaml",
        format!(
            "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: imagefacts-{}\n",
            env!("CARGO_PKG_VERSION")
        ),
    )
}

fn summary_text(ns: &str, file: &FactsFile) -> String {
    let s = &file.summary;
    let mut out = format!(
        "Image facts for namespace {ns}\nGenerated: {}\nTotal images: {}\nUnique registries: {}\nUnique repositories: {}\nTotal size: {} bytes\nCollection errors: {}\n",
        file.generated_at,
        s.total_images,
        s.unique_registries,
        s.unique_repositories,
        s.total_size,
        s.collection_errors
    );
    for f in &file.image_facts {
        let state = f.error.as_ref().map_or("ok", |e| e.kind.as_str());
        out.push_str(&format!(
            "  {} {} {}\n",
            f.reference,
            f.digest
                .as_ref()
                .map_or("-".to_owned(), ToString::to_string),
            state
        ));
    }
    out
}

/// `image-facts/facts.json` plus upstream's `<ns>-facts.json` and `<ns>-summary.txt` per namespace.
fn image_fact_files(file: &FactsFile) -> anyhow::Result<Vec<BundleFile>> {
    let pretty = |f: &FactsFile| -> anyhow::Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(f)?;
        v.push(b'\n');
        Ok(v)
    };
    let mut files = vec![BundleFile::new(FACTS_PATH, pretty(file)?)];
    let namespaces: BTreeSet<&str> = file
        .image_facts
        .iter()
        .flat_map(|f| f.workloads.iter().map(|w| w.namespace.as_str()))
        .collect();
    for ns in namespaces {
        let facts: Vec<_> = file
            .image_facts
            .iter()
            .filter(|f| f.workloads.iter().any(|w| w.namespace == ns))
            .cloned()
            .collect();
        let mut per = FactsFile::new(file.generated_at, facts);
        per.namespace = Some(ns.to_owned());
        per.summary.redactions = 0;
        per.summary.rate_limits = file.summary.rate_limits.clone();
        files.push(BundleFile::new(
            format!("image-facts/{ns}-facts.json"),
            pretty(&per)?,
        ));
        files.push(BundleFile::new(
            format!("image-facts/{ns}-summary.txt"),
            summary_text(ns, &per),
        ));
    }
    Ok(files)
}

fn outcome(file: Option<&FactsFile>) -> Outcome {
    match file {
        Some(f) if f.summary.collection_errors > 0 || !f.discovery_errors.is_empty() => {
            Outcome::Partial
        }
        _ => Outcome::Success,
    }
}

pub(crate) async fn run(args: BundleArgs) -> anyhow::Result<Outcome> {
    if let Some(existing) = &args.add_to {
        // Discovery from the bundle's own cluster-resources; nothing is written before it is read whole.
        Bundle::open(existing)?;
        let filter = source_and_filter(&args.source).1;
        let found =
            imagefacts_discovery::discover(&Source::Bundle(existing.clone()), &filter).await?;
        warn_discovery_errors(&found.discovery);
        let file = facts_of(&found, &args.registry, &args.collect).await?;
        let report = add_to_bundle(
            existing,
            args.output.as_deref(),
            &image_fact_files(&file)?,
            args.force,
        )?;
        println!("{}", report.output.display());
        eprintln!(
            "added {} files under {}/image-facts/ ({} original entries preserved)",
            report.added.len(),
            report.top_dir,
            report.preserved_entries
        );
        return Ok(outcome(Some(&file)));
    }
    let (found, objects) = discover_with_objects(&args.source).await.map_err(|e| {
        if args.source.bundle.is_none() && args.source.manifests.is_empty() {
            e.context("no cluster to read\nhint: point --kubeconfig/--context at a cluster, or give --bundle PATH or --manifests PATH")
        } else {
            e
        }
    })?;
    warn_discovery_errors(&found.discovery);
    let mut files = vec![version_yaml()];
    files.extend(cluster_resources(objects, &found.discovery.errors));
    let facts = if args.include_images {
        let file = facts_of(&found, &args.registry, &args.collect).await?;
        files.extend(image_fact_files(&file)?);
        Some(file)
    } else {
        None
    };
    let output = args.output.clone().unwrap_or_else(|| ".".into());
    let written = write_new_bundle(&output, &files, OffsetDateTime::now_utc())?;
    println!("{}", written.display());
    Ok(outcome(facts.as_ref()))
}
