//! `imagefacts report FILE|BUNDLE`: facts.json as a table a support engineer reads first.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::Context as _;
use imagefacts_model::facts::{FactsFile, FactsSource, ImageFacts};
use imagefacts_model::{Digest, Platform};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Outcome;
use crate::args::{ReportArgs, ReportFormat};
use crate::output::write_output;

/// One row of the report (the terminal table's, the JSON rows' and the HTML page's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row {
    /// The entry of `imageFacts` the row shows.
    #[serde(skip)]
    pub(crate) index: usize,
    /// The size in bytes (what SIZE shows).
    #[serde(skip)]
    pub(crate) size_bytes: u64,
    /// Seconds since the image was built (what AGE shows), when known.
    #[serde(skip)]
    pub(crate) age_seconds: Option<i64>,
    /// The clusters that run it (shown when the file covers several).
    pub(crate) clusters: String,
    pub(crate) namespace: String,
    pub(crate) image: String,
    pub(crate) tag: String,
    pub(crate) digest: String,
    pub(crate) platforms: String,
    pub(crate) size: String,
    pub(crate) age: String,
    pub(crate) workloads: usize,
    pub(crate) drift: String,
    pub(crate) status: String,
    // --wide
    pub(crate) reference: String,
    pub(crate) namespaces: String,
    pub(crate) manifest_digest: String,
    pub(crate) config_digest: String,
    pub(crate) created: String,
    pub(crate) error: String,
}

/// `docker.io/library/nginx` → `nginx`, `docker.io/user/app` → `user/app`.
fn image_name(f: &ImageFacts) -> String {
    if f.registry.is_empty() {
        return f.reference.to_string();
    }
    match (f.registry.as_str(), f.repository.strip_prefix("library/")) {
        ("docker.io", Some(short)) if !short.contains('/') => short.to_owned(),
        ("docker.io", _) => f.repository.clone(),
        _ => format!("{}/{}", f.registry, f.repository),
    }
}

fn short(d: Option<&imagefacts_model::Digest>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| d.short().to_owned())
}

/// Seconds from `created` to `now`, when `created` is an RFC 3339 time not after `now`.
fn age_seconds(created: Option<&str>, now: OffsetDateTime) -> Option<i64> {
    let t = created.and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok())?;
    Some((now - t).whole_seconds()).filter(|s| *s >= 0)
}

/// Age like kubectl prints it: `45s`, `12m`, `5h`, `30d`, `2y`.
fn age(created: Option<&str>, now: OffsetDateTime) -> String {
    let Some(secs) = age_seconds(created, now) else {
        return "-".to_owned();
    };
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h", s / 3600),
        s if s < 2 * 365 * 86_400 => format!("{}d", s / 86_400),
        s => format!("{}y", s / (365 * 86_400)),
    }
}

/// The image's platforms, each with whether the cluster runs it (the nodes its pods run on,
/// else every node of the cluster).
pub(crate) fn platform_marks(f: &ImageFacts, cluster: &[Platform]) -> Vec<(String, bool)> {
    let runs: &[Platform] = if f.node_platforms.is_empty() {
        cluster
    } else {
        &f.node_platforms
    };
    let mark = |p: &Platform| (p.to_string(), runs.iter().any(|r| p.matches(r)));
    if f.platforms.is_empty() {
        if f.platform.os.is_empty() {
            return Vec::new();
        }
        return vec![mark(&f.platform)];
    }
    f.platforms.iter().map(|p| mark(&p.platform)).collect()
}

/// The image's platforms, the ones the cluster runs marked with `*`.
fn platforms(f: &ImageFacts, cluster: &[Platform]) -> String {
    let marks = platform_marks(f, cluster);
    if marks.is_empty() {
        return "-".to_owned();
    }
    marks
        .into_iter()
        .map(|(p, runs)| if runs { format!("{p}*") } else { p })
        .collect::<Vec<_>>()
        .join(",")
}

/// `yes`, `no` or `-`: whether the tag now names another digest than the one that runs.
pub(crate) fn drift(f: &ImageFacts) -> String {
    if let Some(d) = f.tag_drift {
        return if d { "yes" } else { "no" }.to_owned();
    }
    let Some(digest) = &f.digest else {
        return "-".to_owned();
    };
    let repo_digests: Vec<&Digest> = f
        .running_digests
        .iter()
        .filter(|r| r.kind == imagefacts_model::discovery::RunningDigestKind::RepoDigest)
        .map(|r| &r.digest)
        .collect();
    match repo_digests.is_empty() {
        true => "-".to_owned(),
        false if repo_digests.iter().all(|d| *d == digest) => "no".to_owned(),
        false => "yes".to_owned(),
    }
}

