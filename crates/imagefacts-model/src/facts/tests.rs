//! Tests of the `facts` module.

use super::*;

fn entry(reg: &str, repo: &str, digest: &[u8], size: u64) -> ImageFacts {
    let mut f = ImageFacts::empty(
        crate::ImageRef::parse(repo),
        reg,
        repo,
        OffsetDateTime::UNIX_EPOCH,
    );
    f.digest = Some(Digest::sha256_of(digest));
    f.size = size;
    f
}

#[test]
fn summary_counts() {
    let mut failed = entry("ghcr.io", "o/b", b"z", 0);
    failed.digest = None;
    failed.error = FactsError {
        kind: ErrorKind::NotFound,
        message: "manifest unknown".into(),
        retryable: false,
        status: Some(404),
        code: Some("MANIFEST_UNKNOWN".into()),
        attempts: None,
        step: Some(Step::Resolve),
    }
    .into();
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
fn an_invalid_reference_counts_in_no_registry() {
    let mut invalid = entry("", "", b"x", 0);
    invalid.digest = None;
    invalid.error = FactsError {
        kind: ErrorKind::InvalidReference,
        message: "invalid reference format".into(),
        retryable: false,
        status: None,
        code: None,
        attempts: None,
        step: None,
    }
    .into();
    let s = Summary::of(&[entry("docker.io", "library/nginx", b"a", 10), invalid]);
    assert_eq!((s.unique_registries, s.unique_repositories), (1, 1));
    assert_eq!(s.collection_errors, 1);
    assert_eq!(s.errors_by_kind[&ErrorKind::InvalidReference], 1);
    assert!(
        s.errors_by_registry.is_empty(),
        "{:?}",
        s.errors_by_registry
    );
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

#[test]
fn error_is_upstreams_string_with_the_typed_detail_beside_it() {
    let mut f = entry("ghcr.io", "o/b", b"z", 0);
    f.error = FactsError::new(ErrorKind::Auth, "ghcr.io: refused", false)
        .at(Step::Manifest)
        .into();
    let v = serde_json::to_value(&f).unwrap();
    assert_eq!(v["error"], "ghcr.io: refused");
    assert_eq!(v["errorDetail"]["kind"], "auth");
    assert_eq!(v["errorDetail"]["message"], v["error"]);
    assert_eq!(v["errorDetail"]["step"], "manifest");
    let back: ImageFacts = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(back, f);

    // Written before errorDetail: the typed object in `error` itself.
    let mut old = v.clone();
    old["error"] = old["errorDetail"].take();
    old.as_object_mut().unwrap().remove("errorDetail");
    let back: ImageFacts = serde_json::from_value(old).unwrap();
    assert_eq!(back, f);

    // No failure: neither field.
    let ok = serde_json::to_value(entry("ghcr.io", "o/b", b"z", 0)).unwrap();
    assert!(ok.get("error").is_none() && ok.get("errorDetail").is_none());
    // A bare string (no detail) is refused, naming it.
    let mut bare = v;
    bare.as_object_mut().unwrap().remove("errorDetail");
    let e = serde_json::from_value::<ImageFacts>(bare).unwrap_err();
    assert!(e.to_string().contains("no `errorDetail`"), "{e}");
}

#[test]
fn go_map_values_and_times() {
    let c: ConfigFacts = serde_json::from_str(
        r#"{"exposedPorts":{"80/tcp":"x","53/udp":null},"volumes":{"/d":{"a":1}}}"#,
    )
    .unwrap();
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["exposedPorts"]["80/tcp"], serde_json::json!({}));
    assert_eq!(v["exposedPorts"]["53/udp"], serde_json::json!({}));
    assert_eq!(v["volumes"]["/d"], serde_json::json!({}));
    assert_eq!(
        rfc3339("2024-05-01T12:00:00Z").as_deref(),
        Some("2024-05-01T12:00:00Z")
    );
    assert_eq!(
        rfc3339("2024-05-01t12:00:00.5+02:00").as_deref(),
        Some("2024-05-01T12:00:00.5+02:00")
    );
    assert_eq!(rfc3339("yesterday"), None);
    assert_eq!(rfc3339(""), None);
}
