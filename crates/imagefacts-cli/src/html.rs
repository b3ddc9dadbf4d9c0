//! `imagefacts report --html`: the report as one self-contained HTML page.
//!
//! The page is a template, a stylesheet and a script, all inline, and the data: the report's
//! rows, each entry's details and the insights, computed here exactly as the terminal report
//! computes them, embedded as gzip-compressed JSON in base64 (a tenth of the plain size: 5,000
//! images fit in a few megabytes), which the browser's own `DecompressionStream` inflates. The
//! script
//! only renders, filters, sorts and pages what it is given; it inserts every string as text
//! (`textContent`, never `innerHTML`). A Content-Security-Policy allows the inline script and
//! stylesheet by their hashes and nothing else: no request of any kind leaves the page, and the
//! page works from `file://` on an air-gapped laptop.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use imagefacts_analysis::{AnalysisResult, Severity};
use imagefacts_model::facts::{FactsFile, ImageFacts, Layer};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::report::{Row, platform_marks, rows, status_group};

/// The page's script.
const SCRIPT: &str = include_str!("html/report.js");
/// The page's stylesheet.
const STYLE: &str = include_str!("html/report.css");

/// The whole page for `file` and its insights, as of `now`.
pub(crate) fn page(file: &FactsFile, results: &[AnalysisResult], now: OffsetDateTime) -> String {
    let mut data =
        serde_json::to_value(Data::new(file, results, now)).expect("page data serialises");
    // As in the terminal report: control and bidirectional characters are shown escaped, so
    // no string poses as another.
    printable_strings(&mut data);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut gz, &data).expect("page data serialises into memory");
    let gz = gz.finish().expect("gzip into memory");
    let encoded = base64::engine::general_purpose::STANDARD.encode(gz);
    let title = match file.clusters.as_slice() {
        [] => "imagefacts report".to_owned(),
        [one] => format!("imagefacts report: {one}"),
        many => format!("imagefacts report: {} clusters", many.len()),
    };
    let csp = format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; base-uri 'none'; \
         form-action 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
        csp_hash(SCRIPT),
        csp_hash(STYLE)
    );
    let mut out = String::with_capacity(encoded.len() + SCRIPT.len() + STYLE.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"imagefacts ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str("\">\n<title>");
    out.push_str(&escape_text(&title));
    out.push_str("</title>\n<style>");
    out.push_str(STYLE);
    out.push_str(
        "</style>\n</head>\n<body>\n<noscript><p>This page needs JavaScript to show the \
        facts; facts.json holds the same facts.</p></noscript>\n<main id=\"app\"></main>\n",
    );
    // Base64 holds no `<`: the data cannot end its element.
    out.push_str(
        "<script type=\"application/octet-stream\" id=\"imagefacts-data\" \
         data-encoding=\"gzip+base64\">",
    );
    out.push_str(&encoded);
    out.push_str("</script>\n<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Every string of `v`, object keys included, through [`imagefacts_model::text::printable`].
fn printable_strings(v: &mut serde_json::Value) {
    use imagefacts_model::text::printable;
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(escaped) = printable(s) {
                *s = escaped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(printable_strings),
        Value::Object(map) => {
            if map
                .keys()
                .any(|k| matches!(printable(k), std::borrow::Cow::Owned(_)))
            {
                let old = std::mem::take(map);
                for (k, mut item) in old {
                    printable_strings(&mut item);
                    map.insert(printable(&k).into_owned(), item);
                }
            } else {
                map.values_mut().for_each(printable_strings);
            }
        }
        _ => {}
    }
}

/// `'sha256-<base64>'` of an inline element's text, as CSP names it.
fn csp_hash(text: &str) -> String {
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

/// Text for an HTML element.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Everything the page shows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    summary: PageSummary<'a>,
    insights: Vec<PageInsight<'a>>,
    charts: Charts,
    /// Each distinct layer once: `[digest, size, media type index, size as text]`.
    layers: Vec<(String, u64, usize, String)>,
    /// Layer media types, each once.
    media_types: Vec<&'a str>,
    /// The rows in the report's order.
    rows: Vec<PageRow<'a>>,
    /// Every status shown, with its count, most frequent first.
    statuses: Vec<(String, usize)>,
    /// Every namespace that uses an image.
    namespaces: Vec<&'a str>,
    discovery_errors: Vec<String>,
    /// Whether the file covers several clusters (the table then has a CLUSTERS column).
    fleet: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageSummary<'a> {
    generated_at: String,
    now: String,
    version: &'a str,
    tool: &'static str,
    namespace: Option<&'a str>,
    clusters: &'a [String],
    cluster_platforms: Vec<String>,
    images: usize,
    registries: usize,
    repositories: usize,
    total_size: String,
    errors: usize,
    errors_by_kind: Vec<(&'static str, usize)>,
    from_cache: usize,
    redactions: usize,
    discovery_errors: usize,
    /// Insights per severity, worst first (passes left out).
    insights: Vec<(&'static str, usize)>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInsight<'a> {
    severity: &'static str,
    title: &'a str,
    detail: &'a str,
    hint: Option<&'a str>,
    image: Option<&'a str>,
    workload: Option<String>,
    name: &'a str,
}

/// Bars: a label, a value and the value as text.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Charts {
    errors_by_kind: Vec<(String, u64, String)>,
    largest: Vec<(String, u64, String)>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageRow<'a> {
    #[serde(flatten)]
    row: Row,
    size_bytes: u64,
    age_seconds: Option<i64>,
    namespace_list: Vec<&'a str>,
    cluster_list: &'a [String],
    platform_list: Vec<(String, bool)>,
    /// `ok`, `cache`, `partial` or `error`.
    status_group: &'static str,
    workload_names: Vec<String>,
    detail: Detail<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    digest: Option<String>,
    manifest_digest: Option<String>,
    config_digest: Option<String>,
    tag_digest: Option<String>,
    media_type: &'a str,
    created: Option<&'a str>,
    platform: String,
    platforms: Vec<DetailPlatform<'a>>,
    /// Indexes into `layers`.
    layers: Vec<usize>,
    config: DetailConfig<'a>,
    labels: &'a BTreeMap<String, String>,
    build_info: Vec<(&'static str, &'a str)>,
    /// The layers' sizes summed, as text.
    layers_size: String,
    /// Node, digest held, its size there as text.
    nodes: Vec<(&'a str, Option<String>, String)>,
    pull_secrets: Vec<String>,
    pull_failures: Vec<String>,
    running_digests: Vec<(String, String, Vec<&'a str>)>,
    nearest_tags: &'a [String],
    source: &'static str,
    endpoint: Option<&'a str>,
    auth_source: Option<&'a str>,
    collected_at: String,
    error: Option<DetailError<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailPlatform<'a> {
    platform: String,
    runs: bool,
    manifest_digest: String,
    size: String,
    layers: usize,
    primary: bool,
    not_fetched: bool,
    error: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailConfig<'a> {
    user: &'a str,
    working_dir: &'a str,
    entrypoint: &'a [String],
    cmd: &'a [String],
    env: &'a [String],
    exposed_ports: Vec<&'a str>,
    volumes: Vec<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetailError<'a> {
    kind: &'static str,
    message: &'a str,
    step: Option<String>,
    status: Option<u16>,
    code: Option<&'a str>,
    attempts: Option<u32>,
    retryable: bool,
    partial: bool,
}

/// Interns layers and their media types.
#[derive(Default)]
struct LayerTable<'a> {
    layers: Vec<(String, u64, usize, String)>,
    index: HashMap<(&'a imagefacts_model::Digest, u64, &'a str), usize>,
    media_types: Vec<&'a str>,
    media_index: HashMap<&'a str, usize>,
}

impl<'a> LayerTable<'a> {
    fn add(&mut self, l: &'a Layer) -> usize {
        // The same blob may be listed with another media type (Docker's, OCI's) elsewhere.
        let key = (&l.digest, l.size, l.media_type.as_str());
        if let Some(i) = self.index.get(&key) {
            return *i;
        }
        let media = l.media_type.as_str();
        let m = *self.media_index.entry(media).or_insert_with(|| {
            self.media_types.push(media);
            self.media_types.len() - 1
        });
        self.layers
            .push((l.digest.to_string(), l.size, m, crate::human::size(l.size)));
        self.index.insert(key, self.layers.len() - 1);
        self.layers.len() - 1
    }
}

/// The name serde writes for a unit variant (`repoDigest`, `config`).
fn serde_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn workload_name(w: &imagefacts_model::discovery::WorkloadRef) -> String {
    let place = match (&w.cluster, w.namespace.as_str()) {
        (Some(c), "") => format!("{c}: "),
        (Some(c), ns) => format!("{c}: {ns}/"),
        (None, "") => String::new(),
        (None, ns) => format!("{ns}/"),
    };
    format!("{} {place}{} ({})", w.kind, w.name, w.container)
}

fn detail<'a>(f: &'a ImageFacts, file: &FactsFile, layers: &mut LayerTable<'a>) -> Detail<'a> {
    let runs: Vec<(String, bool)> = platform_marks(f, &file.cluster_platforms);
    let runs_platform = |p: &imagefacts_model::Platform| {
        let name = p.to_string();
        runs.iter().any(|(r, yes)| *yes && *r == name)
    };
    let b = &f.build_info;
    let build_info = [
        ("source", b.source.as_deref()),
        ("revision", b.revision.as_deref()),
        ("version", b.version.as_deref()),
        ("created", b.created.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect();
    Detail {
        digest: f.digest.as_ref().map(ToString::to_string),
        manifest_digest: f.manifest_digest.as_ref().map(ToString::to_string),
        config_digest: f.config_digest.as_ref().map(ToString::to_string),
        tag_digest: f.tag_digest.as_ref().map(ToString::to_string),
        media_type: &f.media_type,
        created: f.created.as_deref(),
        platform: if f.platform.os.is_empty() {
            String::new()
        } else {
            f.platform.to_string()
        },
        platforms: f
            .platforms
            .iter()
            .map(|p| DetailPlatform {
                platform: p.platform.to_string(),
                runs: runs_platform(&p.platform),
                manifest_digest: p.manifest_digest.to_string(),
                size: crate::human::size(p.size),
                layers: p.layers.len(),
                primary: p.primary,
                not_fetched: p.not_fetched,
                error: p.error.get().map(|e| e.message.as_str()),
            })
            .collect(),
        layers: f.layers.iter().map(|l| layers.add(l)).collect(),
        layers_size: crate::human::size(f.layers.iter().map(|l| l.size).sum()),
        config: DetailConfig {
            user: &f.config.user,
            working_dir: &f.config.working_dir,
            entrypoint: &f.config.entrypoint,
            cmd: &f.config.cmd,
            env: &f.config.env,
            exposed_ports: f.config.exposed_ports.keys().map(String::as_str).collect(),
            volumes: f.config.volumes.keys().map(String::as_str).collect(),
        },
        labels: &f.labels,
        build_info,
        nodes: f
            .node_images
            .iter()
            .map(|n| {
                (
                    n.node.as_str(),
                    n.digest.as_ref().map(ToString::to_string),
                    n.size_bytes
                        .map_or_else(|| "-".to_owned(), crate::human::size),
                )
            })
            .collect(),
        pull_secrets: f
            .pull_secrets
            .iter()
            .map(|s| match &s.cluster {
                Some(c) => format!("{c}: {}/{}", s.namespace, s.name),
                None => format!("{}/{}", s.namespace, s.name),
            })
            .collect(),
        pull_failures: f
            .pull_failures
            .iter()
            .map(|p| {
                let mut s = format!("{}/{} ({}): {}", p.namespace, p.pod, p.container, p.reason);
                if !p.message.is_empty() {
                    s.push_str(": ");
                    s.push_str(&p.message);
                }
                s
            })
            .collect(),
        running_digests: f
            .running_digests
            .iter()
            .map(|r| {
                (
                    r.digest.to_string(),
                    serde_name(&r.kind),
                    r.pods.iter().map(String::as_str).collect(),
                )
            })
            .collect(),
        nearest_tags: &f.nearest_tags,
        source: f.source.as_str(),
        endpoint: f.endpoint.as_deref(),
        auth_source: f.auth_source.as_deref(),
        collected_at: imagefacts_model::text::rfc3339_seconds(f.collected_at),
        error: f.error.get().map(|e| DetailError {
            kind: e.kind.as_str(),
            message: &e.message,
            step: e.step.as_ref().map(serde_name),
            status: e.status,
            code: e.code.as_deref(),
            attempts: e.attempts,
            retryable: e.retryable,
            partial: f.partial,
        }),
    }
}

impl<'a> Data<'a> {
    fn new(file: &'a FactsFile, results: &'a [AnalysisResult], now: OffsetDateTime) -> Data<'a> {
        let mut layers = LayerTable::default();
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut namespaces: BTreeSet<&str> = BTreeSet::new();
        let page_rows: Vec<PageRow<'a>> = rows(file, now)
            .into_iter()
            .map(|row| {
                let f = &file.image_facts[row.index];
                *statuses.entry(row.status.clone()).or_default() += 1;
                let ns: BTreeSet<&str> = f
                    .workloads
                    .iter()
                    .map(|w| w.namespace.as_str())
                    .filter(|n| !n.is_empty())
                    .collect();
                namespaces.extend(&ns);
                PageRow {
                    size_bytes: row.size_bytes,
                    age_seconds: row.age_seconds,
                    row,
                    namespace_list: ns.into_iter().collect(),
                    cluster_list: &f.clusters,
                    platform_list: platform_marks(f, &file.cluster_platforms),
                    status_group: status_group(f),
                    workload_names: f.workloads.iter().map(workload_name).collect(),
                    detail: detail(f, file, &mut layers),
                }
            })
            .collect();
        let mut statuses: Vec<(String, usize)> = statuses.into_iter().collect();
        statuses.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

        let shown: Vec<&AnalysisResult> = results
            .iter()
            .filter(|r| r.severity != Severity::Debug)
            .collect();
        let mut by_severity: BTreeMap<Severity, usize> = BTreeMap::new();
        for r in &shown {
            *by_severity.entry(r.severity).or_default() += 1;
        }
        let var = |r: &'a AnalysisResult, k: &str| r.variables.get(k).and_then(|v| v.as_str());
        let insights = shown
            .iter()
            .map(|r| PageInsight {
                severity: r.severity.as_str(),
                title: &r.insight.primary,
                detail: &r.insight.detail,
                hint: var(r, "hint"),
                image: var(r, "image"),
                workload: var(r, "workload").map(str::to_owned).or_else(|| {
                    r.involved_object.as_ref().map(|o| {
                        if o.namespace.is_empty() {
                            format!("{} {}", o.kind, o.name)
                        } else {
                            format!("{} {}/{}", o.kind, o.namespace, o.name)
                        }
                    })
                }),
                name: &r.name,
            })
            .collect();

        let s = &file.summary;
        let mut largest: Vec<&PageRow<'_>> =
            page_rows.iter().filter(|r| r.size_bytes > 0).collect();
        largest.sort_by_key(|r| std::cmp::Reverse(r.size_bytes));
        let charts = Charts {
            errors_by_kind: s
                .errors_by_kind
                .iter()
                .map(|(k, n)| (k.as_str().to_owned(), *n as u64, n.to_string()))
                .collect(),
            largest: largest
                .iter()
                .take(10)
                .map(|r| {
                    let label = if r.row.tag == "-" {
                        r.row.image.clone()
                    } else {
                        format!("{}:{}", r.row.image, r.row.tag)
                    };
                    (label, r.size_bytes, r.row.size.clone())
                })
                .collect(),
        };
        let summary = PageSummary {
            generated_at: imagefacts_model::text::rfc3339_seconds(file.generated_at),
            now: imagefacts_model::text::rfc3339_seconds(now),
            version: &file.version,
            tool: env!("CARGO_PKG_VERSION"),
            namespace: file.namespace.as_deref(),
            clusters: &file.clusters,
            cluster_platforms: file
                .cluster_platforms
                .iter()
                .map(ToString::to_string)
                .collect(),
            images: s.total_images,
            registries: s.unique_registries,
            repositories: s.unique_repositories,
            total_size: crate::human::size(s.total_size),
            errors: s.collection_errors,
            errors_by_kind: s
                .errors_by_kind
                .iter()
                .map(|(k, n)| (k.as_str(), *n))
                .collect(),
            from_cache: s.from_cache,
            redactions: s.redactions,
            discovery_errors: file.discovery_errors.len(),
            insights: by_severity
                .into_iter()
                .map(|(k, n)| (k.as_str(), n))
                .collect(),
        };
        Data {
            summary,
            insights,
            charts,
            layers: layers.layers,
            media_types: layers.media_types,
            rows: page_rows,
            statuses,
            namespaces: namespaces.into_iter().collect(),
            discovery_errors: file
                .discovery_errors
                .iter()
                .map(crate::discover::discovery_error_line)
                .collect(),
            fleet: file.clusters.len() > 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_and_stylesheet_cannot_end_their_elements() {
        assert!(!SCRIPT.to_ascii_lowercase().contains("</script"));
        // The browser hashes the text with line ends as LF; a CRLF checkout would blank the page.
        assert!(!SCRIPT.contains('\r') && !STYLE.contains('\r'));
        assert!(!STYLE.to_ascii_lowercase().contains("</style"));
        // The script inserts text only.
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!SCRIPT.contains(banned), "the page script uses {banned}");
        }
    }

    #[test]
    fn the_data_inflates_to_the_facts_json_of_the_page() {
        use std::io::Read as _;
        let mut file = FactsFile::new(OffsetDateTime::UNIX_EPOCH, Vec::new());
        file.clusters = vec!["</script><script>alert(1)</script>".to_owned()];
        let page = page(&file, &[], OffsetDateTime::UNIX_EPOCH);
        let start = page.find("data-encoding=\"gzip+base64\">").unwrap() + 28;
        let end = start + page[start..].find("</script>").unwrap();
        let gz = base64::engine::general_purpose::STANDARD
            .decode(&page[start..end])
            .unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut json)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v["summary"]["clusters"][0],
            "</script><script>alert(1)</script>"
        );
        // The title is escaped text.
        assert!(page.contains("<title>imagefacts report: &lt;/script&gt;&lt;script&gt;"));
        assert_eq!(page.matches("<script").count(), 2);
    }
}
