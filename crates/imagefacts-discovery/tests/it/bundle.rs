//! The support bundle source against the fixture in the real troubleshoot layout, as a directory,
//! a `.tar.gz` and a plain `.tar`.

use imagefacts_discovery::{DiscoverError, NamespaceFilter, SourceKind};
use imagefacts_model::Platform;
use imagefacts_model::discovery::{ContainerType, Discovery, RunningDigestKind, SecretRef};

use crate::support::*;

const NGINX: &str = "sha256:ee8033170a45643b1f4bc0f33ff4564b0922e6618fd0e93c0e15f64f9917e44c";
const BUSYBOX_REPO: &str =
    "sha256:91f8a4d72368ce959965328fafca1597674b877ad7276cb873fff6ae179c3ef7";
const BUSYBOX_ID_AMD64: &str =
    "sha256:33fc9eed316d1a719f0c2939f9e2615f89af54731876e3033999c08bb2839b19";
const BUSYBOX_ID_ARM64: &str =
    "sha256:9ea660abbe384d05cc86ba06e71dce77540d95b37a2eadefff041d135e728eaa";

fn image<'a>(d: &'a Discovery, reference: &str) -> &'a imagefacts_model::discovery::ImageUse {
    d.images
        .iter()
        .find(|i| i.reference == reference)
        .unwrap_or_else(|| panic!("no image {reference} in {:?}", image_set(d)))
}

