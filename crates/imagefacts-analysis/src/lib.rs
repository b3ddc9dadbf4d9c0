//! Insights over image facts: why a pod cannot pull its image, what drifted, what runs on the
//! wrong platform, which references are mutable or stale, what the supply chain shows. Each is
//! a troubleshoot `analysis.json` entry ([`AnalysisResult`]) naming the workload, the evidence
//! and what to do next.
//!
//! Pure: it reads a [`FactsFile`] (which carries the cluster's usage: pull failures, pull
//! secrets, running digests, node platforms) and makes no request.
//!
//! ```
//! use imagefacts_analysis::{Options, analyze};
//! use imagefacts_model::facts::FactsFile;
//!
//! let file = FactsFile::new(time::OffsetDateTime::UNIX_EPOCH, Vec::new());
//! assert!(analyze(&file, &Options::default()).iter().all(|r| r.severity.as_str() == "debug"));
//! ```

mod drift;
mod platform;
mod pull;
mod references;
mod result;
mod supply;

use std::time::Duration;

use imagefacts_model::discovery::WorkloadRef;
use imagefacts_model::facts::{FactsFile, ImageFacts};
use time::OffsetDateTime;

use result::Finding;
pub use result::{AnalysisResult, Insight, ObjectRef, Severity};

/// Default `--stale-after`: images built more than a year ago.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(365 * 24 * 3600);

/// Default production namespace patterns (`*` matches any run of characters).
pub const DEFAULT_PRODUCTION_NAMESPACES: [&str; 4] = ["prod", "production", "prod-*", "*-prod"];

/// How the analyzers judge.
#[derive(Debug, Clone)]
pub struct Options {
    /// "Now", for ages.
    pub now: OffsetDateTime,
    /// An image built longer ago than this is stale.
    pub stale_after: Duration,
    /// Namespaces (glob patterns) where a reference without a digest is worth an insight.
    pub production_namespaces: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            now: OffsetDateTime::now_utc(),
            stale_after: DEFAULT_STALE_AFTER,
            production_namespaces: DEFAULT_PRODUCTION_NAMESPACES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

/// Every analyzer's results over `file`, worst first (then by name and object). An analyzer
/// that finds nothing says so with one `debug` result (a pass), as troubleshoot does.
pub fn analyze(file: &FactsFile, options: &Options) -> Vec<AnalysisResult> {
    let analyzers: [(&'static str, &'static str, Vec<Finding>); 5] = [
        (
            "pullFailure",
            "no pod fails to pull its image",
            pull::analyze(file),
        ),
        ("tagDrift", "no tag has drifted", drift::analyze(file)),
        (
            "platformMismatch",
            "every image has its nodes' platforms",
            platform::analyze(file),
        ),
        (
            "references",
            "no mutable or stale reference",
            references::analyze(file, options),
        ),
        (
            "supplyChain",
            "supply chain: nothing to report",
            supply::analyze(file),
        ),
    ];
    let mut out: Vec<AnalysisResult> = Vec::new();
    for (analyzer, pass, findings) in analyzers {
        if findings.is_empty() {
            out.push(
                Finding {
                    analyzer,
                    cause: "pass",
                    severity: Severity::Debug,
                    primary: pass.to_owned(),
                    detail: format!("{} images checked.", file.image_facts.len()),
                    hint: String::new(),
                    image: String::new(),
                    workload: None,
                    object: None,
                    variables: Default::default(),
                }
                .into_result(),
            );
        }
        out.extend(findings.into_iter().map(Finding::into_result));
    }
    out.sort_by(|a, b| {
        (a.severity, &a.name, &a.involved_object).cmp(&(b.severity, &b.name, &b.involved_object))
    });
    out
}

/// `Kind namespace/name` of a workload.
fn workload_name(w: &WorkloadRef) -> String {
    format!("{} {}/{}", w.kind, w.namespace, w.name)
}

/// The object reference of a workload.
fn workload_object(w: &WorkloadRef) -> ObjectRef {
    let api_version = match w.kind.as_str() {
        "Pod" | "ReplicationController" => "v1",
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        _ => "",
    };
    ObjectRef {
        kind: w.kind.clone(),
        namespace: w.namespace.clone(),
        name: w.name.clone(),
        api_version: api_version.to_owned(),
    }
}

/// The workload a pod belongs to: the one naming it, else the first of its namespace.
fn workload_of<'a>(f: &'a ImageFacts, namespace: &str, pod: &str) -> Option<&'a WorkloadRef> {
    f.workloads
        .iter()
        .find(|w| w.namespace == namespace && w.pods.iter().any(|p| p == pod))
        .or_else(|| f.workloads.iter().find(|w| w.namespace == namespace))
}

/// The first workload of an image, for insights about the image as a whole.
fn first_workload(f: &ImageFacts) -> Option<&WorkloadRef> {
    f.workloads.first()
}

/// Whether `name` matches the glob `pattern` (`*` matches any run of characters).
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            if !tail.contains('*') {
                return rest.len() >= tail.len() && rest.ends_with(tail);
            }
            (0..=rest.len()).any(|i| rest.is_char_boundary(i) && glob(tail, &rest[i..]))
        }
    }
}

/// A finding about an image as a whole (its first workload named).
fn image_finding(
    f: &ImageFacts,
    analyzer: &'static str,
    cause: &'static str,
    severity: Severity,
    primary: String,
    detail: String,
    hint: String,
) -> Finding {
    let w = first_workload(f);
    Finding {
        analyzer,
        cause,
        severity,
        primary,
        detail,
        hint,
        image: f.reference.to_string(),
        workload: w.map(workload_name),
        object: w.map(workload_object),
        variables: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("prod", "prod"));
        assert!(!glob("prod", "prod2"));
        assert!(glob("prod-*", "prod-eu"));
        assert!(glob("*-prod", "shop-prod"));
        assert!(!glob("*-prod", "shop-production"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "axxbyyc"));
    }
}