/// `ok`, `cache`, an error kind, or `partial:<kind>`.
pub(crate) fn status(f: &ImageFacts) -> String {
    match (f.error.get(), status_group(f)) {
        (Some(e), "partial") => format!("partial:{}", e.kind.as_str()),
        (Some(e), _) => e.kind.as_str().to_owned(),
        (None, group) => group.to_owned(),
    }
}

/// What [`status`] says, in four: `ok`, `cache`, `partial` or `error`.
pub(crate) fn status_group(f: &ImageFacts) -> &'static str {
    match (f.error.get(), f.partial, f.source) {
        (Some(_), true, _) => "partial",
        (Some(_), false, _) => "error",
        (None, _, FactsSource::Cache) => "cache",
        (None, _, _) => "ok",
    }
}

/// The rows, sorted by namespace (entries without one last), image, tag and clusters.
pub(crate) fn rows(file: &FactsFile, now: OffsetDateTime) -> Vec<Row> {
    let mut rows: Vec<Row> = file
        .image_facts
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let namespaces: BTreeSet<&str> =
                f.workloads.iter().map(|w| w.namespace.as_str()).collect();
            Row {
                index,
                size_bytes: f.size,
                age_seconds: age_seconds(f.created.as_deref(), now),
                clusters: if f.clusters.is_empty() {
                    "-".to_owned()
                } else {
                    f.clusters.join(",")
                },
                namespace: namespaces.iter().next().map_or("-", |n| *n).to_owned(),
                image: image_name(f),
                tag: if f.tag.is_empty() {
                    "-".to_owned()
                } else {
                    f.tag.clone()
                },
                digest: short(f.digest.as_ref()),
                platforms: platforms(f, &file.cluster_platforms),
                size: crate::human::size(f.size),
                age: age(f.created.as_deref(), now),
                workloads: f.workloads.len(),
                drift: drift(f),
                status: status(f),
                reference: f.reference.to_string(),
                namespaces: if namespaces.is_empty() {
                    "-".to_owned()
                } else {
                    namespaces.into_iter().collect::<Vec<_>>().join(",")
                },
                manifest_digest: short(f.manifest_digest.as_ref()),
                config_digest: short(f.config_digest.as_ref()),
                created: f.created.clone().unwrap_or_else(|| "-".to_owned()),
                error: f
                    .error
                    .get()
                    .map_or_else(|| "-".to_owned(), |e| e.message.clone()),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            a.namespace == "-",
            &a.namespace,
            &a.image,
            &a.tag,
            &a.clusters,
        )
            .cmp(&(
                b.namespace == "-",
                &b.namespace,
                &b.image,
                &b.tag,
                &b.clusters,
            ))
    });
    rows
}

