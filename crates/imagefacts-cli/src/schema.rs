//! `imagefacts schema` and `imagefacts validate FILE`: the published facts.json specification and a
//! checker for files claiming to follow it.

use std::path::Path;

use anyhow::Context as _;
use imagefacts_model::facts::{Shape, facts_schema, upgrade};

use crate::Outcome;
use crate::output::write_output;

pub(crate) fn print_schema() -> anyhow::Result<Outcome> {
    let mut json = serde_json::to_vec_pretty(&facts_schema())?;
    json.push(b'\n');
    write_output(None, &json)?;
    Ok(Outcome::Success)
}

/// The violations of `instance` against the facts.json schema, as `path: message` lines.
pub fn violations(instance: &serde_json::Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(&facts_schema())
        .expect("the generated schema is a valid draft 2020-12 schema");
    validator
        .iter_errors(instance)
        .map(|e| {
            let path = e.instance_path().to_string();
            format!("{}: {e}", if path.is_empty() { "/" } else { &path })
        })
        .collect()
}

/// Exit 0 when `file` is valid, 1 with one line per violation when it is not.
pub(crate) fn validate(file: &Path) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut instance: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", file.display()))?;
    let shape = match upgrade(&mut instance) {
        Shape::Current => "",
        Shape::ErrorObjects => {
            " (the earlier shape: typed `error` objects, read as `errorDetail`; upstream's Go types cannot decode it, `imagefacts report` can)"
        }
    };
    let found = violations(&instance);
    if found.is_empty() {
        println!("{}: valid facts.json v1{shape}", file.display());
        return Ok(Outcome::Success);
    }
    if !shape.is_empty() {
        eprintln!("{}: read as{shape}", file.display());
    }
    for v in &found {
        println!("{}: {v}", file.display());
    }
    eprintln!("{}: {} schema violation(s)", file.display(), found.len());
    Ok(Outcome::Partial)
}