/// What matters, spelled out (the golden file holds the rest).
fn assert_bundle_discovery(d: &Discovery) {
    assert_eq!(
        image_set(d).into_iter().collect::<Vec<_>>(),
        [
            "docker.io/library/alpine:latest",
            "docker.io/library/busybox:1.36",
            "docker.io/library/nginx:1.25",
            "docker.io/library/postgres:16",
            "ghcr.io/acme/migrate:0.9@sha256:4b0f96781d16560c68c83dcda85e5f1721441c5ae3fc7370e37d49319cdf81f6",
            "ghcr.io/acme/report:1.4",
            "nginx:",
            "quay.io/acme/legacy:1",
            "quay.io/prometheus/node-exporter:v1.8.0",
            "registry.example.com/shop/api:2.0",
        ],
        "the old ReplicaSet's nginx:1.24 and kube-system's images are not listed"
    );

    // Deployment → ReplicaSet → Pod: reported once under the Deployment, pods kept.
    let nginx = image(d, "docker.io/library/nginx:1.25");
    assert_eq!(nginx.aliases, ["nginx:1.25"]);
    assert_eq!(nginx.workloads.len(), 1);
    let w = &nginx.workloads[0];
    assert_eq!(
        (
            w.namespace.as_str(),
            w.kind.as_str(),
            w.name.as_str(),
            w.container.as_str()
        ),
        ("shop", "Deployment", "web", "nginx")
    );
    assert_eq!(w.pods, ["web-7c9f8d6b5-q8m3z", "web-7c9f8d6b5-x2k4p"]);
    // docker-pullable:// and containerd's repo@digest name the same manifest digest.
    assert_eq!(nginx.running_digests.len(), 1);
    assert_eq!(nginx.running_digests[0].digest.to_string(), NGINX);
    assert_eq!(nginx.running_digests[0].kind, RunningDigestKind::RepoDigest);
    assert_eq!(
        nginx.running_digests[0].repository.as_deref(),
        Some("docker.io/library/nginx")
    );
    assert_eq!(
        nginx.node_platforms,
        [
            Platform::new("linux", "amd64"),
            Platform::new("linux", "arm64")
        ]
    );
    assert_eq!(
        nginx.pull_secrets,
        [SecretRef {
            namespace: "shop".into(),
            name: "regcred".into(),
            cluster: None,
        }]
    );

    // Two spellings of busybox, init and ephemeral containers, image IDs kept apart from digests.
    let busybox = image(d, "docker.io/library/busybox:1.36");
    assert_eq!(busybox.aliases, ["busybox:1.36"]);
    let types: Vec<ContainerType> = busybox.workloads.iter().map(|w| w.container_type).collect();
    // Sorted by container name: `debugger` (ephemeral) before `init-config`.
    assert_eq!(types, [ContainerType::Ephemeral, ContainerType::Init]);
    let running: Vec<(String, RunningDigestKind)> = busybox
        .running_digests
        .iter()
        .map(|r| (r.digest.to_string(), r.kind))
        .collect();
    let want: Vec<(String, RunningDigestKind)> = [
        (BUSYBOX_ID_AMD64, RunningDigestKind::ImageId),
        (BUSYBOX_REPO, RunningDigestKind::RepoDigest),
        (BUSYBOX_ID_ARM64, RunningDigestKind::ImageId),
    ]
    .map(|(d, k)| (d.to_owned(), k))
    .into();
    assert_eq!(running, want);

    // CronJob → Job → Pod, StatefulSet, DaemonSet, ReplicationController without pods, bare Pod.
    let top = |reference: &str| {
        let w = &image(d, reference).workloads[0];
        (w.kind.clone(), w.name.clone(), w.pods.clone())
    };
    assert_eq!(
        top("ghcr.io/acme/report:1.4"),
        (
            "CronJob".into(),
            "nightly-report".into(),
            vec!["nightly-report-28912345-abcde".to_owned()]
        )
    );
    assert_eq!(top("docker.io/library/postgres:16").0, "StatefulSet");
    assert_eq!(top("quay.io/prometheus/node-exporter:v1.8.0").2.len(), 2);
    assert_eq!(
        top("quay.io/acme/legacy:1"),
        (
            "ReplicationController".into(),
            "legacy-worker".into(),
            vec![]
        )
    );
    assert_eq!(top("docker.io/library/alpine:latest").0, "Pod");
    // Owner named without uid (api's pod) is resolved by kind + name.
    assert_eq!(top("registry.example.com/shop/api:2.0").1, "api");

    // Pull failures, with the kubelet's message; the invalid reference is kept as written.
    let api = image(d, "registry.example.com/shop/api:2.0");
    assert_eq!(api.pull_failures.len(), 1);
    assert_eq!(api.pull_failures[0].reason, "ImagePullBackOff");
    assert_eq!(api.pull_failures[0].pod, "api-6f7d8c9b0-7tq2w");
    assert!(
        api.pull_failures[0]
            .message
            .contains("Back-off pulling image")
    );
    assert_eq!(
        image(d, "nginx:").pull_failures[0].reason,
        "InvalidImageName"
    );

    // Nodes of two architectures (one only labelled).
    let nodes: Vec<(String, String)> = d
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.platform.to_string()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("node-amd64-1".to_owned(), "linux/amd64".to_owned()),
            ("node-arm64-1".to_owned(), "linux/arm64".to_owned()),
            ("node-arm64-2".to_owned(), "linux/arm64".to_owned()),
        ]
    );
    assert_eq!(
        d.cluster_platforms,
        [
            Platform::new("linux", "amd64"),
            Platform::new("linux", "arm64")
        ]
    );
    assert_eq!(
        d.namespaces,
        [
            "batch",
            "broken",
            "default",
            "monitoring",
            "restricted",
            "shop"
        ],
        "every namespace a file was read of (broken's is malformed)"
    );
    assert_eq!(d.pull_secrets.len(), 1);
    assert_eq!(d.pull_secrets[0].registries, ["registry.example.com"]);

    // The malformed file, the unexpected one and troubleshoot's own error, each named.
    let errors: Vec<(&str, &str)> = d
        .errors
        .iter()
        .map(|e| (e.path.as_deref().unwrap_or(""), e.message.as_str()))
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert_eq!(errors[0].0, "cluster-resources/deployments/broken.json");
    assert!(errors[0].1.starts_with("malformed JSON"), "{}", errors[0].1);
    assert_eq!(errors[1].0, "cluster-resources/pods-errors.json");
    assert!(errors[1].1.contains("\"restricted\""));
    assert_eq!(errors[2].0, "cluster-resources/pods/notes.txt");
    assert!(d.errors.iter().all(|e| e.source == SourceKind::Bundle));
}

#[test]
fn directory_gives_the_expected_discovery() {
    let d = read_bundle(&bundle_dir(), &NamespaceFilter::default()).expect("read bundle");
    assert_bundle_discovery(&d);
    assert_golden(&d);
}

#[test]
fn tar_gz_gives_the_same_discovery_as_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "support-bundle.tar.gz", &gzip(&bundle_tar()));
    let d = read_bundle(&path, &NamespaceFilter::default()).expect("read bundle");
    assert_bundle_discovery(&d);
    assert_golden(&d);
}

#[test]
fn plain_tar_and_parent_directory_are_read_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Named .tar.gz on purpose: gzip is detected by its magic bytes, not the name.
    let path = write(dir.path(), "bundle.tar.gz", &bundle_tar());
    let from_tar = read_bundle(&path, &NamespaceFilter::default()).expect("read tar");
    let from_parent = read_bundle(&fixtures().join("bundle"), &NamespaceFilter::default())
        .expect("read parent dir");
    let from_dir = read_bundle(&bundle_dir(), &NamespaceFilter::default()).expect("read dir");
    assert_eq!(from_tar, from_dir);
    assert_eq!(from_parent, from_dir);
}

