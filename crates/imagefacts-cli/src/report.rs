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

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    /// The clusters that run it (shown when the file covers several).
    clusters: String,
    namespace: String,
    image: String,
    tag: String,
    digest: String,
    platforms: String,
    size: String,
    age: String,
    workloads: usize,
    drift: String,
    status: String,
    // --wide
    reference: String,
    namespaces: String,
    manifest_digest: String,
    config_digest: String,
    created: String,
    error: String,
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

/// Age like kubectl prints it: `45s`, `12m`, `5h`, `30d`, `2y`.
fn age(created: Option<&str>, now: OffsetDateTime) -> String {
    let Some(t) = created.and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok()) else {
        return "-".to_owned();
    };
    let secs = (now - t).whole_seconds();
    match secs {
        s if s < 0 => "-".to_owned(),
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h", s / 3600),
        s if s < 2 * 365 * 86_400 => format!("{}d", s / 86_400),
        s => format!("{}y", s / (365 * 86_400)),
    }
}

/// The image's platforms, the ones the cluster runs marked with `*`.
fn platforms(f: &ImageFacts, cluster: &[Platform]) -> String {
    let runs: &[Platform] = if f.node_platforms.is_empty() {
        cluster
    } else {
        &f.node_platforms
    };
    let mark = |p: &Platform| {
        if runs.iter().any(|r| p.matches(r)) {
            format!("{p}*")
        } else {
            p.to_string()
        }
    };
    if f.platforms.is_empty() {
        if f.platform.os.is_empty() {
            return "-".to_owned();
        }
        return mark(&f.platform);
    }
    f.platforms
        .iter()
        .map(|p| mark(&p.platform))
        .collect::<Vec<_>>()
        .join(",")
}

fn drift(f: &ImageFacts) -> String {
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

fn status(f: &ImageFacts) -> String {
    match (f.error.get(), f.partial, f.source) {
        (Some(e), true, _) => format!("partial:{}", e.kind.as_str()),
        (Some(e), false, _) => e.kind.as_str().to_owned(),
        (None, _, FactsSource::Cache) => "cache".to_owned(),
        (None, _, _) => "ok".to_owned(),
    }
}

fn rows(file: &FactsFile, now: OffsetDateTime) -> Vec<Row> {
    let mut rows: Vec<Row> = file
        .image_facts
        .iter()
        .map(|f| {
            let namespaces: BTreeSet<&str> =
                f.workloads.iter().map(|w| w.namespace.as_str()).collect();
            Row {
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

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    let file = load(&args.input)?;
    let now = crate::analyze::now(args.now);
    let out = match args.format {
        ReportFormat::Table => {
            let color = std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            // The insights first, worst first; then the table.
            let results =
                imagefacts_analysis::analyze(&file, &crate::analyze::options(&args.analysis, now));
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
    };
    write_output(None, out.as_bytes())?;
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