/// ANSI colour for a status, when colour is on.
fn paint(text: &str, status: &str, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match status {
        "ok" | "no" => "32",
        "cache" | "yes" => "33",
        s if s.starts_with("partial") => "33",
        "-" => return text.to_owned(),
        _ => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The report as an aligned table.
fn render(file: &FactsFile, now: OffsetDateTime, wide: bool, color: bool) -> String {
    let mut header = vec![
        "NAMESPACE",
        "IMAGE",
        "TAG",
        "DIGEST",
        "PLATFORMS",
        "SIZE",
        "AGE",
        "WORKLOADS",
        "DRIFT",
        "STATUS",
    ];
    // A file of several clusters (a fleet run or `merge`) says which runs each image.
    let fleet = file.clusters.len() > 1;
    if fleet {
        header.insert(0, "CLUSTERS");
    }
    if wide {
        header.extend([
            "NAMESPACES",
            "MANIFEST",
            "CONFIG",
            "CREATED",
            "REFERENCE",
            "ERROR",
        ]);
    }
    let table: Vec<Vec<String>> = rows(file, now)
        .into_iter()
        .map(|r| {
            let mut cells = vec![
                r.namespace,
                r.image,
                r.tag,
                r.digest,
                r.platforms,
                r.size,
                r.age,
                r.workloads.to_string(),
                r.drift,
                r.status,
            ];
            if fleet {
                cells.insert(0, r.clusters);
            }
            if wide {
                cells.extend([
                    r.namespaces,
                    r.manifest_digest,
                    r.config_digest,
                    imagefacts_model::text::rfc3339_text_seconds(&r.created).into_owned(),
                    r.reference,
                    r.error,
                ]);
            }
            // Every cell comes from a bundle or a registry: control characters are escaped.
            cells
                .into_iter()
                .map(|c| imagefacts_model::text::printable(&c).into_owned())
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &table {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    // DRIFT and STATUS are coloured.
    let (drift_col, status_col) = if fleet { (9, 10) } else { (8, 9) };
    let line = |cells: Vec<String>, color_cols: bool| {
        let last = cells.len() - 1;
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - c.chars().count();
            let text = if color_cols && (i == drift_col || i == status_col) {
                paint(c, c, color)
            } else {
                c.clone()
            };
            out.push_str(&text);
            if i != last {
                out.push_str(&" ".repeat(pad + 3));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect(), false);
    for row in table {
        out.push_str(&line(row, true));
    }
    let s = &file.summary;
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    out.push_str(&format!(
        "\n{}, {}, {}, {} in total; {}{}{}\n",
        n(s.total_images, "image", "images"),
        n(s.unique_registries, "registry", "registries"),
        n(s.unique_repositories, "repository", "repositories"),
        crate::human::size(s.total_size),
        n(s.collection_errors, "error", "errors"),
        if s.from_cache > 0 {
            format!(", {} from cache", s.from_cache)
        } else {
            String::new()
        },
        if file.discovery_errors.is_empty() {
            String::new()
        } else {
            format!(
                ", {}",
                n(
                    file.discovery_errors.len(),
                    "discovery error",
                    "discovery errors"
                )
            )
        },
    ));
    out
}

/// Reads facts.json from a file, or `image-facts/facts.json` from a support bundle.
pub(crate) fn load(path: &Path) -> anyhow::Result<FactsFile> {
    let bytes = crate::bundle::read_facts_bytes(path)?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} does not hold a facts.json v1", path.display()))
}

/// What `-o` and `--html` ask for: the format, and the file for the page.
fn destination(args: &ReportArgs) -> anyhow::Result<(ReportFormat, Option<&Path>)> {
    use clap::ValueEnum as _;
    if args.html {
        return Ok((ReportFormat::Html, args.output.as_deref().map(Path::new)));
    }
    let Some(value) = args.output.as_deref() else {
        return Ok((ReportFormat::Table, None));
    };
    match ReportFormat::from_str(value, false) {
        Ok(format) => Ok((format, None)),
        Err(_) => anyhow::bail!(
            "invalid value {value:?} for '--output <FORMAT|FILE>': expected table, json or html\n\
             hint: to write the page to a file, say `imagefacts report --html -o {value} ...`"
        ),
    }
}

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    let (format, path) = destination(&args)?;
    let file = load(&args.input)?;
    let now = crate::analyze::now(args.now);
    let analysis =
        || imagefacts_analysis::analyze(&file, &crate::analyze::options(&args.analysis, now));
    let out = match format {
        ReportFormat::Table => {
            let color = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            // The insights first, worst first; then the table.
            let results = analysis();
            let mut out = String::new();
            if results
                .iter()
                .any(|r| r.severity != imagefacts_analysis::Severity::Debug)
            {
                out.push_str("Insights\n");
                out.push_str(&crate::analyze::text(&results, false));
                out.push('\n');
            }
            out.push_str(&render(&file, now, args.wide, color));
            out
        }
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&rows(&file, now))?;
            s.push('\n');
            s
        }
        ReportFormat::Html => crate::html::page(&file, &analysis(), now),
    };
    write_output(path, out.as_bytes())?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        let now = OffsetDateTime::parse("2026-11-28T00:00:00Z", &Rfc3339).unwrap();
        assert_eq!(age(Some("2026-11-27T23:59:30Z"), now), "30s");
        assert_eq!(age(Some("2026-11-27T23:00:00Z"), now), "60m");
        assert_eq!(age(Some("2026-11-27T00:00:00Z"), now), "24h");
        assert_eq!(age(Some("2026-10-29T00:00:00Z"), now), "30d");
        assert_eq!(age(Some("2020-11-28T00:00:00Z"), now), "6y");
        assert_eq!(age(None, now), "-");
        assert_eq!(age(Some("yesterday"), now), "-");
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(paint("ok", "ok", false), "ok");
        assert_eq!(
            paint("notFound", "notFound", true),
            "\x1b[31mnotFound\x1b[0m"
        );
    }
}
