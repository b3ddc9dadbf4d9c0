//! OCI artifacts reported as what they are, `--supply-chain` (BuildKit attestations, the
//! referrers API, the tag schema) and `nearestTags`, against a real distribution 2.8 (which has
//! no referrers API, so the tag schema is what it serves) and a scripted registry that has one.

use imagefacts_testkit::{
    AccessLogEntry, ImageSpec, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_INDEX,
    MEDIA_TYPE_IMAGE_MANIFEST, MEDIA_TYPE_IN_TOTO, OciLayout, Pushed, Registry, RegistryKind,
    Reply, Request, ScriptedServer,
};
use serde_json::{Value, json};

use crate::support::{inspect, sha256};

const SPDX: &str = "application/spdx+json";
const COSIGN_SIG: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// Seeds a one-platform image (made distinct by `label`) as `repo:tag`; returns what a
/// descriptor of it needs.
fn seed_image(reg: &Registry, layout: &OciLayout, repo: &str, tag: &str, label: &str) -> Pushed {
    let mut spec = ImageSpec::simple("amd64");
    spec.labels.insert("test.image".into(), label.into());
    let digest = layout.add_image(label, &spec).unwrap();
    reg.seed(layout, label, &format!("{repo}:{tag}")).unwrap();
    Pushed {
        size: layout.read_blob(&digest).unwrap().len(),
        digest,
        media_type: MEDIA_TYPE_IMAGE_MANIFEST.to_owned(),
    }
}

fn hex(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap()
}

fn is_blob_get(e: &AccessLogEntry) -> bool {
    e.method == "GET" && e.path.contains("/blobs/")
}

fn count(log: &[AccessLogEntry], pred: impl Fn(&AccessLogEntry) -> bool) -> usize {
    log.iter().filter(|e| pred(e)).count()
}

#[test]
fn an_artifact_is_reported_as_an_artifact_without_platform_error_or_config_fetch() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let host = reg.host();
    let image = seed_image(&reg, &layout, "art/app", "1", "app");
    reg.upload_artifact(
        "art/app",
        Some("sbom"),
        SPDX,
        SPDX,
        br#"{"spdxVersion":"SPDX-2.3"}"#,
        None,
    )
    .unwrap();
    let referrer = reg
        .upload_artifact(
            "art/app",
            Some("sbom-of-1"),
            SPDX,
            SPDX,
            br#"{"spdxVersion":"SPDX-2.3","name":"app"}"#,
            Some(&image),
        )
        .unwrap();
    reg.clear_access_log();
    let run = inspect(
        &reg.imagefacts_args(),
        &[
            format!("{host}/art/app:sbom"),
            format!("{host}/art/app:sbom-of-1"),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stdout);
    let facts = run.facts();
    assert_eq!(facts.len(), 2);
    for f in &facts {
        assert_eq!(f["artifactType"], SPDX, "{f}");
        assert!(f.get("error").is_none(), "{f}");
        assert_eq!(f["platform"], json!({"architecture": "", "os": ""}), "{f}");
        assert!(f.get("configDigest").is_none(), "no image config: {f}");
        assert_eq!(f["layers"][0]["mediaType"], SPDX);
        assert_eq!(f["mediaType"], MEDIA_TYPE_IMAGE_MANIFEST);
    }
    assert!(facts[0].get("subject").is_none(), "{}", facts[0]);
    assert_eq!(facts[1]["subject"], json!(image.digest));
    assert_eq!(facts[1]["digest"], json!(referrer.digest));
    // One manifest GET each; the empty config is never fetched.
    let log = reg.access_log();
    assert_eq!(
        count(&log, |e| e.method == "GET"
            && e.path.contains("/manifests/")),
        2,
        "{log:#?}"
    );
    assert_eq!(count(&log, is_blob_get), 0, "{log:#?}");
}

