//! `imagefacts bundle`: a new support bundle in troubleshoot's layout, or image facts added to an
//! existing one without losing a byte.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Context as _;
use imagefacts_bundle::{Bundle, BundleFile, FileContents, FileVisitor, write_new_bundle};
use imagefacts_discovery::{KeptObject, WorkloadResource, resource_of_kind, valid_namespace};
use imagefacts_model::discovery::DiscoveryError;
use imagefacts_model::facts::FactsFile;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Outcome;
use crate::args::BundleArgs;
use crate::discover::{
    discover_bundle, discover_with_objects, discovery_error_line, facts_of, filter,
    warn_discovery_errors,
};

/// Where facts go inside a bundle.
const FACTS_PATH: &str = "image-facts/facts.json";
/// Where the insights go inside a bundle (troubleshoot's own `analysis.json` is at the root).
const ANALYSIS_PATH: &str = "image-facts/analysis.json";
/// Where the page of `imagefacts report --html` goes inside a bundle.
const REPORT_PATH: &str = "image-facts/report.html";
/// Cap on a facts.json read back from a bundle.
const MAX_FACTS_BYTES: u64 = 512 * 1024 * 1024;

/// facts.json from a file, or `image-facts/facts.json` from a support bundle (read once).
pub(crate) fn read_facts_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.is_file() {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            return Ok(bytes);
        }
    }
    /// Keeps `image-facts/facts.json` as the bundle streams by.
    struct Facts(Option<FileContents>);
    impl FileVisitor for Facts {
        fn wants(&mut self, path: &str, _size: u64) -> bool {
            path == FACTS_PATH
        }
        fn visit(&mut self, _path: &str, size: u64, contents: &mut dyn std::io::Read) {
            if size > MAX_FACTS_BYTES {
                self.0 = Some(FileContents::TooLarge {
                    size,
                    limit: MAX_FACTS_BYTES,
                });
                return;
            }
            let mut bytes = Vec::new();
            // A read error is the bundle's, and Bundle::open_with returns it.
            if contents.read_to_end(&mut bytes).is_ok() {
                self.0 = Some(FileContents::Bytes(bytes));
            }
        }
    }
    let mut facts = Facts(None);
    Bundle::open_with(path, &mut facts)?;
    match facts.0 {
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

/// A List object holding `items` (each compact JSON), as troubleshoot writes one per kind and
/// namespace.
fn list<'a>(kind: &str, api_version: &str, items: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut bytes =
        serde_json::to_vec(&json!({"kind": kind, "apiVersion": api_version, "metadata": {}}))
            .expect("JSON values serialise");
    bytes.pop();
    bytes.extend_from_slice(b",\"items\":[");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            bytes.push(b',');
        }
        bytes.extend_from_slice(item.as_bytes());
    }
    bytes.extend_from_slice(b"]}\n");
    bytes
}

