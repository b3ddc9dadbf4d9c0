//! `imagefacts inspect` against real registries, compared field by field with `skopeo inspect`.

use imagefacts_testkit::{
    Fixtures, Registry, RegistryKind, push_fixtures, skopeo_inspect_config, skopeo_inspect_raw,
};
use serde_json::{Value, json};

use crate::support::{inspect, sha256};

fn or_empty_obj(v: &Value) -> Value {
    if v.is_null() { json!({}) } else { v.clone() }
}

fn or_empty_arr(v: &Value) -> Value {
    if v.is_null() { json!([]) } else { v.clone() }
}

/// Checks the facts of one image manifest (`facts` is a top-level entry or a `platforms[]` item)
/// against skopeo's view of `repo_ref` (`repo@digest` or `repo:tag`).
fn check_manifest_facts(reg: &Registry, repo_ref: &str, facts: &Value) {
    let raw: Value = serde_json::from_slice(&skopeo_inspect_raw(reg, repo_ref).unwrap()).unwrap();
    let layers: Vec<Value> = raw["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| json!({"digest": l["digest"], "size": l["size"], "mediaType": l["mediaType"]}))
        .collect();
    assert_eq!(facts["layers"], json!(layers), "layers of {repo_ref}");
    let size: u64 = layers.iter().map(|l| l["size"].as_u64().unwrap()).sum();
    assert_eq!(facts["size"], json!(size), "size of {repo_ref}");
    assert_eq!(
        facts["configDigest"], raw["config"]["digest"],
        "configDigest of {repo_ref}"
    );

    let cfg = skopeo_inspect_config(reg, repo_ref).unwrap();
    let c = &cfg["config"];
    let f = &facts["config"];
    assert_eq!(
        f.get("user").cloned().unwrap_or(json!("")),
        c.get("User").cloned().unwrap_or(json!(""))
    );
    assert_eq!(
        or_empty_obj(&f["exposedPorts"]),
        or_empty_obj(&c["ExposedPorts"]),
        "ports of {repo_ref}"
    );
    assert_eq!(
        or_empty_arr(&f["env"]),
        or_empty_arr(&c["Env"]),
        "env of {repo_ref}"
    );
    assert_eq!(
        or_empty_arr(&f["entrypoint"]),
        or_empty_arr(&c["Entrypoint"]),
        "entrypoint of {repo_ref}"
    );
    assert_eq!(
        or_empty_arr(&f["cmd"]),
        or_empty_arr(&c["Cmd"]),
        "cmd of {repo_ref}"
    );
    assert_eq!(
        or_empty_obj(&f["volumes"]),
        or_empty_obj(&c["Volumes"]),
        "volumes of {repo_ref}"
    );
    assert_eq!(
        f.get("workingDir").cloned().unwrap_or(json!("")),
        c.get("WorkingDir").cloned().unwrap_or(json!("")),
        "workingDir of {repo_ref}"
    );
    assert_eq!(
        or_empty_obj(&facts["labels"]),
        or_empty_obj(&c["Labels"]),
        "labels of {repo_ref}"
    );
    assert_eq!(facts["created"], cfg["created"], "created of {repo_ref}");
}

/// Checks a whole entry: top-level digest and media type, and every platform of an index.
fn check_entry(reg: &Registry, repo_tag: &str, expected_digest: &str, entry: &Value) {
    assert!(entry.get("error").is_none(), "{repo_tag} failed: {entry}");
    let raw_bytes = skopeo_inspect_raw(reg, repo_tag).unwrap();
    let raw: Value = serde_json::from_slice(&raw_bytes).unwrap();
    assert_eq!(
        entry["digest"],
        json!(sha256(&raw_bytes)),
        "digest of {repo_tag}"
    );
    assert_eq!(
        entry["digest"],
        json!(expected_digest),
        "digest of {repo_tag}"
    );
    assert_eq!(
        entry["mediaType"], raw["mediaType"],
        "mediaType of {repo_tag}"
    );
    assert_eq!(entry["schemaVersion"], json!(2));
    let repo = repo_tag.split(':').next().unwrap();
    match raw.get("manifests").and_then(Value::as_array) {
        None => {
            assert_eq!(entry["manifestDigest"], entry["digest"]);
            check_manifest_facts(reg, repo_tag, entry);
        }
        Some(children) => {
            let platforms = entry["platforms"]
                .as_array()
                .expect("platforms of an index");
            let attestations = entry["attestations"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                platforms.len() + attestations.len(),
                children.len(),
                "children of {repo_tag}"
            );
            for child in children {
                let digest = child["digest"].as_str().unwrap();
                let is_att = child["platform"]["os"] == "unknown";
                if is_att {
                    assert!(
                        attestations.iter().any(|a| a["manifestDigest"] == digest),
                        "attestation {digest} listed"
                    );
                    continue;
                }
                let p = platforms
                    .iter()
                    .find(|p| p["manifestDigest"] == digest)
                    .unwrap_or_else(|| panic!("platform {digest} of {repo_tag} listed"));
                assert_eq!(
                    p["platform"]["architecture"],
                    child["platform"]["architecture"]
                );
                assert_eq!(p["platform"]["os"], child["platform"]["os"]);
                assert_eq!(p["mediaType"], child["mediaType"]);
                check_manifest_facts(reg, &format!("{repo}@{digest}"), p);
            }
            // The primary platform is linux/amd64 and fills the top level.
            let primary = platforms.iter().find(|p| p["primary"] == true).unwrap();
            assert_eq!(primary["platform"]["architecture"], "amd64");
            assert_eq!(entry["manifestDigest"], primary["manifestDigest"]);
            assert_eq!(entry["configDigest"], primary["configDigest"]);
            assert_eq!(entry["layers"], primary["layers"]);
            assert_eq!(entry["config"], primary["config"]);
        }
    }
}

fn inspect_all_fixtures(kind: RegistryKind) {
    let reg = Registry::start(kind).unwrap();
    let fx: Fixtures = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let cases = [
        (&fx.single, &fx.single_digest),
        (&fx.multi_oci, &fx.multi_oci_digest),
        (&fx.single_v2s2, &fx.single_v2s2_digest),
        (&fx.multi_v2s2, &fx.multi_v2s2_digest),
    ];
    let refs: Vec<String> = cases.iter().map(|(r, _)| format!("{host}/{r}")).collect();
    let run = inspect(&reg.imagefacts_args(), &refs);
    assert_eq!(
        run.status, 0,
        "stderr: {}\nstdout: {}",
        run.stderr, run.stdout
    );
    let facts = run.facts();
    assert_eq!(facts.len(), refs.len());
    for ((repo_tag, digest), entry) in cases.iter().zip(&facts) {
        assert_eq!(entry["reference"], json!(format!("{host}/{repo_tag}")));
        assert_eq!(entry["registry"], json!(host));
        assert_eq!(entry["source"], "registry");
        check_entry(&reg, repo_tag, digest, entry);
    }
    // Media types: OCI stays OCI, v2s2 stays v2s2 (never converted to schema 1).
    assert_eq!(
        facts[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        facts[1]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        facts[2]["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(
        facts[3]["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    // Build info from labels and annotations.
    let bi = &facts[0]["buildInfo"];
    assert!(
        bi["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://")),
        "{bi}"
    );
    assert!(
        bi["revision"].is_string() && bi["version"].is_string() && bi["created"].is_string(),
        "{bi}"
    );
    // Summary.
    let summary = &run.json()["summary"];
    assert_eq!(summary["totalImages"], 4);
    assert_eq!(summary["collectionErrors"], 0);
    assert_eq!(summary["uniqueRegistries"], 1);
    assert_eq!(summary["uniqueRepositories"], 4);
}

#[test]
fn plain_registry_facts_match_skopeo() {
    inspect_all_fixtures(RegistryKind::Plain);
}

#[test]
fn tls_basic_auth_registry_facts_match_skopeo() {
    inspect_all_fixtures(RegistryKind::TlsBasic);
}

#[test]
fn token_auth_registry_facts_match_skopeo() {
    inspect_all_fixtures(RegistryKind::Token);
}

#[test]
fn platform_flag_selects_primary_and_digest_pins_work() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let mut a = reg.imagefacts_args();
    a.extend(["--platform".to_owned(), "linux/arm64".to_owned()]);
    let pinned = format!(
        "{host}/{}@{}",
        fx.single.split(':').next().unwrap(),
        fx.single_digest
    );
    let tagged_and_pinned = format!("{host}/{}@{}", fx.single, fx.single_digest);
    let run = inspect(
        &a,
        &[
            format!("{host}/{}", fx.multi_oci),
            pinned,
            tagged_and_pinned,
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    let facts = run.facts();
    assert_eq!(facts[0]["platform"]["architecture"], "arm64");
    assert_eq!(facts[0]["platform"]["variant"], "v8");
    let primary = facts[0]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["primary"] == true)
        .unwrap()
        .clone();
    assert_eq!(facts[0]["manifestDigest"], primary["manifestDigest"]);
    for f in &facts[1..] {
        assert_eq!(f["digest"], json!(fx.single_digest));
    }
    assert_eq!(facts[1]["tag"], "");
    assert!(facts[1].get("tagDrift").is_none(), "no tag, no drift");
    assert_eq!(facts[2]["tag"], "1.0");
    assert_eq!(
        facts[2]["tagDrift"], false,
        "the tag still points at the pinned digest"
    );
    assert_eq!(facts[2]["tagDigest"], json!(fx.single_digest));

    // A platform the index lacks is an error naming what is there.
    let mut a = reg.imagefacts_args();
    a.extend(["--platform".to_owned(), "linux/s390x".to_owned()]);
    let run = inspect(&a, &[format!("{host}/{}", fx.multi_oci)]);
    assert_eq!(run.status, 1);
    let f = &run.facts()[0];
    let err = &f["errorDetail"];
    assert_eq!(err["kind"], "noRunnablePlatform");
    assert_eq!(err["step"], "platform");
    assert!(
        err["message"].as_str().unwrap().contains("linux/arm64"),
        "{err}"
    );
    // What the index gave is kept.
    assert_eq!(f["partial"], true);
    assert!(f["digest"].is_string() && f["platforms"].as_array().is_some_and(|p| p.len() >= 2));
}
