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
    v["imageFacts"][0]["error"]["kind"] = "weird".into();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let run = imagefacts(&["validate", bad.to_str().unwrap()]);
    assert_eq!(run.status, 1);
    for path in ["/version", "/imageFacts/0/size", "/imageFacts/0/error"] {
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
