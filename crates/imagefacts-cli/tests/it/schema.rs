//! `imagefacts schema` prints the committed specification; `imagefacts validate` checks files.

use std::path::Path;

use crate::support::imagefacts;

#[test]
fn schema_command_prints_the_committed_schema() {
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/facts.v1.schema.json"),
    )
    .unwrap();
    let run = imagefacts(&["schema"]);
    assert_eq!(run.status, 0);
    assert_eq!(run.stdout, committed);
}

#[test]
fn validate_reports_each_violation_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let run = imagefacts(&["inspect", "-o", good.to_str().unwrap(), "Invalid"]);
    assert_eq!(run.status, 1);
    let run = imagefacts(&["validate", good.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("valid facts.json v1"));

    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&good).unwrap()).unwrap();
    v["version"] = "v2".into();
    v["imageFacts"][0]["size"] = "big".into();
    v["imageFacts"][0]["errorDetail"]["kind"] = "weird".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let run = imagefacts(&["validate", bad.to_str().unwrap()]);
    assert_eq!(run.status, 1);
    for path in [
        "/version",
        "/imageFacts/0/size",
        "/imageFacts/0/errorDetail/kind",
    ] {
        assert!(
            run.stdout.contains(&format!("bad.json: {path}: ")),
            "{path} in {}",
            run.stdout
        );
    }
    assert!(
        run.stderr.contains("3 schema violation(s)"),
        "{}",
        run.stderr
    );

    let run = imagefacts(&["validate", "/nonexistent.json"]);
    assert_eq!(run.status, 2);
}

#[test]
fn validate_reads_the_current_and_the_earlier_shape_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.json");
    let run = imagefacts(&["inspect", "-o", new.to_str().unwrap(), "Invalid", "a//b"]);
    assert_eq!(run.status, 1);
    let bytes = std::fs::read(&new).unwrap();
    let current = crate::support::facts_file(&bytes, "new.json");
    assert_eq!(
        current["imageFacts"][0]["error"]
            .as_str()
            .map(|s| !s.is_empty()),
        Some(true)
    );
    let run = imagefacts(&["validate", new.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout.trim(),
        format!("{}: valid facts.json v1", new.display())
    );

    // The shape written before errorDetail: the typed object in `error`.
    let mut old = current.clone();
    for entry in old["imageFacts"].as_array_mut().unwrap() {
        let detail = entry
            .as_object_mut()
            .unwrap()
            .remove("errorDetail")
            .unwrap();
        entry["error"] = detail;
    }
    let old_path = dir.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_vec_pretty(&old).unwrap()).unwrap();
    assert!(
        imagefacts_testkit::upstream_decode(&[&old_path]).is_err(),
        "upstream's Go types refuse the earlier shape"
    );
    let run = imagefacts(&["validate", old_path.to_str().unwrap()]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("valid facts.json v1 (the earlier shape: typed `error` objects"),
        "{}",
        run.stdout
    );
    // Both shapes read alike everywhere else.
    let a = imagefacts(&["report", new.to_str().unwrap(), "-o", "json"]);
    let b = imagefacts(&["report", old_path.to_str().unwrap(), "-o", "json"]);
    assert_eq!(a.status, 0, "{}", a.stderr);
    assert_eq!(b.status, 0, "{}", b.stderr);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn upstream_types_decode_every_error_kind_and_platform_shape() {
    use imagefacts_model::facts::{ErrorKind, FactsError, FactsFile, ImageFacts, PlatformFacts};
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let entries: Vec<ImageFacts> = ErrorKind::ALL
        .iter()
        .map(|&kind| {
            let mut f =
                ImageFacts::empty(imagefacts_model::ImageRef::parse("r/x:1"), "r", "x", now);
            f.error = FactsError::new(kind, format!("{} happened", kind.as_str()), true).into();
            f.platforms.push(PlatformFacts {
                platform: imagefacts_model::Platform::new("linux", "arm64"),
                manifest_digest: imagefacts_model::Digest::sha256_of(b"m"),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                config_digest: None,
                size: u64::MAX >> 1,
                created: Some("2024-01-01T00:00:00Z".into()),
                layers: Vec::new(),
                config: Default::default(),
                labels: Default::default(),
                primary: false,
                error: FactsError::new(kind, "child failed", false).into(),
                not_fetched: false,
            });
            f
        })
        .collect();
    let file = FactsFile::new(now, entries);
    let bytes = serde_json::to_vec(&file).unwrap();
    let v = crate::support::facts_file(&bytes, "every-kind.json");
    let kinds: Vec<&str> = v["imageFacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["errorDetail"]["kind"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(kinds, want);
}
