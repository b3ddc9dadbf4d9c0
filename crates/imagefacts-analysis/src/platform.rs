//! Platform mismatch: an image lacking a platform that a node running (or scheduled to run) its
//! pods has. Images whose pods fail to pull are left to the pull-failure analyzer.

use imagefacts_model::facts::FactsFile;

use crate::image_finding;
use crate::pull::{lacks_node_platform, offered};
use crate::result::{Finding, Severity};

pub(crate) fn analyze(file: &FactsFile) -> Vec<Finding> {
    file.image_facts
        .iter()
        .filter(|f| f.pull_failures.is_empty() && f.error.get().is_none())
        .filter(|f| lacks_node_platform(f))
        .map(|f| {
            let nodes: Vec<String> = f.node_platforms.iter().map(ToString::to_string).collect();
            image_finding(
                f,
                "platformMismatch",
                "missingPlatform",
                Severity::Warn,
                "Platform mismatch: the image lacks a platform its nodes run".into(),
                format!(
                    "{} offers {} but its pods' nodes run {}.",
                    f.reference,
                    offered(f),
                    nodes.join(", ")
                ),
                "publish the image for every node platform (a multi-platform index), or pin the workload to nodes it runs on with a nodeSelector".into(),
            )
        })
        .collect()
}
