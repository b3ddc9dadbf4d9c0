//! Every free string of an entry is redacted: a guard that fails when a field is added that
//! redaction does not read.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::*;
use crate::digest::Digest;
use crate::discovery::{
    ContainerType, NodeImage, PullFailure, RunningDigest, RunningDigestKind, SecretRef, WorkloadRef,
};
use crate::facts::{
    ArtifactKind, AttestationRef, BuildInfo, ErrorKind, FactsSource, Layer, PlatformFacts, Step,
    SupplyChain, SupplyChainArtifact, SupplyChainMethod,
};

/// Text that [`super::super::redact_text`] hides whole wherever it is put.
const SECRET: &str = "https://u:s3cr3t-guard@h.example/p";

/// Fields that are not redacted, and why: the identity parsed from the reference, and names of
/// Kubernetes objects, credentials and endpoints (JSON pointers, `*` for any array index).
const NOT_REDACTED: [&str; 21] = [
    "/reference", // as written in the pod spec; parsed into the next three
    "/registry",  // the identity the summary groups by
    "/repository",
    "/tag",
    "/workloads/*/namespace", // Kubernetes names
    "/workloads/*/kind",
    "/workloads/*/name",
    "/workloads/*/container",
    "/workloads/*/pods/*",
    "/runningDigests/*/repository",
    "/runningDigests/*/pods/*",
    "/pullFailures/*/namespace",
    "/pullFailures/*/pod",
    "/pullFailures/*/container",
    "/pullSecrets/*/namespace",
    "/pullSecrets/*/name",
    "/nodeImages/*/node",
    "/clusters/*", // kubeconfig context names, as the user wrote them
    "/workloads/*/cluster",
    "/pullSecrets/*/cluster",
    "/supplyChain/artifacts/*/found", // `referrers`, `tag:<tag>`, `index`: our own words
];

/// Also not redacted: which credential was used (its kind and non-secret identity), which
/// endpoint answered (scheme and host), and the kind of pull failure (kubelet's `reason`).
const NOT_REDACTED_EITHER: [&str; 3] = ["/authSource", "/endpoint", "/pullFailures/*/reason"];

fn error() -> FactsError {
    FactsError {
        kind: ErrorKind::Server,
        message: "m".into(),
        retryable: false,
        status: Some(500),
        code: Some("UNKNOWN".into()),
        attempts: Some(2),
        step: Some(Step::Manifest),
    }
}

fn platform() -> Platform {
    Platform {
        architecture: "arm64".into(),
        os: "linux".into(),
        variant: Some("v8".into()),
        os_version: Some("10".into()),
        os_features: vec!["f".into()],
    }
}

fn layer() -> Layer {
    Layer {
        digest: Digest::sha256_of(b"l"),
        size: 1,
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
    }
}

fn config() -> Arc<ConfigFacts> {
    ConfigFacts {
        user: "1000".into(),
        exposed_ports: BTreeMap::new(),
        env: vec!["A=b".into()],
        entrypoint: vec!["e".into()],
        cmd: vec!["c".into()],
        volumes: BTreeMap::new(),
        working_dir: "/w".into(),
    }
    .into()
}