#[test]
fn namespace_filter_applies_to_the_bundle() {
    let only_shop = NamespaceFilter {
        namespace: Some("shop".into()),
        ..NamespaceFilter::default()
    };
    let d = read_bundle(&bundle_dir(), &only_shop).expect("read bundle");
    assert_eq!(d.namespaces, ["shop"]);
    assert!(d.images.iter().all(|i| i.namespaces() == ["shop"]));
    // broken.json is in namespace "broken": not read at all.
    assert!(
        d.errors
            .iter()
            .all(|e| !e.path.as_deref().unwrap_or("").contains("broken"))
    );

    let system = NamespaceFilter {
        include_system: true,
        exclude: vec!["b*".into(), "shop".into()],
        ..NamespaceFilter::default()
    };
    let d = read_bundle(&bundle_dir(), &system).expect("read bundle");
    let refs = image_set(&d);
    assert!(refs.contains("registry.k8s.io/kube-proxy:v1.30.4"));
    // A mirror pod (owned by its Node) is reported as the Pod itself.
    let apiserver = image(&d, "registry.k8s.io/kube-apiserver:v1.30.4");
    assert_eq!(
        (
            apiserver.workloads[0].kind.as_str(),
            apiserver.workloads[0].name.as_str()
        ),
        ("Pod", "kube-apiserver-node-amd64-1")
    );
    assert!(
        !refs.contains("ghcr.io/acme/report:1.4"),
        "batch is excluded by b*"
    );
    assert!(
        !refs.contains("docker.io/library/nginx:1.25"),
        "shop is excluded"
    );
}

#[test]
fn what_is_not_a_bundle_is_a_fatal_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = write(dir.path(), "notes.txt", b"this is not an archive, just some text that is long enough to fill a tar header block or not");
    let err = read_bundle(&text, &NamespaceFilter::default()).unwrap_err();
    assert!(matches!(err, Failure::Bundle(_)), "{err:?}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert!(err.to_string().contains("not a support bundle"), "{err}");

    let gz = write(dir.path(), "x.tar.gz", &gzip(b"not a tar inside"));
    let err = read_bundle(&gz, &NamespaceFilter::default()).unwrap_err();
    assert!(matches!(err, Failure::Bundle(_)), "{err:?}");
    assert!(err.to_string().contains("x.tar.gz"), "{err}");

    let other = imagefacts_testkit::tar_files(&[("top/other/file.json", b"{}")]);
    let other = write(dir.path(), "other.tar", &other);
    let err = read_bundle(&other, &NamespaceFilter::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Discover(DiscoverError::NoClusterResources { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("other.tar"), "{err}");

    let empty = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(empty.path().join("top")).expect("mkdir");
    let err = read_bundle(empty.path(), &NamespaceFilter::default()).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Discover(DiscoverError::NoClusterResources { .. })
        ),
        "{err:?}"
    );

    let err = read_bundle(
        &dir.path().join("missing.tar.gz"),
        &NamespaceFilter::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Failure::Bundle(_)), "{err:?}");
    assert!(err.to_string().contains("missing.tar.gz"), "{err}");
}

#[test]
fn a_truncated_archive_is_refused_naming_where_it_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = gzip(&bundle_tar());
    let cut = write(dir.path(), "cut.tar.gz", &full[..full.len() * 2 / 3]);
    let err = read_bundle(&cut, &NamespaceFilter::default()).unwrap_err();
    assert!(matches!(err, Failure::Bundle(_)), "{err:?}");
    assert!(err.to_string().contains("cut.tar.gz"), "{err}");
}

#[test]
fn a_synthetic_bundle_is_discovered_whole() {
    use crate::synthetic::{Shape, tar_gz};
    // The directory holds only synthetic.tar.gz and, below, the extracted copy.
    let shape = Shape {
        namespaces: 3,
        deployments_per_namespace: 4,
        pods_per_deployment: 2,
        nodes: 2,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "synthetic.tar.gz", &tar_gz(shape));
    let d = read_bundle(&path, &NamespaceFilter::default()).expect("read");
    assert!(d.errors.is_empty(), "{:#?}", d.errors);
    let pods: std::collections::BTreeSet<String> = d
        .images
        .iter()
        .flat_map(|i| {
            i.workloads
                .iter()
                .flat_map(|w| w.pods.iter().map(|p| format!("{}/{p}", w.namespace)))
        })
        .collect();
    assert_eq!(pods.len(), shape.pods());
    assert_eq!(d.cluster_platforms.len(), 2);
    crate::synthetic::write_dir(shape, dir.path());
    let from_dir = read_bundle(dir.path(), &NamespaceFilter::default()).expect("read dir");
    assert_eq!(from_dir, d);
    assert_eq!(
        Shape::ten_thousand_pods().pods(),
        10_000,
        "the benchmark's size"
    );
}
