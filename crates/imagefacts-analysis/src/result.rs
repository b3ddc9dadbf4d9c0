//! troubleshoot's `analysis.json` entry (`pkg/convert` `Result`), which imagefacts writes as
//! `image-facts/analysis.json` so tools reading a bundle's analysis read ours alike.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How bad an insight is, with the values troubleshoot writes: `error` for a failure, `warn`,
/// `info`, and `debug` for a pass. Ordered worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something fails.
    Error,
    /// Something is at risk.
    Warn,
    /// Worth knowing.
    Info,
    /// A check that passed.
    Debug,
}

impl Severity {
    /// The word troubleshoot writes.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warn => "warn",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }
}

/// The human part of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insight {
    /// Same as the result's name.
    pub name: String,
    /// Labels (`iconKey`, and imagefacts' `analyzer` and `cause`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The title: what the insight is about.
    pub primary: String,
    /// One line: the finding, its evidence and what to do next.
    pub detail: String,
    /// How bad it is.
    pub severity: Severity,
}

/// The Kubernetes object an insight is about (`corev1.ObjectReference`'s fields that apply).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `Pod`, `Deployment`, ...
    pub kind: String,
    /// Its namespace.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `v1`, `apps/v1`, ...
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
}

/// One entry of `analysis.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisResult {
    /// A dotted lower-case name, e.g. `imagefacts.pull.failure.tag.not.found`.
    pub name: String,
    /// Labels, as the insight's.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The human part.
    pub insight: Insight,
    /// How bad it is (the insight's severity).
    pub severity: Severity,
    /// The analyzer's spec; imagefacts' analyzers are built in: `imagefacts/<analyzer>`.
    pub analyzer_spec: String,
    /// Machine-readable evidence: `image`, `workload`, `cause`, `hint`, and per analyzer more.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, serde_json::Value>,
    /// The failure's message, for `error` results (as troubleshoot sets it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// The object it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub involved_object: Option<ObjectRef>,
}

/// What an analyzer found, before it is shaped as a result.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    /// The analyzer (`pullFailure`, `tagDrift`, ...).
    pub(crate) analyzer: &'static str,
    /// What was found (`tagNotFound`, `runningDigestDiffers`, ...).
    pub(crate) cause: &'static str,
    pub(crate) severity: Severity,
    /// The title.
    pub(crate) primary: String,
    /// The finding and its evidence, one line.
    pub(crate) detail: String,
    /// What to do next.
    pub(crate) hint: String,
    /// The image reference as written.
    pub(crate) image: String,
    /// `Kind namespace/name` of the workload.
    pub(crate) workload: Option<String>,
    pub(crate) object: Option<ObjectRef>,
    /// More evidence.
    pub(crate) variables: BTreeMap<String, serde_json::Value>,
}

/// `tagNotFound` → `tag.not.found`.
fn dotted(camel: &str) -> String {
    let mut out = String::new();
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('.');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Finding {
    pub(crate) fn into_result(self) -> AnalysisResult {
        let name = format!(
            "imagefacts.{}.{}",
            dotted(self.analyzer),
            dotted(self.cause)
        );
        let labels = BTreeMap::from([
            ("analyzer".to_owned(), self.analyzer.to_owned()),
            ("cause".to_owned(), self.cause.to_owned()),
            ("desiredPosition".to_owned(), "1".to_owned()),
            ("iconKey".to_owned(), "kubernetes_image".to_owned()),
        ]);
        let detail = if self.hint.is_empty() {
            self.detail
        } else {
            format!("{} Hint: {}", self.detail, self.hint)
        };
        let mut variables = self.variables;
        variables.insert("image".into(), self.image.into());
        variables.insert("cause".into(), self.cause.into());
        if !self.hint.is_empty() {
            variables.insert("hint".into(), self.hint.into());
        }
        if let Some(w) = self.workload {
            variables.insert("workload".into(), w.into());
        }
        AnalysisResult {
            insight: Insight {
                name: name.clone(),
                labels: labels.clone(),
                primary: self.primary,
                detail: detail.clone(),
                severity: self.severity,
            },
            name,
            labels,
            severity: self.severity,
            analyzer_spec: format!("imagefacts/{}", self.analyzer),
            variables,
            error: if self.severity == Severity::Error {
                detail
            } else {
                String::new()
            },
            involved_object: self.object,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dotted() {
        assert_eq!(dotted("pullFailure"), "pull.failure");
        assert_eq!(dotted("tagNotFound"), "tag.not.found");
        assert!(Severity::Error < Severity::Warn && Severity::Info < Severity::Debug);
    }
}
