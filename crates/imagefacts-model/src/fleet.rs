//! Several clusters in one view: the discoveries of several kubeconfig contexts joined before
//! their images are collected once, and the facts files of several clusters merged
//! (`imagefacts merge`). Everything a cluster contributes is tagged with its name (the context
//! name, `--cluster-name`, or the file a merge read it from).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::discovery::{Discovery, ImageUse};
use crate::facts::{FactsFile, ImageFacts};

/// Appends the items of `more` that `into` does not hold yet, keeping the order.
fn extend_new<T: PartialEq>(into: &mut Vec<T>, more: Vec<T>) {
    for item in more {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Tags the workloads and pull secrets of `image` with `cluster`, where none is set.
fn tag_use(image: &mut ImageUse, cluster: &str) {
    for w in &mut image.workloads {
        w.cluster.get_or_insert_with(|| cluster.to_owned());
    }
    for s in &mut image.pull_secrets {
        s.cluster.get_or_insert_with(|| cluster.to_owned());
    }
}

impl Discovery {
    /// Joins the discovery of `cluster` into this one: its workloads, pull secrets and errors
    /// are tagged with the cluster's name, and the uses of a reference both found are one use
    /// (images stay sorted by reference).
    pub fn join_cluster(&mut self, cluster: &str, mut other: Discovery) {
        for image in &mut other.images {
            tag_use(image, cluster);
        }
        for s in &mut other.pull_secrets {
            s.cluster.get_or_insert_with(|| cluster.to_owned());
        }
        for e in &mut other.errors {
            e.cluster.get_or_insert_with(|| cluster.to_owned());
        }
        let mut images: BTreeMap<String, ImageUse> = std::mem::take(&mut self.images)
            .into_iter()
            .map(|i| (i.reference.to_string(), i))
            .collect();
        for image in other.images {
            match images.get_mut(&image.reference.to_string()) {
                Some(have) => {
                    extend_new(&mut have.aliases, image.aliases);
                    extend_new(&mut have.workloads, image.workloads);
                    extend_new(&mut have.running_digests, image.running_digests);
                    extend_new(&mut have.pull_failures, image.pull_failures);
                    extend_new(&mut have.pull_secrets, image.pull_secrets);
                    extend_new(&mut have.node_platforms, image.node_platforms);
                    extend_new(&mut have.node_images, image.node_images);
                }
                None => {
                    images.insert(image.reference.to_string(), image);
                }
            }
        }
        self.images = images.into_values().collect();
        self.nodes.extend(other.nodes);
        extend_new(&mut self.cluster_platforms, other.cluster_platforms);
        extend_new(&mut self.namespaces, other.namespaces);
        self.namespaces.sort();
        self.pull_secrets.extend(other.pull_secrets);
        self.errors.extend(other.errors);
        self.left_out.extend(other.left_out);
    }
}

impl ImageFacts {
    /// Sets [`ImageFacts::clusters`] from the clusters its workloads name (sorted, distinct).
    pub fn set_clusters_from_workloads(&mut self) {
        let mut clusters: Vec<String> = self
            .workloads
            .iter()
            .filter_map(|w| w.cluster.clone())
            .collect();
        clusters.sort();
        clusters.dedup();
        self.clusters = clusters;
    }
}

/// What makes two entries of different clusters one image: the same reference and the same
/// digest (or, without a digest, the same kind of failure).
fn merge_key(f: &ImageFacts) -> (String, String) {
    let what = match (&f.digest, f.error.get()) {
        (Some(d), _) => d.to_string(),
        (None, Some(e)) => format!("error:{:?}", e.kind),
        (None, None) => String::new(),
    };
    (f.reference.to_string(), what)
}

/// Merges the facts files of several clusters into one, each given with the name of its
/// cluster (used where the file does not name its clusters itself). Entries of the same image
/// (reference and digest) become one, listing every cluster and workload that runs it; the
/// facts themselves are the first file's. The summary is computed again over the merged entries
/// (redactions added up); platforms, discovery errors and pull secrets are joined, each tagged
/// with its cluster.
pub fn merge_facts_files(
    files: Vec<(String, FactsFile)>,
    generated_at: OffsetDateTime,
) -> FactsFile {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut entries: BTreeMap<(String, String), ImageFacts> = BTreeMap::new();
    let (mut platforms, mut errors, mut secrets, mut clusters) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut redactions = 0;
    for (name, file) in files {
        redactions += file.summary.redactions;
        let own = if file.clusters.is_empty() {
            vec![name.clone()]
        } else {
            file.clusters.clone()
        };
        extend_new(&mut clusters, own);
        extend_new(&mut platforms, file.cluster_platforms);
        errors.extend(file.discovery_errors.into_iter().map(|mut e| {
            e.cluster.get_or_insert_with(|| name.clone());
            e
        }));
        secrets.extend(file.pull_secrets.into_iter().map(|mut s| {
            s.cluster.get_or_insert_with(|| name.clone());
            s
        }));
        for mut f in file.image_facts {
            for w in &mut f.workloads {
                w.cluster.get_or_insert_with(|| name.clone());
            }
            for s in &mut f.pull_secrets {
                s.cluster.get_or_insert_with(|| name.clone());
            }
            if f.clusters.is_empty() {
                f.clusters = vec![name.clone()];
            }
            let key = merge_key(&f);
            match entries.get_mut(&key) {
                Some(have) => {
                    extend_new(&mut have.clusters, f.clusters);
                    have.clusters.sort();
                    extend_new(&mut have.workloads, f.workloads);
                    extend_new(&mut have.running_digests, f.running_digests);
                    extend_new(&mut have.pull_failures, f.pull_failures);
                    extend_new(&mut have.pull_secrets, f.pull_secrets);
                    extend_new(&mut have.node_platforms, f.node_platforms);
                    extend_new(&mut have.node_images, f.node_images);
                    have.node_digests_differ |= f.node_digests_differ;
                }
                None => {
                    order.push(key.clone());
                    entries.insert(key, f);
                }
            }
        }
    }
    let merged = order
        .into_iter()
        .filter_map(|k| entries.remove(&k))
        .collect();
    let mut file = FactsFile::new(generated_at, merged);
    file.summary.redactions = redactions;
    file.cluster_platforms = platforms;
    file.discovery_errors = errors;
    file.pull_secrets = secrets;
    clusters.sort();
    file.clusters = clusters;
    file
}

#[cfg(test)]
mod tests;