#[test]
fn an_index_of_artifacts_is_an_artifact_and_attestations_are_never_platforms() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let host = reg.host();
    let image = seed_image(&reg, &layout, "idx/app", "1", "app");
    let sig = reg
        .upload_artifact(
            "idx/app",
            None,
            COSIGN_SIG,
            SIMPLE_SIGNING,
            b"{\"critical\":{}}",
            Some(&image),
        )
        .unwrap();
    let sbom = reg
        .upload_artifact("idx/app", None, SPDX, SPDX, b"{}", Some(&image))
        .unwrap();
    let entry = |p: &Pushed, t: &str| {
        let mut d = p.descriptor();
        d["artifactType"] = t.into();
        d
    };
    let index = json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_INDEX,
        "manifests": [entry(&sig, COSIGN_SIG), entry(&sbom, SPDX)]});
    let sigs_only = json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_INDEX,
        "manifests": [entry(&sig, COSIGN_SIG)]});
    for (tag, doc) in [("referrers", &index), ("signatures", &sigs_only)] {
        reg.upload_manifest(
            "idx/app",
            tag,
            MEDIA_TYPE_IMAGE_INDEX,
            &serde_json::to_vec(doc).unwrap(),
        )
        .unwrap();
    }
    // A two-platform image with a BuildKit attestation per platform.
    let specs = [ImageSpec::simple("amd64"), ImageSpec::simple("arm64")];
    layout.add_index("multi", &specs, true).unwrap();
    reg.seed(&layout, "multi", "idx/multi:1").unwrap();

    let run = inspect(
        &reg.imagefacts_args(),
        &[
            format!("{host}/idx/app:referrers"),
            format!("{host}/idx/app:signatures"),
            format!("{host}/idx/multi:1"),
        ],
    );
    assert_eq!(run.status, 0, "{}", run.stdout);
    let facts = run.facts();
    // Artifacts of several kinds: the index's own media type says so; of one kind, that kind.
    assert_eq!(
        facts[0]["artifactType"], MEDIA_TYPE_IMAGE_INDEX,
        "{}",
        facts[0]
    );
    assert_eq!(facts[1]["artifactType"], COSIGN_SIG, "{}", facts[1]);
    for f in &facts[..2] {
        assert!(f.get("error").is_none(), "not noRunnablePlatform: {f}");
        assert!(f.get("platforms").is_none(), "{f}");
    }
    assert_eq!(facts[0]["attestations"].as_array().unwrap().len(), 2);
    let multi = &facts[2];
    assert!(multi.get("artifactType").is_none(), "{multi}");
    let platforms = multi["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 2, "{multi}");
    assert!(
        platforms.iter().all(|p| p["platform"]["os"] == "linux"),
        "{multi}"
    );
    assert_eq!(multi["attestations"].as_array().unwrap().len(), 2);

    // An index with real platforms, none of them the one asked for, is still noRunnablePlatform.
    let mut flags = reg.imagefacts_args();
    flags.extend(["--platform".to_owned(), "linux/s390x".to_owned()]);
    let run = inspect(&flags, &[format!("{host}/idx/multi:1")]);
    assert_eq!(run.status, 1);
    assert_eq!(run.facts()[0]["errorDetail"]["kind"], "noRunnablePlatform");
}

/// An index of one image and its BuildKit attestation manifest holding an SPDX statement.
fn buildkit_sbom_index(layout: &OciLayout, tag: &str) -> String {
    let spec = ImageSpec::simple("amd64");
    let image = layout.write_image(&spec).unwrap();
    let image_size = layout.read_blob(&image).unwrap().len();
    let statement = layout
        .write_blob(br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","predicate":{}}"#)
        .unwrap();
    let config_bytes = br#"{"architecture":"unknown","os":"unknown","config":{}}"#;
    let config = layout.write_blob(config_bytes).unwrap();
    let attestation = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
        "config": {"mediaType": MEDIA_TYPE_IMAGE_CONFIG, "digest": config, "size": config_bytes.len()},
        "layers": [{"mediaType": MEDIA_TYPE_IN_TOTO, "digest": statement,
            "size": layout.read_blob(&statement).unwrap().len(),
            "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}]
    }))
    .unwrap();
    let att = layout.write_blob(&attestation).unwrap();
    let index = json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_INDEX, "manifests": [
        {"mediaType": MEDIA_TYPE_IMAGE_MANIFEST, "digest": image, "size": image_size,
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": MEDIA_TYPE_IMAGE_MANIFEST, "digest": att, "size": attestation.len(),
         "platform": {"architecture": "unknown", "os": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                         "vnd.docker.reference.digest": image}}]});
    layout
        .add_raw(
            tag,
            MEDIA_TYPE_IMAGE_INDEX,
            &serde_json::to_vec(&index).unwrap(),
        )
        .unwrap()
}

