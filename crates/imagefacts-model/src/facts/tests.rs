//! Tests of the `facts` module.

use super::*;

fn entry(reg: &str, repo: &str, digest: &[u8], size: u64) -> ImageFacts {
    let mut f = ImageFacts::empty(repo, reg, repo, OffsetDateTime::UNIX_EPOCH);
    f.digest = Some(Digest::sha256_of(digest));
    f.size = size;
    f
}

#[test]
fn summary_counts() {
    let mut failed = entry("ghcr.io", "o/b", b"z", 0);
    failed.digest = None;
    failed.error = Some(FactsError {
        kind: ErrorKind::NotFound,
        message: "manifest unknown".into(),
        retryable: false,
        status: Some(404),
        code: Some("MANIFEST_UNKNOWN".into()),
        attempts: None,
    });
    let facts = vec![
        entry("docker.io", "library/nginx", b"a", 10),
        entry("docker.io", "library/nginx", b"a", 10),
        entry("docker.io", "library/redis", b"b", 5),
        failed,
    ];
    let s = Summary::of(&facts);
    assert_eq!(s.total_images, 4);
    assert_eq!(s.unique_registries, 2);
    assert_eq!(s.unique_repositories, 3);
    assert_eq!(s.total_size, 15);
    assert_eq!(s.collection_errors, 1);
    assert_eq!(s.errors_by_kind[&ErrorKind::NotFound], 1);
    assert_eq!(s.errors_by_registry["ghcr.io"][&ErrorKind::NotFound], 1);
}

#[test]
fn serializes_upstream_field_names() {
    let file = FactsFile::new(
        OffsetDateTime::UNIX_EPOCH,
        vec![entry("docker.io", "library/nginx", b"a", 10)],
    );
    let v = serde_json::to_value(&file).unwrap();
    assert_eq!(v["version"], "v1");
    assert_eq!(v["generatedAt"], "1970-01-01T00:00:00Z");
    let f = &v["imageFacts"][0];
    for key in [
        "repository",
        "tag",
        "digest",
        "registry",
        "size",
        "labels",
        "platform",
        "mediaType",
        "schemaVersion",
        "config",
        "collectedAt",
        "source",
    ] {
        assert!(f.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["summary"]["totalImages"], 1);
    let back: FactsFile = serde_json::from_value(v).unwrap();
    assert_eq!(back, file);
}

#[test]
fn build_info_precedence() {
    let ann = BTreeMap::from([(
        "org.opencontainers.image.revision".to_owned(),
        "abc".to_owned(),
    )]);
    let labels = BTreeMap::from([
        (
            "org.opencontainers.image.revision".to_owned(),
            "zzz".to_owned(),
        ),
        (
            "org.opencontainers.image.source".to_owned(),
            "https://x".to_owned(),
        ),
    ]);
    let b = BuildInfo::from_maps(&[&ann, &labels]);
    assert_eq!(b.revision.as_deref(), Some("abc"));
    assert_eq!(b.source.as_deref(), Some("https://x"));
    assert!(BuildInfo::default().is_empty());
}
