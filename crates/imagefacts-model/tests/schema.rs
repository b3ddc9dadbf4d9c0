//! The committed `schema/facts.v1.schema.json` is exactly what the types generate.
//! Regenerate with `UPDATE_SCHEMA=1 cargo test -p imagefacts-model --test schema`.

use std::path::Path;

#[test]
fn committed_schema_matches_the_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/facts.v1.schema.json");
    let mut generated =
        serde_json::to_string_pretty(&imagefacts_model::facts::facts_schema()).unwrap();
    generated.push('\n');
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/facts.v1.schema.json differs from the types: run `UPDATE_SCHEMA=1 cargo test -p imagefacts-model --test schema` and review the diff"
    );
    let v: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
}
