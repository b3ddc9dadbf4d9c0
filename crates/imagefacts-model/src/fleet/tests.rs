//! Tests of the `fleet` module.

use super::*;
use crate::discovery::{ContainerType, WorkloadRef};
use crate::{Digest, ImageRef};

fn workload(name: &str) -> WorkloadRef {
    WorkloadRef {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: name.into(),
        container: "c".into(),
        container_type: ContainerType::Regular,
        pods: vec![],
        inferred: false,
        cluster: None,
    }
}

fn entry(reference: &str, digest: &[u8], workload_name: &str) -> ImageFacts {
    let mut f = ImageFacts::empty(
        ImageRef::parse(reference),
        "reg.example",
        "app",
        OffsetDateTime::UNIX_EPOCH,
    );
    f.digest = Some(Digest::sha256_of(digest));
    f.size = 10;
    f.workloads = vec![workload(workload_name)];
    f
}

#[test]
fn one_entry_per_image_listing_every_cluster_and_workload() {
    let a = FactsFile::new(
        OffsetDateTime::UNIX_EPOCH,
        vec![
            entry("reg.example/app:1", b"x", "web"),
            entry("reg.example/only-a:1", b"y", "a"),
        ],
    );
    let b = FactsFile::new(
        OffsetDateTime::UNIX_EPOCH,
        vec![
            entry("reg.example/app:1", b"x", "web"),
            // The same tag runs another build there: its own entry.
            entry("reg.example/only-a:1", b"z", "a"),
        ],
    );
    let merged = merge_facts_files(
        vec![("prod-eu".into(), a), ("prod-us".into(), b)],
        OffsetDateTime::UNIX_EPOCH,
    );
    assert_eq!(merged.clusters, ["prod-eu", "prod-us"]);
    assert_eq!(merged.image_facts.len(), 3);
    let app = &merged.image_facts[0];
    assert_eq!(app.clusters, ["prod-eu", "prod-us"]);
    let named: Vec<Option<&str>> = app.workloads.iter().map(|w| w.cluster.as_deref()).collect();
    assert_eq!(named, [Some("prod-eu"), Some("prod-us")]);
    assert_eq!(merged.image_facts[1].clusters, ["prod-eu"]);
    assert_eq!(merged.image_facts[2].clusters, ["prod-us"]);
    assert_eq!(merged.summary.total_images, 3);
    // One digest counted once in the size, whatever the clusters.
    assert_eq!(merged.summary.total_size, 30);
}

#[test]
fn a_merged_file_merges_again_keeping_its_clusters() {
    let one = |name: &str| {
        merge_facts_files(
            vec![(
                name.to_owned(),
                FactsFile::new(
                    OffsetDateTime::UNIX_EPOCH,
                    vec![entry("reg.example/app:1", b"x", "web")],
                ),
            )],
            OffsetDateTime::UNIX_EPOCH,
        )
    };
    let merged = merge_facts_files(
        vec![("file-1".into(), one("eu")), ("file-2".into(), one("us"))],
        OffsetDateTime::UNIX_EPOCH,
    );
    assert_eq!(merged.clusters, ["eu", "us"]);
    assert_eq!(merged.image_facts[0].clusters, ["eu", "us"]);
}

#[test]
fn discoveries_of_two_contexts_join_by_reference() {
    let discovery = |w: &str| {
        let mut u = ImageUse::new(ImageRef::parse("reg.example/app:1"));
        u.workloads = vec![workload(w)];
        Discovery {
            images: vec![u],
            ..Discovery::default()
        }
    };
    let mut all = Discovery::default();
    all.join_cluster("eu", discovery("web"));
    all.join_cluster("us", discovery("web"));
    assert_eq!(all.images.len(), 1);
    let clusters: Vec<Option<&str>> = all.images[0]
        .workloads
        .iter()
        .map(|w| w.cluster.as_deref())
        .collect();
    assert_eq!(clusters, [Some("eu"), Some("us")]);
}
