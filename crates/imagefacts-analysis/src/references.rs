//! Mutable and stale references: `:latest` or no tag, references without a digest in production
//! namespaces, images built longer ago than `--stale-after`.

use imagefacts_model::facts::FactsFile;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::result::{Finding, Severity};
use crate::{Options, glob, image_finding};

pub(crate) fn analyze(file: &FactsFile, options: &Options) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &file.image_facts {
        let Ok(reference) = f.reference.reference() else {
            continue;
        };
        let pinned = reference.digest().is_some();
        let spelled = f.reference.as_str();
        let untagged = !pinned && !spelled.rsplit('/').next().unwrap_or("").contains(':');
        if !pinned && (f.tag == "latest" || untagged) {
            out.push(image_finding(
                f,
                "references",
                "mutableTag",
                Severity::Warn,
                "Mutable reference: :latest".into(),
                format!(
                    "{spelled} names {}: what runs changes whenever the tag is pushed, and nodes may run different builds.",
                    if untagged { "no tag (so :latest)" } else { ":latest" }
                ),
                "use a versioned tag, or a digest".into(),
            ));
        } else if !pinned {
            let production: Vec<&str> = f
                .workloads
                .iter()
                .map(|w| w.namespace.as_str())
                .filter(|ns| options.production_namespaces.iter().any(|p| glob(p, ns)))
                .collect();
            if let Some(ns) = production.first() {
                out.push(image_finding(
                    f,
                    "references",
                    "noDigestInProduction",
                    Severity::Info,
                    "Reference without a digest in a production namespace".into(),
                    format!("{spelled} runs in {ns} by tag only; the tag can be moved under it."),
                    "pin production workloads by digest (`image:tag@sha256:…`)".into(),
                ));
            }
        }
        let created = f
            .created
            .as_deref()
            .and_then(|c| OffsetDateTime::parse(c, &Rfc3339).ok());
        if let Some(created) = created {
            let age = options.now - created;
            if age > time::Duration::try_from(options.stale_after).unwrap_or(time::Duration::MAX) {
                out.push(image_finding(
                    f,
                    "references",
                    "stale",
                    Severity::Info,
                    "Stale image".into(),
                    format!(
                        "{spelled} was built {} days ago ({}), longer ago than {} days.",
                        age.whole_days(),
                        imagefacts_model::text::rfc3339_seconds(created),
                        options.stale_after.as_secs() / 86_400
                    ),
                    "rebuild it on a current base image to pick up security fixes".into(),
                ));
            }
        }
    }
    out
}
