//! Each analyzer and each pull-failure cause on facts built as collection builds them.

use imagefacts_analysis::{AnalysisResult, Options, Severity, analyze};
use imagefacts_model::discovery::{
    ContainerType, NodeImage, PullFailure, PullSecretInfo, RunningDigest, RunningDigestKind,
    SecretRef, WorkloadRef,
};
use imagefacts_model::facts::{
    ErrorKind, FactsError, FactsFile, Failure, ImageFacts, PlatformFacts, SupplyChain,
};
use imagefacts_model::{Digest, ImageRef, Platform};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::parse(
        "2026-12-01T00:00:00Z",
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

fn digest(c: char) -> Digest {
    format!("sha256:{}", c.to_string().repeat(64))
        .parse()
        .unwrap()
}

fn amd64() -> Platform {
    "linux/amd64".parse().unwrap()
}

/// A healthy single-platform image used by `shop/web` (pod `web-1`).
fn image(reference: &str) -> ImageFacts {
    let r = ImageRef::parse(reference);
    let mut f = match r.reference() {
        Ok(parsed) => {
            let parsed = parsed.clone();
            let mut f = ImageFacts::empty(r, parsed.registry(), parsed.repository(), now());
            f.tag = parsed.tag().unwrap_or_default().to_owned();
            f
        }
        Err(_) => ImageFacts::empty(r, "", "", now()),
    };
    f.digest = Some(digest('a'));
    f.platform = amd64();
    f.created = Some("2026-10-01T00:00:00Z".into());
    f.auth_source = Some("anonymous".into());
    f.workloads = vec![WorkloadRef {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "web".into(),
        container: "app".into(),
        container_type: ContainerType::Regular,
        pods: vec!["web-1".into()],
        inferred: false,
        cluster: None,
    }];
    f.node_platforms = vec![amd64()];
    f
}

fn failing(mut f: ImageFacts, reason: &str) -> ImageFacts {
    f.pull_failures = vec![PullFailure {
        namespace: "shop".into(),
        pod: "web-1".into(),
        container: "app".into(),
        reason: reason.into(),
        message: "rpc error: code = NotFound".into(),
    }];
    f
}

fn error(mut f: ImageFacts, kind: ErrorKind, code: Option<&str>) -> ImageFacts {
    let mut e = FactsError::new(kind, format!("{kind:?} happened"), false);
    e.code = code.map(str::to_owned);
    f.error = Failure::from(e);
    f.digest = None;
    f
}

fn run(images: Vec<ImageFacts>, secrets: Vec<PullSecretInfo>) -> Vec<AnalysisResult> {
    let mut file = FactsFile::new(now(), images);
    file.pull_secrets = secrets;
    analyze(
        &file,
        &Options {
            now: now(),
            ..Options::default()
        },
    )
}

/// The non-pass results of `analyzer`.
fn of<'a>(results: &'a [AnalysisResult], analyzer: &str) -> Vec<&'a AnalysisResult> {
    results
        .iter()
        .filter(|r| r.labels["analyzer"] == analyzer && r.severity != Severity::Debug)
        .collect()
}

/// The one pull-failure insight of the pod, and its cause.
fn cause(images: Vec<ImageFacts>, secrets: Vec<PullSecretInfo>) -> (String, AnalysisResult) {
    let results = run(images, secrets);
    let pulls = of(&results, "pullFailure");
    assert_eq!(pulls.len(), 1, "{pulls:#?}");
    let r = pulls[0].clone();
    assert_eq!(r.severity, Severity::Error);
    assert_eq!(r.insight.severity, Severity::Error);
    assert_eq!(r.error, r.insight.detail);
    let object = r.involved_object.clone().unwrap();
    assert_eq!(
        (
            object.kind.as_str(),
            object.namespace.as_str(),
            object.name.as_str()
        ),
        ("Pod", "shop", "web-1")
    );
    assert_eq!(r.variables["workload"], "Deployment shop/web");
    assert!(r.variables.contains_key("hint"));
    (r.labels["cause"].clone(), r)
}

fn secret(names: &[&str]) -> Vec<SecretRef> {
    names
        .iter()
        .map(|n| SecretRef {
            namespace: "shop".into(),
            name: (*n).into(),
            cluster: None,
        })
        .collect()
}

#[test]
fn an_invalid_reference_is_named() {
    let f = error(
        failing(image("reg.example/App:1"), "InvalidImageName"),
        ErrorKind::InvalidReference,
        None,
    );
    let (c, r) = cause(vec![f], vec![]);
    assert_eq!(c, "invalidReference");
    assert!(
        r.insight.detail.contains("cannot parse"),
        "{}",
        r.insight.detail
    );
}