/// An entry with every field set (a struct literal: a new field does not compile until it is
/// set here).
fn full_entry() -> ImageFacts {
    let digest = Digest::sha256_of(b"d");
    let labels: Arc<BTreeMap<String, String>> = Arc::new([("l".to_owned(), "v".to_owned())].into());
    ImageFacts {
        reference: crate::ImageRef::parse("reg.example/repo:1"),
        registry: "reg.example".into(),
        repository: "repo".into(),
        tag: "1".into(),
        digest: Some(digest.clone()),
        manifest_digest: Some(digest.clone()),
        config_digest: Some(digest.clone()),
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        schema_version: 2,
        size: 1,
        created: Some("2024-01-01T00:00:00Z".into()),
        labels: labels.clone(),
        platform: platform(),
        layers: vec![layer()],
        config: config(),
        platforms: vec![PlatformFacts {
            platform: platform(),
            manifest_digest: digest.clone(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            config_digest: Some(digest.clone()),
            size: 1,
            created: Some("2024-01-01T00:00:00Z".into()),
            layers: vec![layer()],
            config: config(),
            labels,
            primary: true,
            error: error().into(),
            not_fetched: false,
        }],
        attestations: vec![AttestationRef {
            manifest_digest: digest.clone(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 1,
            reference_type: Some("attestation-manifest".into()),
            attests: Some(digest.clone()),
        }],
        build_info: BuildInfo {
            source: Some("s".into()),
            revision: Some("r".into()),
            version: Some("v".into()),
            created: Some("c".into()),
        },
        tag_digest: Some(digest.clone()),
        tag_drift: Some(true),
        workloads: vec![WorkloadRef {
            namespace: "ns".into(),
            kind: "Deployment".into(),
            name: "web".into(),
            container: "c".into(),
            container_type: ContainerType::Regular,
            pods: vec!["web-1".into()],
            inferred: false,
            cluster: Some("prod-eu".into()),
        }],
        clusters: vec!["prod-eu".into()],
        running_digests: vec![RunningDigest {
            digest: digest.clone(),
            kind: RunningDigestKind::RepoDigest,
            repository: Some("reg.example/repo".into()),
            pods: vec!["web-1".into()],
        }],
        pull_failures: vec![PullFailure {
            namespace: "ns".into(),
            pod: "web-1".into(),
            container: "c".into(),
            reason: "ErrImagePull".into(),
            message: "m".into(),
        }],
        pull_secrets: vec![SecretRef {
            namespace: "ns".into(),
            name: "regcred".into(),
            cluster: Some("prod-eu".into()),
        }],
        node_platforms: vec![platform()],
        node_images: vec![NodeImage {
            node: "n1".into(),
            digest: Some(digest.clone()),
            size_bytes: Some(1),
        }],
        node_digests_differ: true,
        artifact_type: Some("application/example".into()),
        subject: Some(digest.clone()),
        supply_chain: Some(Box::new(SupplyChain {
            signed: true,
            attested: true,
            sbom: true,
            method: SupplyChainMethod::ReferrersApi,
            artifacts: vec![SupplyChainArtifact {
                kind: ArtifactKind::Signature,
                digest: digest.clone(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                artifact_type: Some("application/example".into()),
                found: "referrers".into(),
            }],
            error: Some("e".into()),
        })),
        nearest_tags: vec!["1.0".into()],
        collected_at: OffsetDateTime::UNIX_EPOCH,
        source: FactsSource::Cache,
        auth_source: Some("anonymous".into()),
        endpoint: Some("https://reg.example".into()),
        error: error().into(),
        partial: true,
        fallback_reason: Some(Box::new(error())),
    }
}

/// JSON pointers of every string leaf under `v`.
fn string_leaves(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::String(_) => out.push(at.to_owned()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_leaves(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                string_leaves(
                    item,
                    &format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// `pointer` with every array index replaced by `*`.
fn pattern(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|p| {
            if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() {
                "*"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_free_string_of_an_entry_is_redacted() {
    let full = serde_json::to_value(full_entry()).unwrap();
    let mut leaves = Vec::new();
    string_leaves(&full, "", &mut leaves);
    let (mut checked, mut typed, mut rewritten, mut missed) = (0, 0, Vec::new(), Vec::new());
    for leaf in &leaves {
        let mut v = full.clone();
        *v.pointer_mut(leaf).unwrap() = SECRET.into();
        // A leaf that does not take any text (digests, times, enums) holds no secret.
        let Ok(mut entry) = serde_json::from_value::<ImageFacts>(v) else {
            typed += 1;
            continue;
        };
        let before = serde_json::to_string(&entry).unwrap();
        if !before.contains("s3cr3t-guard") {
            // Read but not written back: upstream's `error` string, written from `errorDetail`.
            rewritten.push(pattern(leaf));
            continue;
        }
        checked += 1;
        let hidden = redact_facts(&mut entry);
        let after = serde_json::to_string(&entry).unwrap();
        let exempt = NOT_REDACTED
            .iter()
            .chain(&NOT_REDACTED_EITHER)
            .any(|p| *p == pattern(leaf));
        if exempt {
            assert!(
                after.contains("s3cr3t-guard"),
                "{leaf} is exempt but redacted"
            );
        } else if after.contains("s3cr3t-guard") || hidden != 1 {
            missed.push(leaf.clone());
        }
    }
    assert!(missed.is_empty(), "not redacted: {missed:#?}");
    rewritten.sort();
    assert_eq!(rewritten, ["/error", "/platforms/*/error"]);
    assert_eq!(checked + typed + rewritten.len(), leaves.len());
    assert!(checked > 50, "{checked} leaves checked");
    assert!(typed > 10, "{typed} typed leaves");
}

#[test]
fn a_file_redacts_its_discovery_errors_and_counts_them() {
    let mut file = FactsFile::new(OffsetDateTime::UNIX_EPOCH, vec![full_entry()]);
    file.discovery_errors
        .push(crate::discovery::DiscoveryError {
            source: crate::discovery::SourceKind::Cluster,
            path: None,
            document: None,
            namespace: Some("shop".into()),
            resource: Some("pods".into()),
            verb: Some("list".into()),
            status: Some(500),
            message: format!("proxy error from {SECRET}"),
            cluster: None,
        });
    file.redact();
    assert_eq!(file.summary.redactions, 1);
    assert_eq!(
        file.discovery_errors[0].message,
        "proxy error from https://***HIDDEN***@h.example/p"
    );
    file.redact();
    assert_eq!(file.summary.redactions, 1, "a second pass hides nothing");
}
