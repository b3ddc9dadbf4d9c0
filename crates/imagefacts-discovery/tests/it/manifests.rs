//! The manifest source: the fixture's YAML (a `kind: List`, Helm-rendered output with `# Source:`
//! comments and empty documents, a malformed document) and JSON describe the bundle's workloads.

use imagefacts_discovery::{DiscoverError, NamespaceFilter, Source, discover, read_manifests};
use imagefacts_model::discovery::ContainerType;

use crate::support::*;

#[test]
fn manifests_give_the_bundles_image_set_and_workloads() {
    let filter = NamespaceFilter::default();
    let manifests = read_manifests(&[manifests_dir()], &filter).expect("read manifests");
    let bundle = read_bundle(&bundle_dir(), &filter).expect("read bundle");

    assert_eq!(image_set(&manifests), image_set(&bundle));
    // Same users, except the ephemeral container that only exists in a running pod.
    assert_eq!(workload_set(&manifests, true), workload_set(&bundle, false));
    // Templates do not run: no pods, digests, failures or node platforms.
    for image in &manifests.images {
        assert!(image.running_digests.is_empty() && image.pull_failures.is_empty());
        assert!(image.node_platforms.is_empty());
        assert!(image.workloads.iter().all(|w| w.pods.is_empty()));
    }
    // No namespace in the document: `default`.
    let alpine = manifests
        .images
        .iter()
        .find(|i| i.reference == "docker.io/library/alpine:latest")
        .expect("alpine");
    assert_eq!(alpine.workloads[0].namespace, "default");
    assert_eq!(alpine.pull_secrets.len(), 1);
    assert_eq!(alpine.aliases, ["alpine"]);
    let busybox = manifests
        .images
        .iter()
        .find(|i| i.reference == "docker.io/library/busybox:1.36")
        .expect("busybox");
    assert_eq!(busybox.workloads[0].container_type, ContainerType::Init);
    assert_eq!(
        manifests.namespaces,
        ["batch", "default", "monitoring", "shop"]
    );

    // The malformed document is named by file and index; nothing else is an error (Chart.yaml
    // has no kind, README.txt is not read).
    assert_eq!(manifests.errors.len(), 1, "{:#?}", manifests.errors);
    let e = &manifests.errors[0];
    assert!(
        e.path.as_deref().is_some_and(|p| p.ends_with("shop.yaml")),
        "{e:?}"
    );
    assert_eq!(e.document, Some(3));
    assert_eq!(e.source, imagefacts_discovery::SourceKind::Manifests);
    assert!(e.message.starts_with("malformed YAML"), "{}", e.message);
    assert!(!e.message.contains('\n'));
}

#[test]
fn files_are_read_one_by_one_in_order_given() {
    let dir = manifests_dir();
    let files = [
        dir.join("batch.json"),
        dir.join("helm-rendered.yaml"),
        dir.join("default/debug-shell.yml"),
    ];
    let d = read_manifests(&files, &NamespaceFilter::default()).expect("read manifests");
    assert_eq!(
        image_set(&d).into_iter().collect::<Vec<_>>(),
        [
            "docker.io/library/alpine:latest",
            "ghcr.io/acme/migrate:0.9@sha256:4b0f96781d16560c68c83dcda85e5f1721441c5ae3fc7370e37d49319cdf81f6",
            "ghcr.io/acme/report:1.4",
            "quay.io/acme/legacy:1",
            "quay.io/prometheus/node-exporter:v1.8.0",
        ]
    );
    let with_system = NamespaceFilter {
        include_system: true,
        ..NamespaceFilter::default()
    };
    let d = read_manifests(&files, &with_system).expect("read manifests");
    assert!(image_set(&d).contains("registry.k8s.io/kube-proxy:v1.30.4"));
}

#[test]
fn json_streams_arrays_and_yaml_edge_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pod = |name: &str, image: &str| {
        format!(
            r#"{{"kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"{image}"}}]}}}}"#
        )
    };
    // Two concatenated JSON documents, and a JSON array of objects.
    write(
        dir.path(),
        "stream.json",
        format!("{}\n{}", pod("a", "img-a"), pod("b", "img-b")).as_bytes(),
    );
    write(
        dir.path(),
        "array.json",
        format!("[{}]", pod("c", "img-c")).as_bytes(),
    );
    // YAML: BOM, CRLF line ends, `--- ` with a comment, document end of stream, a flow mapping.
    write(
        dir.path(),
        "edge.yaml",
        "\u{feff}kind: Pod\r\nmetadata: {name: d}\r\nspec: {containers: [{name: c, image: img-d}]}\r\n--- # next\r\n{kind: Pod, metadata: {name: e}, spec: {containers: [{name: c, image: img-e}]}}\r\n---\r\n".as_bytes(),
    );
    // Not JSON despite the name: an error, the rest goes on.
    write(dir.path(), "bad.json", b"{\"kind\": \"Pod\",");
    // Hidden files are skipped.
    write(
        dir.path(),
        ".hidden.yaml",
        b"kind: Pod\nmetadata: {name: h}\nspec: {containers: [{name: c, image: img-h}]}\n",
    );
    let d = read_manifests(&[dir.path().to_owned()], &NamespaceFilter::default()).expect("read");
    let refs: Vec<String> = image_set(&d).into_iter().collect();
    let want: Vec<String> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|s| format!("docker.io/library/img-{s}:latest"))
        .collect();
    assert_eq!(refs, want);
    assert_eq!(d.errors.len(), 1, "{:#?}", d.errors);
    assert!(
        d.errors[0]
            .path
            .as_deref()
            .is_some_and(|p| p.ends_with("bad.json"))
    );
    assert!(d.errors[0].message.starts_with("malformed JSON"));
}

#[test]
fn a_missing_path_is_fatal() {
    let err = read_manifests(
        &[manifests_dir().join("nope.yaml")],
        &NamespaceFilter::default(),
    )
    .unwrap_err();
    assert!(matches!(err, DiscoverError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.yaml"));
}

#[tokio::test]
async fn discover_reads_a_manifests_source() {
    let got = discover(
        &Source::Manifests(vec![manifests_dir()]),
        &NamespaceFilter::default(),
    )
    .await
    .expect("discover");
    assert_eq!(got.discovery.images.len(), 10);
}