#[test]
fn a_missing_tag_names_the_nearest_tags() {
    let mut f = error(
        failing(image("reg.example/app:1.2.4"), "ErrImagePull"),
        ErrorKind::NotFound,
        Some("MANIFEST_UNKNOWN"),
    );
    f.nearest_tags = vec!["1.2.3".into(), "1.2.5".into()];
    let (c, r) = cause(vec![f], vec![]);
    assert_eq!(c, "tagNotFound");
    assert!(
        r.insight.detail.contains("1.2.3, 1.2.5"),
        "{}",
        r.insight.detail
    );
    assert_eq!(r.name, "imagefacts.pull.failure.tag.not.found");
}

#[test]
fn a_missing_repository_is_named() {
    let f = error(
        failing(image("reg.example/nope:1"), "ErrImagePull"),
        ErrorKind::NotFound,
        Some("NAME_UNKNOWN"),
    );
    assert_eq!(cause(vec![f], vec![]).0, "repositoryNotFound");
}

#[test]
fn an_auth_failure_without_a_pull_secret_says_so() {
    let f = error(
        failing(image("reg.example/private:1"), "ImagePullBackOff"),
        ErrorKind::Auth,
        None,
    );
    let (c, r) = cause(vec![f], vec![]);
    assert_eq!(c, "noPullSecret");
    assert!(
        r.insight
            .detail
            .contains("names no pull secret in namespace shop")
    );
}

#[test]
fn a_pull_secret_for_another_registry_is_no_pull_secret() {
    let mut f = error(
        failing(image("reg.example/private:1"), "ErrImagePull"),
        ErrorKind::Auth,
        None,
    );
    f.pull_secrets = secret(&["other"]);
    let infos = vec![PullSecretInfo {
        namespace: "shop".into(),
        name: "other".into(),
        registries: vec!["https://index.docker.io/v1/".into()],
        cluster: None,
    }];
    let (c, r) = cause(vec![f], infos);
    assert_eq!(c, "noPullSecret");
    assert!(
        r.insight.detail.contains("shop/other"),
        "{}",
        r.insight.detail
    );
}

#[test]
fn refused_credentials_name_their_source() {
    let mut f = error(
        failing(image("reg.example/private:1"), "ErrImagePull"),
        ErrorKind::Auth,
        Some("UNAUTHORIZED"),
    );
    f.pull_secrets = secret(&["regcred"]);
    f.auth_source = Some("pullSecret:shop/regcred".into());
    let infos = vec![PullSecretInfo {
        namespace: "shop".into(),
        name: "regcred".into(),
        registries: vec!["reg.example".into()],
        cluster: None,
    }];
    let (c, r) = cause(vec![f], infos);
    assert_eq!(c, "credentialsRefused");
    assert!(r.insight.detail.contains("pullSecret:shop/regcred"));
    assert_eq!(r.variables["authSource"], "pullSecret:shop/regcred");
}

#[test]
fn rate_limits_unreachable_registries_tls_blocks_and_server_errors() {
    for (kind, want) in [
        (ErrorKind::RateLimited, "rateLimited"),
        (ErrorKind::Network, "registryUnreachable"),
        (ErrorKind::Timeout, "registryUnreachable"),
        (ErrorKind::Tls, "tls"),
        (ErrorKind::Blocked, "blocked"),
        (ErrorKind::Server, "registryError"),
        (ErrorKind::NoRunnablePlatform, "noPlatform"),
        (ErrorKind::NotCached, "notChecked"),
    ] {
        let f = error(
            failing(image("reg.example/app:1"), "ErrImagePull"),
            kind,
            None,
        );
        assert_eq!(cause(vec![f], vec![]).0, want, "{kind:?}");
    }
}

#[test]
fn an_image_without_the_nodes_platform_is_the_cause() {
    let mut f = failing(image("reg.example/app:1"), "ErrImagePull");
    f.node_platforms = vec!["linux/s390x".parse().unwrap()];
    let (c, r) = cause(vec![f], vec![]);
    assert_eq!(c, "noPlatform");
    assert!(r.insight.detail.contains("linux/s390x"));
}

#[test]
fn an_image_that_pulls_from_here_points_at_the_node() {
    let f = failing(image("reg.example/app:1"), "ErrImagePull");
    assert_eq!(cause(vec![f], vec![]).0, "pullableFromHere");
    // Pulled with the user's own credentials, but the pod has no secret: that is the cause.
    let mut f = failing(image("reg.example/app:1"), "ErrImagePull");
    f.auth_source = Some("dockerConfig:/home/me/.docker/config.json".into());
    assert_eq!(cause(vec![f], vec![]).0, "noPullSecret");
}

#[test]
fn healthy_images_get_only_passes() {
    let results = run(vec![image("reg.example/app:1")], vec![]);
    assert!(
        results.iter().all(|r| r.severity == Severity::Debug),
        "{results:#?}"
    );
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r.labels["cause"] == "pass"));
}