fn artifacts(f: &Value) -> Vec<(String, String)> {
    f["supplyChain"]["artifacts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|a| {
                    (
                        a["kind"].as_str().unwrap().to_owned(),
                        a["found"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// distribution 2.8 has no referrers API: one probe per run learns it, then each repository's
/// tag list (one request per repository, however many images) shows cosign's `.sig` tag (one
/// `HEAD`) and the OCI 1.1 fallback `sha256-<hex>` index of referrers (one `GET`); BuildKit
/// attestations come from the index (one `GET` of the primary's attestation manifest). Without
/// `--supply-chain` none of it is asked.
#[test]
fn supply_chain_on_a_registry_without_the_referrers_api_reads_the_tag_schema() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let host = reg.host();

    let signed = seed_image(&reg, &layout, "sc/signed", "1", "signed");
    reg.seed(&layout, "signed", "sc/signed:also").unwrap();
    let sig_tag = format!("sha256-{}.sig", hex(&signed.digest));
    let sig = reg
        .upload_artifact(
            "sc/signed",
            Some(&sig_tag),
            COSIGN_SIG,
            SIMPLE_SIGNING,
            b"{\"critical\":{}}",
            None,
        )
        .unwrap();

    let referred = seed_image(&reg, &layout, "sc/referred", "1", "referred");
    let sbom = reg
        .upload_artifact(
            "sc/referred",
            None,
            SPDX,
            SPDX,
            b"{\"spdxVersion\":\"SPDX-2.3\"}",
            Some(&referred),
        )
        .unwrap();
    let mut entry = sbom.descriptor();
    entry["artifactType"] = SPDX.into();
    let fallback =
        json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_INDEX, "manifests": [entry]});
    let fallback_tag = format!("sha256-{}", hex(&referred.digest));
    reg.upload_manifest(
        "sc/referred",
        &fallback_tag,
        MEDIA_TYPE_IMAGE_INDEX,
        &serde_json::to_vec(&fallback).unwrap(),
    )
    .unwrap();

    seed_image(&reg, &layout, "sc/nothing", "1", "nothing");
    buildkit_sbom_index(&layout, "bk");
    reg.seed(&layout, "bk", "sc/buildkit:1").unwrap();

    let refs: Vec<String> = [
        "sc/signed:1",
        "sc/signed:also",
        "sc/referred:1",
        "sc/nothing:1",
        "sc/buildkit:1",
    ]
    .iter()
    .map(|r| format!("{host}/{r}"))
    .collect();

    // Off by default: no tag list, no referrers, nothing beside the images.
    reg.clear_access_log();
    let plain = inspect(&reg.imagefacts_args(), &refs);
    assert_eq!(plain.status, 0, "{}", plain.stdout);
    assert!(plain.facts().iter().all(|f| f.get("supplyChain").is_none()));
    assert!(plain.json()["summary"].get("supplyChain").is_none());
    let without = reg.access_log();
    assert!(
        without
            .iter()
            .all(|e| !e.path.contains("/tags/list") && !e.path.contains("/referrers/")),
        "{without:#?}"
    );

    reg.clear_access_log();
    let mut flags = reg.imagefacts_args();
    flags.push("--supply-chain".to_owned());
    let run = inspect(&flags, &refs);
    assert_eq!(run.status, 0, "{}", run.stdout);
    let facts = run.facts();
    for f in &facts {
        let sc = &f["supplyChain"];
        assert_eq!(sc["method"], "tagSchema", "{f}");
        assert!(sc.get("error").is_none(), "{f}");
    }
    for f in &facts[..2] {
        let sc = &f["supplyChain"];
        assert_eq!(
            (
                sc["signed"].as_bool(),
                sc["attested"].as_bool(),
                sc["sbom"].as_bool()
            ),
            (Some(true), Some(false), Some(false)),
            "{f}"
        );
        assert_eq!(
            artifacts(f),
            [("signature".to_owned(), format!("tag:{sig_tag}"))]
        );
        assert_eq!(sc["artifacts"][0]["digest"], json!(sig.digest));
        assert_eq!(sc["artifacts"][0]["mediaType"], MEDIA_TYPE_IMAGE_MANIFEST);
    }
    let referred_sc = &facts[2]["supplyChain"];
    assert_eq!(
        artifacts(&facts[2]),
        [("sbom".to_owned(), format!("tag:{fallback_tag}"))]
    );
    assert_eq!(referred_sc["sbom"], true);
    assert_eq!(referred_sc["signed"], false);
    assert_eq!(referred_sc["artifacts"][0]["digest"], json!(sbom.digest));
    assert_eq!(referred_sc["artifacts"][0]["artifactType"], SPDX);
    let nothing = &facts[3]["supplyChain"];
    assert_eq!(
        (
            nothing["signed"].as_bool(),
            nothing["attested"].as_bool(),
            nothing["sbom"].as_bool()
        ),
        (Some(false), Some(false), Some(false))
    );
    assert!(nothing.get("artifacts").is_none(), "{nothing}");
    let buildkit = &facts[4]["supplyChain"];
    assert_eq!(
        artifacts(&facts[4]),
        [
            ("attestation".to_owned(), "index".to_owned()),
            ("sbom".to_owned(), "index".to_owned())
        ]
    );
    assert_eq!(
        (buildkit["attested"].as_bool(), buildkit["sbom"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        run.json()["summary"]["supplyChain"],
        json!({"checked": 5, "signed": 2, "attested": 1, "sbom": 2})
    );

    // The cost beside the images' own requests.
    let with = reg.access_log();
    let extra = with.len() - without.len();
    let tag_lists: Vec<&str> = with
        .iter()
        .filter(|e| e.path.contains("/tags/list"))
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(tag_lists.len(), 4, "one per repository: {tag_lists:#?}");
    assert_eq!(
        count(&with, |e| e.path.contains("/referrers/")),
        1,
        "one probe per registry"
    );
    assert_eq!(
        count(&with, |e| e.method == "HEAD" && e.path.ends_with(".sig")),
        1,
        "{with:#?}"
    );
    assert_eq!(
        count(&with, |e| e.method == "GET"
            && e.path.ends_with(&fallback_tag)),
        1
    );
    // 4 tag lists + 1 referrers probe + 1 HEAD + 1 fallback index + 1 attestation manifest.
    assert_eq!(extra, 8, "{with:#?}");

    // The insight: each image without a signature, none for the signed ones; no request.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("facts.json");
    std::fs::write(&file, &run.stdout).unwrap();
    reg.clear_access_log();
    let analysis =
        crate::support::imagefacts(&["analyze", "-o", "json", &file.display().to_string()]);
    assert_eq!(analysis.status, 0, "{}", analysis.stderr);
    assert!(reg.access_log().is_empty());
    let results: Vec<Value> = serde_json::from_str(&analysis.stdout).unwrap();
    let unsigned: std::collections::BTreeSet<&str> = results
        .iter()
        .filter(|r| r["labels"]["cause"] == "unsigned")
        .map(|r| r["variables"]["image"].as_str().unwrap())
        .collect();
    let want: std::collections::BTreeSet<&str> = refs[2..].iter().map(String::as_str).collect();
    assert_eq!(unsigned, want, "{results:#?}");
}

/// A registry with the referrers API: its answer is used (`method: referrersApi`), the
/// `sha256-<hex>` fallback tag is not looked for, cosign's tags still are (one tag list).
#[test]
fn supply_chain_uses_the_referrers_api_where_the_registry_has_it() {
    let config = br#"{"architecture":"amd64","os":"linux","config":{}}"#.to_vec();
    let manifest = json!({
        "schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
        "config": {"mediaType": MEDIA_TYPE_IMAGE_CONFIG, "digest": sha256(&config), "size": config.len()},
        "layers": []
    })
    .to_string()
    .into_bytes();
    let digest = sha256(&manifest);
    let (sig, sbom) = (sha256(b"sig"), sha256(b"sbom"));
    let referrers = json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_IMAGE_INDEX, "manifests": [
        {"mediaType": MEDIA_TYPE_IMAGE_MANIFEST, "digest": sig, "size": 3, "artifactType": "application/vnd.cncf.notary.signature"},
        {"mediaType": MEDIA_TYPE_IMAGE_MANIFEST, "digest": sbom, "size": 4, "artifactType": "application/vnd.cyclonedx+json"}]});
    let referrers_path = format!("/v2/app/referrers/{digest}");
    let config_path = format!("/v2/app/blobs/{}", sha256(&config));
    let server = ScriptedServer::start(move |req: &Request| match req.path_only() {
        "/v2/app/manifests/1" => Reply::new(200)
            .header("Content-Type", MEDIA_TYPE_IMAGE_MANIFEST)
            .header("Docker-Content-Digest", digest.clone())
            .body(manifest.clone()),
        "/v2/app/tags/list" => Reply::new(200).json(&json!({"name": "app", "tags": ["1"]})),
        p if p == referrers_path => Reply::new(200)
            .header("Content-Type", MEDIA_TYPE_IMAGE_INDEX)
            .body(serde_json::to_vec(&referrers).unwrap()),
        p if p == config_path => Reply::new(200).body(config.clone()),
        _ => Reply::new(404),
    })
    .unwrap();
    let host = server.host();
    let flags = vec![
        "--insecure-registry".to_owned(),
        host.clone(),
        "--supply-chain".to_owned(),
    ];
    let run = inspect(&flags, &[format!("{host}/app:1")]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    let f = &run.facts()[0];
    let sc = &f["supplyChain"];
    assert_eq!(sc["method"], "referrersApi", "{f}");
    assert_eq!(
        (
            sc["signed"].as_bool(),
            sc["attested"].as_bool(),
            sc["sbom"].as_bool()
        ),
        (Some(true), Some(false), Some(true))
    );
    assert_eq!(
        artifacts(f),
        [
            ("signature".to_owned(), "referrers".to_owned()),
            ("sbom".to_owned(), "referrers".to_owned())
        ]
    );
    assert_eq!(sc["artifacts"][0]["digest"], json!(sig));
    assert!(sc.get("error").is_none(), "{sc}");
    let asked: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        asked.iter().filter(|r| r.contains("/referrers/")).count(),
        1,
        "{asked:#?}"
    );
    assert_eq!(
        asked.iter().filter(|r| r.contains("/tags/list")).count(),
        1,
        "{asked:#?}"
    );
    assert!(
        !asked.iter().any(|r| r.contains("/manifests/sha256-")),
        "{asked:#?}"
    );
}

/// A missing tag gets the repository's nearest tags, from one tag list however many tags of the
/// repository are missing; a missing repository gets none.
#[test]
fn a_missing_tag_lists_the_nearest_existing_tags_from_one_tag_list() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    layout.add_image("x", &ImageSpec::simple("amd64")).unwrap();
    for tag in ["1.0", "1.0.0", "1.1"] {
        reg.seed(&layout, "x", &format!("near/app:{tag}")).unwrap();
    }
    let host = reg.host();
    reg.clear_access_log();
    let run = inspect(
        &reg.imagefacts_args(),
        &[
            format!("{host}/near/app:1.0.1"),
            format!("{host}/near/app:1.1.1"),
            format!("{host}/near/gone:1.0"),
        ],
    );
    assert_eq!(run.status, 1, "{}", run.stdout);
    let facts = run.facts();
    assert_eq!(
        facts[0]["errorDetail"]["code"], "MANIFEST_UNKNOWN",
        "{}",
        facts[0]
    );
    assert_eq!(facts[0]["nearestTags"], json!(["1.0.0", "1.0", "1.1"]));
    assert_eq!(facts[1]["nearestTags"][0], "1.1", "{}", facts[1]);
    assert_eq!(
        facts[2]["errorDetail"]["code"], "NAME_UNKNOWN",
        "{}",
        facts[2]
    );
    assert!(facts[2].get("nearestTags").is_none());
    let log = reg.access_log();
    let lists = |repo: &str| {
        let path = format!("/v2/{repo}/tags/list");
        count(&log, |e| e.path == path)
    };
    assert_eq!(lists("near/app"), 1, "two missing tags, one list: {log:#?}");
    assert!(lists("near/gone") <= 1, "{log:#?}");
    assert_eq!(
        count(&log, |e| e.path.contains("/tags/list")),
        1 + lists("near/gone")
    );
}
