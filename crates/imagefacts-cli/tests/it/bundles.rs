//! `imagefacts bundle` (new bundles, --add-to existing ones), redaction, and `imagefacts report`.

use std::path::{Path, PathBuf};

use imagefacts_testkit::{
    ImageSpec, OciLayout, PushFormat, Registry, RegistryKind, push_fixtures, push_with_digest,
};
use serde_json::Value;

use crate::support::{args, imagefacts, raw_records, write_bundle};

/// A `.tar.gz` of `dir` (its top directory inside), with odd modes and mtimes kept.
fn tar_gz(dir: &Path, out: &Path) {
    let top = dir.file_name().unwrap().to_str().unwrap().to_owned();
    let file = std::fs::File::create(out).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    b.mode(tar::HeaderMode::Complete);
    b.append_dir_all(&top, dir).unwrap();
    b.into_inner().unwrap().finish().unwrap();
}

fn all_bytes_of(path: &Path) -> Vec<u8> {
    if path.is_dir() {
        let mut out = Vec::new();
        for entry in walk(path) {
            out.extend(std::fs::read(entry).unwrap());
        }
        return out;
    }
    raw_records(path)
        .into_iter()
        .flat_map(|(h, d, _)| h.into_iter().chain(d))
        .collect()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

struct Setup {
    reg: Registry,
    dir: tempfile::TempDir,
    bundle_dir: PathBuf,
}

fn setup() -> Setup {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle_dir = write_bundle(
        dir.path(),
        &reg.host(),
        &fx.single,
        &fx.single_digest,
        &fx.multi_oci,
    );
    // A namespace without images, as troubleshoot >= 0.118 writes it.
    std::fs::write(
        bundle_dir.join("cluster-resources/pods/quiet.json"),
        br#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":null}"#,
    )
    .unwrap();
    // Odd modes and a nested file, to see them preserved.
    let extra = bundle_dir.join("cluster-resources/pods/logs/prod/app-1");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("app.log"), "log line\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(
        extra.join("app.log"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    Setup {
        reg,
        dir,
        bundle_dir,
    }
}

fn bundle_args(s: &Setup, rest: &[&str]) -> Vec<String> {
    let mut a = vec!["bundle".to_owned()];
    a.extend(rest.iter().map(|r| (*r).to_owned()));
    args(&a, &s.reg.imagefacts_args())
}

/// Every `*facts.json` in a bundle (archive or directory) validates against the schema; returns how many.
fn validate_all_facts(path: &Path) -> usize {
    let files: Vec<(String, Vec<u8>)> = if path.is_dir() {
        walk(path)
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    } else {
        raw_records(path)
            .into_iter()
            .map(|(_, d, n)| (n, d))
            .collect()
    };
    let mut n = 0;
    for (name, bytes) in files.iter().filter(|(n, _)| n.ends_with("facts.json")) {
        crate::support::facts_file(bytes, name);
        n += 1;
    }
    n
}

fn facts_in(path: &Path) -> Value {
    let run = imagefacts(&["report", path.to_str().unwrap(), "-o", "json"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn add_to_archive_keeps_every_original_entry_byte_for_byte() {
    let s = setup();
    let original = s.dir.path().join("bundle.tar.gz");
    tar_gz(&s.bundle_dir, &original);
    let before = std::fs::read(&original).unwrap();
    let out = s.dir.path().join("with-facts.tar.gz");
    let run = imagefacts(&bundle_args(
        &s,
        &[
            "--add-to",
            original.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        run.status, 1,
        "the fixture has a malformed file: {}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(&original).unwrap(),
        before,
        "-o leaves the original alone"
    );
    let old = raw_records(&original);
    let new = raw_records(&out);
    assert_eq!(
        &new[..old.len()],
        &old[..],
        "original records byte-identical and in order"
    );
    let added: Vec<&str> = new[old.len()..]
        .iter()
        .map(|(_, _, n)| n.as_str())
        .collect();
    let top = "support-bundle-2026-11-28T00_00_00";
    // Per namespace, what upstream's collector writes: facts and summary for one with images,
    // info for one without, error for one that could not be read.
    for want in [
        "image-facts/facts.json",
        "image-facts/report.html",
        "image-facts/prod-facts.json",
        "image-facts/prod-summary.txt",
        "image-facts/quiet-info.txt",
        "image-facts/broken-error.txt",
    ] {
        assert!(
            added.iter().any(|a| *a == format!("{top}/{want}")),
            "{want} in {added:?}"
        );
    }
    for absent in ["quiet-facts.json", "broken-info.txt", "broken-facts.json"] {
        assert!(
            !added.iter().any(|a| a.ends_with(absent)),
            "{absent} in {added:?}"
        );
    }
    let text = |name: &str| {
        let (_, data, _) = new.iter().find(|(_, _, n)| n.ends_with(name)).unwrap();
        String::from_utf8(data.clone()).unwrap()
    };
    assert_eq!(
        text("quiet-info.txt"),
        "No images found in namespace quiet\n"
    );
    assert!(
        text("broken-error.txt").contains("cluster-resources/deployments/broken.json"),
        "{}",
        text("broken-error.txt")
    );
    let prod = crate::support::facts_file(text("prod-facts.json").as_bytes(), "prod-facts.json");
    assert_eq!(prod["namespace"], "prod");
    // Issue 14: the summary's time is RFC 3339 to the second (facts.json's own, cut), its size
    // human with the exact bytes beside it.
    let summary = text("prod-summary.txt");
    let generated = prod["generatedAt"].as_str().unwrap();
    let second = format!("{}Z", &generated[..19]);
    assert!(
        summary.contains(&format!("\nGenerated: {second}\n")),
        "{summary}"
    );
    let bytes = prod["summary"]["totalSize"].as_u64().unwrap();
    let size_line = summary
        .lines()
        .find(|l| l.starts_with("Total size: "))
        .unwrap();
    assert!(
        size_line.ends_with(&format!(" B ({bytes} bytes)"))
            || size_line.ends_with(&format!("iB ({bytes} bytes)")),
        "{size_line}"
    );
    for f in prod["imageFacts"].as_array().unwrap() {
        assert!(f["config"].is_object(), "config always written: {f}");
    }
    // The facts inside validate and describe the bundle's workloads.
    let facts_bytes = &new
        .iter()
        .find(|(_, _, n)| n.ends_with("image-facts/facts.json"))
        .unwrap()
        .1;
    let facts: Value = crate::support::facts_file(facts_bytes, "image-facts/facts.json");
    assert_eq!(
        imagefacts_cli::facts_violations(&facts),
        Vec::<String>::new()
    );
    assert_eq!(facts["imageFacts"].as_array().unwrap().len(), 2);
    assert_eq!(
        facts["discoveryErrors"][0]["path"],
        "cluster-resources/deployments/broken.json"
    );
    let rows = facts_in(&out);
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(
        validate_all_facts(&out),
        2,
        "facts.json and prod-facts.json"
    );

    // In place: the original is replaced by the complete new archive; a second add needs --force.
    let run = imagefacts(&bundle_args(&s, &["--add-to", original.to_str().unwrap()]));
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(&raw_records(&original)[..old.len()], &old[..]);
    let again = imagefacts(&bundle_args(&s, &["--add-to", original.to_str().unwrap()]));
    assert_eq!(again.status, 2);
    assert!(again.stderr.contains("image-facts"), "{}", again.stderr);
    let forced = imagefacts(&bundle_args(
        &s,
        &["--add-to", original.to_str().unwrap(), "--force"],
    ));
    assert_eq!(forced.status, 1, "{}", forced.stderr);
    let names: Vec<String> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no temp files left: {names:?}"
    );
}

#[test]
fn add_to_directory_bundle_writes_image_facts_beside_the_originals() {
    let s = setup();
    let before: Vec<(PathBuf, Vec<u8>)> = walk(&s.bundle_dir)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let run = imagefacts(&bundle_args(
        &s,
        &["--add-to", s.bundle_dir.to_str().unwrap()],
    ));
    assert_eq!(run.status, 1, "{}", run.stderr);
    for (p, b) in &before {
        assert_eq!(&std::fs::read(p).unwrap(), b, "{} unchanged", p.display());
    }
    let facts: Value = crate::support::facts_file(
        &std::fs::read(s.bundle_dir.join("image-facts/facts.json")).unwrap(),
        "image-facts/facts.json",
    );
    assert_eq!(
        imagefacts_cli::facts_violations(&facts),
        Vec::<String>::new()
    );
    assert!(s.bundle_dir.join("image-facts/prod-summary.txt").exists());
    assert_eq!(validate_all_facts(&s.bundle_dir), 2);
}

#[test]
fn new_bundle_from_manifests_reads_back_with_collect() {
    let s = setup();
    let manifests = s.dir.path().join("m.yaml");
    let host = s.reg.host();
    std::fs::write(&manifests, format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec:\n  template:\n    spec:\n      containers: [{{name: web, image: \"{host}/fixtures/single:1.0\"}}]\n"
    )).unwrap();
    let out_dir = s.dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let run = imagefacts(&bundle_args(
        &s,
        &[
            "--include-images",
            "--manifests",
            manifests.to_str().unwrap(),
            "-o",
            out_dir.to_str().unwrap(),
        ],
    ));
    assert_eq!(run.status, 0, "{}", run.stderr);
    let written = PathBuf::from(run.stdout.trim());
    let name = written.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("support-bundle-") && name.ends_with(".tar.gz"),
        "{name}"
    );
    let top = name.trim_end_matches(".tar.gz");
    let records = raw_records(&written);
    let names: Vec<&str> = records.iter().map(|(_, _, n)| n.as_str()).collect();
    for want in [
        "version.yaml",
        "cluster-resources/deployments/shop.json",
        "cluster-resources/nodes.json",
        "cluster-resources/namespaces.json",
        "image-facts/facts.json",
        "image-facts/report.html",
        "image-facts/shop-facts.json",
    ] {
        assert!(
            names.contains(&format!("{top}/{want}").as_str()),
            "{want} in {names:?}"
        );
    }
    let deployments = &records
        .iter()
        .find(|(_, _, n)| n.ends_with("deployments/shop.json"))
        .unwrap()
        .1;
    let list: Value = serde_json::from_slice(deployments).unwrap();
    assert_eq!(list["kind"], "DeploymentList");
    assert_eq!(validate_all_facts(&written), 2);
    // Read back: the same image set.
    let back = imagefacts(&["list", "--bundle", written.to_str().unwrap(), "-o", "json"]);
    assert_eq!(back.status, 0, "{}", back.stderr);
    let d: Value = serde_json::from_str(&back.stdout).unwrap();
    assert_eq!(
        d["images"][0]["reference"],
        Value::from(format!("{host}/fixtures/single:1.0"))
    );
    assert_eq!(d["images"][0]["workloads"][0]["kind"], "Deployment");
}

#[test]
fn secrets_in_images_never_reach_the_bundle() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(&dir.path().join("layout")).unwrap();
    let mut spec = ImageSpec::simple("amd64");
    spec.env.push("DB_PASSWORD=correct-horse-battery".into());
    spec.env.push("API_TOKEN=tok_9f8e7d6c".into());
    spec.labels.insert(
        "repo".into(),
        "https://deploy:pw-in-url@git.example/x".into(),
    );
    layout.add_image("secret", &spec).unwrap();
    let digest = push_with_digest(
        &layout,
        "secret",
        &reg,
        "leaky/app:1",
        PushFormat::Oci,
        false,
    )
    .unwrap();
    let bundle = write_bundle(
        dir.path(),
        &reg.host(),
        "leaky/app:1",
        &digest,
        "leaky/app:1",
    );
    let mut a = vec![
        "bundle".to_owned(),
        "--add-to".to_owned(),
        bundle.display().to_string(),
    ];
    a.extend(reg.imagefacts_args());
    let run = imagefacts(&a);
    assert!(run.status <= 1, "{}", run.stderr);
    let everything = all_bytes_of(&bundle);
    let text = String::from_utf8_lossy(&everything);
    for secret in [
        "correct-horse-battery",
        "tok_9f8e7d6c",
        "pw-in-url",
        "deploy:",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the bundle");
    }
    let facts: Value = crate::support::facts_file(
        &std::fs::read(bundle.join("image-facts/facts.json")).unwrap(),
        "image-facts/facts.json",
    );
    let f = facts["imageFacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f.get("error").is_none())
        .unwrap();
    assert!(
        f["config"]["env"]
            .as_array()
            .unwrap()
            .contains(&Value::from("DB_PASSWORD=***HIDDEN***"))
    );
    assert_eq!(f["labels"]["repo"], "https://***HIDDEN***@git.example/x");
    assert!(facts["summary"]["redactions"].as_u64().unwrap() >= 3);
    assert_eq!(validate_all_facts(&bundle), 2);
}

/// The README's example: the example bundle, image facts added, the report. Compared with
/// `tests/it/snapshots/report.txt` (the registry's port replaced); rewrite it with
/// `UPDATE_SNAPSHOTS=1`.
#[test]
fn report_of_the_readme_example_matches_the_snapshot() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = imagefacts_testkit::write_example_bundle(dir.path(), &reg, &fx).unwrap();
    let out = dir.path().join("with-facts.tar.gz");
    let mut a = vec![
        "bundle".to_owned(),
        "--add-to".to_owned(),
        bundle.display().to_string(),
        "-o".to_owned(),
        out.display().to_string(),
    ];
    a.extend(reg.imagefacts_args());
    let run = imagefacts(&a);
    assert_eq!(
        run.status, 1,
        "one image is missing on purpose: {}",
        run.stderr
    );
    let port = reg.host().rsplit(':').next().unwrap().to_owned();
    let filter = |s: &str| s.replace(&port, "50000");
    let mut text = String::new();
    for extra in [&[][..], &["--wide"][..]] {
        let mut r = vec![
            "report",
            out.to_str().unwrap(),
            "--now",
            "2026-11-28T12:00:00Z",
        ];
        r.extend_from_slice(extra);
        let report = imagefacts(&r);
        assert_eq!(report.status, 0, "{}", report.stderr);
        text.push_str(&format!("$ imagefacts report {}\n", extra.join(" ")).replace(" \n", "\n"));
        text.push_str(&filter(&report.stdout));
        text.push('\n');
    }
    crate::support::assert_snapshot("report.txt", &text);
    // JSON rows too.
    let json = imagefacts(&["report", out.to_str().unwrap(), "-o", "json"]);
    let rows: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 5);
    assert_eq!(rows[0]["namespace"], "batch");
}

#[test]
fn include_images_without_a_cluster_is_an_error_with_a_hint() {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_imagefacts"))
        .args(["bundle", "--include-images", "-o"])
        .arg(home.path())
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hint: point --kubeconfig"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(home.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