#[test]
fn drift_in_time_and_across_nodes() {
    let mut f = image("reg.example/app:1");
    f.tag_digest = Some(digest('b'));
    f.tag_drift = Some(true);
    f.running_digests = vec![RunningDigest {
        digest: digest('a'),
        kind: RunningDigestKind::RepoDigest,
        repository: None,
        pods: vec!["shop/web-1".into()],
    }];
    let results = run(vec![f], vec![]);
    let drift = of(&results, "tagDrift");
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].labels["cause"], "tagMoved");
    assert_eq!(drift[0].severity, Severity::Warn);
    assert!(drift[0].insight.detail.contains(digest('b').short()));

    let mut f = image("reg.example/app:1");
    f.node_images = vec![
        NodeImage {
            node: "n1".into(),
            digest: Some(digest('a')),
            size_bytes: None,
        },
        NodeImage {
            node: "n2".into(),
            digest: Some(digest('c')),
            size_bytes: None,
        },
    ];
    f.node_digests_differ = true;
    let results = run(vec![f], vec![]);
    let drift = of(&results, "tagDrift");
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].labels["cause"], "digestsDiffer");
    assert!(drift[0].insight.detail.contains("2 different digests"));
}

#[test]
fn a_platform_its_nodes_run_is_missing() {
    let mut f = image("reg.example/app:1");
    let child: PlatformFacts = serde_json::from_value(serde_json::json!({
        "platform": {"os": "linux", "architecture": "amd64"},
        "manifestDigest": digest('d').to_string(),
        "mediaType": "application/vnd.oci.image.manifest.v1+json"
    }))
    .unwrap();
    f.platforms = vec![child];
    f.node_platforms = vec![amd64(), "linux/arm64".parse().unwrap()];
    let results = run(vec![f], vec![]);
    let m = of(&results, "platformMismatch");
    assert_eq!(m.len(), 1, "{results:#?}");
    assert!(m[0].insight.detail.contains("linux/arm64"));
}

#[test]
fn latest_digestless_in_production_and_stale() {
    let results = run(
        vec![
            image("reg.example/app:latest"),
            image("reg.example/untagged"),
        ],
        vec![],
    );
    let refs = of(&results, "references");
    assert_eq!(refs.len(), 2, "{refs:#?}");
    assert!(refs.iter().all(|r| r.labels["cause"] == "mutableTag"));

    let mut prod = image("reg.example/app:1");
    prod.workloads[0].namespace = "prod".into();
    let mut pinned = image(&format!("reg.example/app:1@{}", digest('a')));
    pinned.workloads[0].namespace = "prod".into();
    let results = run(vec![prod, pinned], vec![]);
    let refs = of(&results, "references");
    assert_eq!(refs.len(), 1, "{refs:#?}");
    assert_eq!(refs[0].labels["cause"], "noDigestInProduction");
    assert_eq!(refs[0].severity, Severity::Info);

    let mut old = image("reg.example/app:1");
    old.created = Some("2020-01-01T00:00:00Z".into());
    let results = run(vec![old], vec![]);
    let refs = of(&results, "references");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].labels["cause"], "stale");
    assert!(
        refs[0].insight.detail.contains("2526 days"),
        "{}",
        refs[0].insight.detail
    );
}

#[test]
fn unsigned_images_are_named() {
    let mut signed = image("reg.example/signed:1");
    signed.supply_chain = Some(Box::new(SupplyChain {
        signed: true,
        ..SupplyChain::default()
    }));
    let mut unsigned = image("reg.example/unsigned:1");
    unsigned.supply_chain = Some(Box::new(SupplyChain {
        sbom: true,
        ..SupplyChain::default()
    }));
    let results = run(
        vec![signed, unsigned, image("reg.example/unchecked:1")],
        vec![],
    );
    let s = of(&results, "supplyChain");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].variables["image"], "reg.example/unsigned:1");
    assert!(s[0].insight.detail.contains("an SBOM"));
}

#[test]
fn results_are_worst_first_and_shaped_like_troubleshoot() {
    let f = error(
        failing(image("reg.example/app:latest"), "ErrImagePull"),
        ErrorKind::Network,
        None,
    );
    let results = run(vec![f], vec![]);
    let severities: Vec<Severity> = results.iter().map(|r| r.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort();
    assert_eq!(severities, sorted);
    let v = serde_json::to_value(&results[0]).unwrap();
    for key in [
        "name",
        "labels",
        "insight",
        "severity",
        "analyzerSpec",
        "variables",
        "error",
        "involvedObject",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    for key in ["name", "labels", "primary", "detail", "severity"] {
        assert!(
            v["insight"].get(key).is_some(),
            "insight.{key} missing: {v}"
        );
    }
    assert_eq!(v["severity"], "error");
    assert_eq!(v["analyzerSpec"], "imagefacts/pullFailure");
}