/// `cluster-resources/` in troubleshoot's layout: a List per kind and namespace, `nodes.json`,
/// `namespaces.json`, and `<kind>-errors.json` beside a kind that had errors.
fn cluster_resources(objects: &[KeptObject], errors: &[DiscoveryError]) -> Vec<BundleFile> {
    let mut lists: BTreeMap<(&str, &str), (&WorkloadResource, Vec<&str>)> = BTreeMap::new();
    let (mut nodes, mut namespaces) = (Vec::new(), Vec::new());
    let mut named_ns = BTreeSet::new();
    let mut seen_ns = BTreeSet::new();
    for o in objects {
        match (o.kind.as_str(), resource_of_kind(&o.kind)) {
            ("Node", _) => nodes.push(o.object.get()),
            ("Namespace", _) => {
                #[derive(serde::Deserialize)]
                struct Named {
                    metadata: Meta,
                }
                #[derive(serde::Deserialize)]
                struct Meta {
                    name: String,
                }
                if let Ok(n) = serde_json::from_str::<Named>(o.object.get()) {
                    named_ns.insert(n.metadata.name);
                }
                namespaces.push(o.object.get().to_owned());
            }
            (_, Some(resource)) => {
                // Discovery only keeps objects of valid namespace names; check again before
                // a name becomes a path.
                let Some(ns) = o.namespace.as_deref().filter(|n| valid_namespace(n)) else {
                    continue;
                };
                seen_ns.insert(ns);
                lists
                    .entry((resource.name, ns))
                    .or_insert((resource, Vec::new()))
                    .1
                    .push(o.object.get());
            }
            _ => {}
        }
    }
    // Namespaces seen only through their objects still get an entry.
    for ns in seen_ns {
        if !named_ns.contains(ns) {
            namespaces.push(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
                    .to_string(),
            );
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
        list("NamespaceList", "v1", namespaces.iter().map(String::as_str)),
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
        "Image facts for namespace {ns}\nGenerated: {}\nTotal images: {}\nUnique registries: {}\nUnique repositories: {}\nTotal size: {} ({} bytes)\nCollection errors: {}\n",
        imagefacts_model::text::rfc3339_seconds(file.generated_at),
        s.total_images,
        s.unique_registries,
        s.unique_repositories,
        crate::human::size(s.total_size),
        s.total_size,
        s.collection_errors
    );
    for f in &file.image_facts {
        let state = f.error.get().map_or("ok", |e| e.kind.as_str());
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

/// `image-facts/facts.json`, `image-facts/analysis.json`, `image-facts/report.html` (unless
/// `--no-html`) plus, per namespace looked at, what upstream's collector writes:
/// `<ns>-facts.json` (with `namespace` set) and `<ns>-summary.txt` for a namespace with images,
/// `<ns>-info.txt` for one without, and `<ns>-error.txt` when reading the namespace failed.
fn image_fact_files(
    file: &FactsFile,
    looked_at: &[String],
    analysis: &crate::args::AnalysisArgs,
    html: bool,
) -> anyhow::Result<Vec<BundleFile>> {
    let pretty = |f: &FactsFile| -> anyhow::Result<Vec<u8>> {
        let mut v = serde_json::to_vec_pretty(f)?;
        v.push(b'\n');
        Ok(v)
    };
    let results =
        imagefacts_analysis::analyze(file, &crate::analyze::options(analysis, file.generated_at));
    let mut files = vec![
        BundleFile::new(FACTS_PATH, pretty(file)?),
        BundleFile::new(ANALYSIS_PATH, crate::analyze::analysis_json(&results)?),
    ];
    if html {
        files.push(BundleFile::new(
            REPORT_PATH,
            crate::html::page(file, &results, file.generated_at),
        ));
    }
    let mut namespaces: BTreeSet<&str> = file
        .image_facts
        .iter()
        .flat_map(|f| f.workloads.iter().map(|w| w.namespace.as_str()))
        .collect();
    namespaces.extend(looked_at.iter().map(String::as_str));
    namespaces.extend(
        file.discovery_errors
            .iter()
            .filter_map(|e| e.namespace.as_deref()),
    );
    for ns in namespaces.into_iter().filter(|ns| valid_namespace(ns)) {
        let facts: Vec<_> = file
            .image_facts
            .iter()
            .filter(|f| f.workloads.iter().any(|w| w.namespace == ns))
            .cloned()
            .collect();
        let errors: Vec<&DiscoveryError> = file
            .discovery_errors
            .iter()
            .filter(|e| e.namespace.as_deref() == Some(ns))
            .collect();
        if !errors.is_empty() {
            let mut text = format!("Image facts collection failed for namespace {ns}\n");
            for e in errors {
                text.push_str(&format!("  {}\n", discovery_error_line(e)));
            }
            files.push(BundleFile::new(format!("image-facts/{ns}-error.txt"), text));
            if facts.is_empty() {
                continue;
            }
        }
        if facts.is_empty() {
            files.push(BundleFile::new(
                format!("image-facts/{ns}-info.txt"),
                format!("No images found in namespace {ns}\n"),
            ));
            continue;
        }
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
        // One read of the bundle: its safety checks and discovery from its own cluster-resources.
        // Nothing is asked or written before it was read whole.
        let (bundle, mut found, _) = discover_bundle(existing, &filter(&args.source), None).await?;
        warn_discovery_errors(&found.discovery);
        crate::discover::hint_left_out(&found.discovery, &args.source);
        let file = facts_of(&mut found, &args.registry, &args.collect).await?;
        let report = bundle.add(
            args.output.as_deref(),
            &image_fact_files(
                &file,
                &found.discovery.namespaces,
                &args.analysis,
                !args.no_html,
            )?,
            args.force,
        )?;
        println!("{}", report.output.display());
        if !crate::quiet() {
            eprintln!(
                "added {} files under {}/image-facts/ ({} original entries preserved)",
                report.added.len(),
                report.top_dir,
                report.preserved_entries
            );
        }
        return Ok(outcome(Some(&file)));
    }
    let redact: fn(&mut Value) -> usize = if args.collect.no_redact {
        |_| 0
    } else {
        imagefacts_model::redact::redact_kubernetes_object
    };
    let (mut found, objects) = discover_with_objects(&args.source, redact)
        .await
        .map_err(|e| {
            if args.source.bundle.is_none() && args.source.manifests.is_empty() {
                e.context("no cluster to read\nhint: point --kubeconfig/--context at a cluster, or give --bundle PATH or --manifests PATH")
            } else {
                e
            }
        })?;
    warn_discovery_errors(&found.discovery);
    let mut files = vec![version_yaml()];
    crate::discover::hint_left_out(&found.discovery, &args.source);
    files.extend(cluster_resources(&objects, &found.discovery.errors));
    drop(objects);
    let facts = if args.include_images {
        let file = facts_of(&mut found, &args.registry, &args.collect).await?;
        files.extend(image_fact_files(
            &file,
            &found.discovery.namespaces,
            &args.analysis,
            !args.no_html,
        )?);
        Some(file)
    } else {
        None
    };
    let output = args.output.clone().unwrap_or_else(|| ".".into());
    let written = write_new_bundle(&output, &files, OffsetDateTime::now_utc())?;
    println!("{}", written.display());
    Ok(outcome(facts.as_ref()))
}
