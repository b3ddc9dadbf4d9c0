//! `imagefacts merge FILE...`: the facts of several clusters in one facts.json.

use std::path::Path;

use time::OffsetDateTime;

use crate::Outcome;
use crate::args::MergeArgs;
use crate::inspect::write_facts;

/// The cluster a file stands for when it names none: its file name without `.json`, `.tar.gz`,
/// `.tgz` or `.tar`, and without a `-facts` ending (`prod-eu-facts.json` → `prod-eu`); a bare
/// `facts.json` is named by its directory.
fn cluster_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = file.as_str();
    for ext in [".json", ".tar.gz", ".tgz", ".tar"] {
        if let Some(stem) = name.strip_suffix(ext) {
            name = stem;
            break;
        }
    }
    let name = name.strip_suffix("-facts").unwrap_or(name);
    if name == "facts" || name.is_empty() {
        let parent = path.canonicalize().ok().and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|d| d.to_string_lossy().into_owned())
        });
        return parent.unwrap_or_else(|| file.clone());
    }
    name.to_owned()
}

pub(crate) fn run(args: MergeArgs) -> anyhow::Result<Outcome> {
    let files = args
        .inputs
        .iter()
        .map(|p| Ok((cluster_name(p), crate::report::load(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        anyhow::bail!(
            "two files stand for the cluster {:?}: give each cluster's facts a file name of its own",
            w[0]
        );
    }
    let merged = imagefacts_model::fleet::merge_facts_files(files, OffsetDateTime::now_utc());
    write_facts(&merged, args.output.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_from_file_names() {
        assert_eq!(cluster_name(Path::new("prod-eu-facts.json")), "prod-eu");
        assert_eq!(cluster_name(Path::new("/x/us.json")), "us");
        assert_eq!(
            cluster_name(Path::new("support-bundle-2026.tar.gz")),
            "support-bundle-2026"
        );
    }
}
