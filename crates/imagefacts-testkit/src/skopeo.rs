//! skopeo wrappers and the standard fixture set.

use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::layout::{ImageSpec, OciLayout};
use crate::registry::Registry;

/// Upper bound for one skopeo command (`--command-timeout`).
const SKOPEO_TIMEOUT: &str = "120s";

/// Manifest format of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PushFormat {
    /// Keep the OCI media types (digests of the layout are preserved).
    Oci,
    /// Convert to Docker v2 schema 2 (`--format v2s2`; an index becomes a manifest list; digests change).
    V2s2,
}

/// Runs `skopeo --command-timeout 120s ARGS...` and returns its stdout; the error includes its stderr.
pub fn skopeo<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> anyhow::Result<Vec<u8>> {
    let out = Command::new("skopeo")
        .arg("--command-timeout")
        .arg(SKOPEO_TIMEOUT)
        .args(args)
        .output()
        .context("running skopeo (is it installed?)")?;
    if !out.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        bail!(
            "skopeo {} failed ({}):\n{}",
            shown.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(out.stdout)
}

/// Pushes `oci:LAYOUT:TAG` to `docker://HOST/REPO_AND_TAG` with `skopeo copy` (`--format v2s2` for
/// [`PushFormat::V2s2`], `--multi-arch all` with `all_platforms`).
pub fn push(
    layout: &OciLayout,
    tag: &str,
    registry: &Registry,
    repo_and_tag: &str,
    format: PushFormat,
    all_platforms: bool,
) -> anyhow::Result<()> {
    push_with_digest(layout, tag, registry, repo_and_tag, format, all_platforms).map(|_| ())
}

/// [`push`] that returns the digest of the manifest (or index) as stored in the registry (skopeo's
/// `--digestfile`).
pub fn push_with_digest(
    layout: &OciLayout,
    tag: &str,
    registry: &Registry,
    repo_and_tag: &str,
    format: PushFormat,
    all_platforms: bool,
) -> anyhow::Result<String> {
    let digest_dir = tempfile::tempdir()?;
    let digest_file = digest_dir.path().join("digest");
    let mut args: Vec<String> = vec!["copy".into(), "--retry-times".into(), "0".into()];
    if format == PushFormat::V2s2 {
        args.push("--format".into());
        args.push("v2s2".into());
    }
    if all_platforms {
        args.push("--multi-arch".into());
        args.push("all".into());
    }
    args.extend(registry.skopeo_dest_args());
    args.push("--digestfile".into());
    args.push(digest_file.display().to_string());
    args.push(format!("oci:{}:{tag}", layout.dir().display()));
    args.push(docker_ref(registry, repo_and_tag));
    skopeo(&args)
        .with_context(|| format!("pushing {tag} to {}/{repo_and_tag}", registry.host()))?;
    let digest = std::fs::read_to_string(&digest_file).context("reading skopeo --digestfile")?;
    Ok(digest.trim().to_owned())
}

fn docker_ref(registry: &Registry, repo_ref: &str) -> String {
    format!("docker://{}/{repo_ref}", registry.host())
}

fn inspect_args(registry: &Registry, extra: &[&str], repo_ref: &str) -> Vec<String> {
    let mut args = vec!["inspect".to_owned()];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.extend(registry.skopeo_args());
    args.push(docker_ref(registry, repo_ref));
    args
}

/// `skopeo inspect --raw docker://HOST/REPO_REF`: the manifest bytes as served.
pub fn skopeo_inspect_raw(registry: &Registry, repo_ref: &str) -> anyhow::Result<Vec<u8>> {
    skopeo(&inspect_args(registry, &["--raw"], repo_ref))
}

/// `skopeo inspect --config docker://HOST/REPO_REF`: the image config (of this machine's platform for
/// a multi-platform reference).
pub fn skopeo_inspect_config(
    registry: &Registry,
    repo_ref: &str,
) -> anyhow::Result<serde_json::Value> {
    let out = skopeo(&inspect_args(registry, &["--config"], repo_ref))?;
    serde_json::from_slice(&out).context("parsing skopeo inspect --config output")
}

/// `skopeo inspect docker://HOST/REPO_REF`: skopeo's summary (`Digest`, `Layers`, `Labels`, ...).
pub fn skopeo_inspect(registry: &Registry, repo_ref: &str) -> anyhow::Result<serde_json::Value> {
    let out = skopeo(&inspect_args(registry, &[], repo_ref))?;
    serde_json::from_slice(&out).context("parsing skopeo inspect output")
}

/// `skopeo --override-os OS --override-arch ARCH [--override-variant V] inspect --config ...`: the config
/// of one platform of a multi-platform reference.
pub fn skopeo_inspect_config_platform(
    registry: &Registry,
    repo_ref: &str,
    os: &str,
    arch: &str,
    variant: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let mut args = vec![
        "--override-os".to_owned(),
        os.to_owned(),
        "--override-arch".to_owned(),
        arch.to_owned(),
    ];
    if let Some(v) = variant {
        args.push("--override-variant".to_owned());
        args.push(v.to_owned());
    }
    args.extend(inspect_args(registry, &["--config"], repo_ref));
    let out = skopeo(&args)?;
    serde_json::from_slice(&out).context("parsing skopeo inspect --config output")
}

/// The standard fixture set pushed by [`push_fixtures`]: references (`repo:tag`, without the host)
/// and the digests the registry stores them under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixtures {
    /// `fixtures/single:1.0`: OCI manifest of [`fixture_single_spec`] (linux/amd64, 2 layers).
    pub single: String,
    /// `fixtures/multi-oci:1.0`: OCI index over [`fixture_multi_specs`] (linux/amd64, linux/arm64/v8)
    /// plus one buildkit-style attestation manifest per platform.
    pub multi_oci: String,
    /// `fixtures/single-v2s2:1.0`: [`fixture_single_spec`] as a Docker v2s2 manifest.
    pub single_v2s2: String,
    /// `fixtures/multi-v2s2:1.0`: [`fixture_multi_specs`] as a Docker manifest list (no attestation).
    pub multi_v2s2: String,
    /// Registry digest of `single` (equal to the layout digest: OCI pushes keep digests).
    pub single_digest: String,
    /// Registry digest of the `multi_oci` index.
    pub multi_oci_digest: String,
    /// Registry digest of `single_v2s2`.
    pub single_v2s2_digest: String,
    /// Registry digest of the `multi_v2s2` manifest list.
    pub multi_v2s2_digest: String,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn map(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The spec of [`Fixtures::single`]: linux/amd64, labels (incl. `org.opencontainers.image.source`,
/// `.revision`, `.version`), env, two exposed ports, entrypoint, cmd, user, two volumes, workdir,
/// created, 2 layers, manifest annotations (`org.opencontainers.image.created`, `.description`).
pub fn fixture_single_spec() -> ImageSpec {
    let created = "2024-05-06T07:08:09Z";
    ImageSpec {
        os: "linux".into(),
        architecture: "amd64".into(),
        variant: None,
        labels: map(&[
            (
                "org.opencontainers.image.source",
                "https://example.invalid/imagefacts/fixture-single",
            ),
            (
                "org.opencontainers.image.revision",
                "0123456789abcdef0123456789abcdef01234567",
            ),
            ("org.opencontainers.image.version", "1.0.0"),
            ("org.opencontainers.image.title", "fixture-single"),
            ("com.example.team", "imagefacts"),
        ]),
        env: strings(&[
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "APP_ENV=test",
        ]),
        exposed_ports: strings(&["80/tcp", "443/tcp"]),
        entrypoint: strings(&["/usr/local/bin/app"]),
        cmd: strings(&["--serve", "--port=80"]),
        user: "1000:1000".into(),
        volumes: strings(&["/data", "/var/log/app"]),
        working_dir: "/srv/app".into(),
        created: created.into(),
        layers: vec![
            vec![
                (
                    "etc/os-release".into(),
                    b"ID=imagefacts-test\nVERSION_ID=1\n".to_vec(),
                ),
                (
                    "etc/passwd".into(),
                    b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv/app:/bin/sh\n".to_vec(),
                ),
            ],
            vec![
                (
                    "usr/local/bin/app".into(),
                    b"#!/bin/sh\necho fixture app\n".to_vec(),
                ),
                ("srv/app/README".into(), b"imagefacts fixture\n".to_vec()),
            ],
        ],
        annotations: map(&[
            ("org.opencontainers.image.created", created),
            (
                "org.opencontainers.image.description",
                "imagefacts single-platform fixture",
            ),
        ]),
    }
}

/// The per-platform specs of [`Fixtures::multi_oci`] and [`Fixtures::multi_v2s2`]: linux/amd64 and
/// linux/arm64/v8, each [`ImageSpec::simple`] plus source/revision/version labels and a created
/// annotation.
pub fn fixture_multi_specs() -> Vec<ImageSpec> {
    [("amd64", None), ("arm64", Some("v8"))]
        .into_iter()
        .map(|(arch, variant)| {
            let mut spec = ImageSpec::simple(arch);
            spec.variant = variant.map(str::to_owned);
            spec.created = "2024-03-04T05:06:07Z".into();
            spec.labels.extend(map(&[
                (
                    "org.opencontainers.image.source",
                    "https://example.invalid/imagefacts/fixture-multi",
                ),
                (
                    "org.opencontainers.image.revision",
                    "89abcdef0123456789abcdef0123456789abcdef",
                ),
                ("org.opencontainers.image.version", "2.0.0"),
            ]));
            spec.annotations = map(&[("org.opencontainers.image.created", "2024-03-04T05:06:07Z")]);
            spec
        })
        .collect()
}

/// Builds the standard fixtures in a temporary OCI layout and pushes them into `registry` (the four
/// pushes run concurrently).
pub fn push_fixtures(registry: &Registry) -> anyhow::Result<Fixtures> {
    let tmp = tempfile::Builder::new()
        .prefix("imagefacts-fixtures-")
        .tempdir()?;
    let layout = OciLayout::create(tmp.path())?;
    layout.add_image("single", &fixture_single_spec())?;
    let multi = fixture_multi_specs();
    layout.add_index("multi", &multi, true)?;
    layout.add_index("multi-noatt", &multi, false)?;

    let single = "fixtures/single:1.0".to_owned();
    let multi_oci = "fixtures/multi-oci:1.0".to_owned();
    let single_v2s2 = "fixtures/single-v2s2:1.0".to_owned();
    let multi_v2s2 = "fixtures/multi-v2s2:1.0".to_owned();
    let jobs = [
        ("single", &single, PushFormat::Oci, false),
        ("multi", &multi_oci, PushFormat::Oci, true),
        ("single", &single_v2s2, PushFormat::V2s2, false),
        ("multi-noatt", &multi_v2s2, PushFormat::V2s2, true),
    ];
    let results: Vec<anyhow::Result<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(tag, dest, format, all)| {
                let layout = &layout;
                s.spawn(move || push_with_digest(layout, tag, registry, dest, *format, *all))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("push thread panicked")))
            })
            .collect()
    });
    let mut digests = Vec::new();
    for r in results {
        digests.push(r?);
    }
    let [
        single_digest,
        multi_oci_digest,
        single_v2s2_digest,
        multi_v2s2_digest,
    ]: [String; 4] = digests
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected 4 digests"))?;
    Ok(Fixtures {
        single,
        multi_oci,
        single_v2s2,
        multi_v2s2,
        single_digest,
        multi_oci_digest,
        single_v2s2_digest,
        multi_v2s2_digest,
    })
}
