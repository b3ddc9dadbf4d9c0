//! Tag drift: the digest that runs is not what the tag resolves to now, or one tag runs as
//! different digests on different nodes.

use std::collections::BTreeSet;

use imagefacts_model::discovery::RunningDigestKind;
use imagefacts_model::facts::FactsFile;

use crate::image_finding;
use crate::result::{Finding, Severity};

pub(crate) fn analyze(file: &FactsFile) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &file.image_facts {
        let running: BTreeSet<_> = f
            .running_digests
            .iter()
            .filter(|r| r.kind == RunningDigestKind::RepoDigest)
            .map(|r| &r.digest)
            .collect();
        if f.tag_drift == Some(true) {
            let now = f.tag_digest.as_ref().map_or("-", |d| d.short());
            let runs: Vec<&str> = running.iter().map(|d| d.short()).collect();
            out.push(image_finding(
                f,
                "tagDrift",
                "tagMoved",
                Severity::Warn,
                "Tag drift: the running image is not what the tag names now".into(),
                format!(
                    "{} runs {} but the tag {} now resolves to {now}.",
                    f.reference,
                    if runs.is_empty() { "-".to_owned() } else { runs.join(", ") },
                    f.tag
                ),
                "pin the workload to a digest, or roll it out again so every pod runs the same build".into(),
            ));
        }
        let node_digests: BTreeSet<_> = f
            .node_images
            .iter()
            .filter_map(|n| n.digest.as_ref())
            .collect();
        if running.len() > 1 || f.node_digests_differ {
            let digests: BTreeSet<&str> = running
                .iter()
                .chain(node_digests.iter())
                .map(|d| d.short())
                .collect();
            out.push(image_finding(
                f,
                "tagDrift",
                "digestsDiffer",
                Severity::Warn,
                "Tag drift: one tag runs as different builds".into(),
                format!(
                    "{} runs as {} different digests across pods and nodes ({}).",
                    f.reference,
                    digests.len(),
                    digests.into_iter().collect::<Vec<_>>().join(", ")
                ),
                "pin the workload to a digest (`image@sha256:…`) so every node runs the same build"
                    .into(),
            ));
        }
    }
    out
}
