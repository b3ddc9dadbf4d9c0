//! Redaction by value as well as by name (issue 13, item 3), end to end: an image whose config
//! and manifest carry every case found reaching facts.json, collected by the real binary from a
//! real registry. Each secret is hidden, each neighbour kept, the count exact; `--no-redact`
//! keeps them all.

use imagefacts_testkit::{ImageSpec, OciLayout, Registry, RegistryKind};
use serde_json::Value;

use crate::support::{Run, inspect};

/// One case: where it sits, the secret it carries, and the text that must survive beside it.
pub(crate) struct Case {
    pub(crate) what: &'static str,
    pub(crate) secret: &'static str,
    pub(crate) kept: &'static str,
}

/// The secrets of [`secret_image`], one per case of the issue.
pub(crate) const CASES: [Case; 10] = [
    Case {
        what: "a -D…password= property in an env value",
        secret: "s3cr3t-javaopts-9f2c",
        kept: "-Dserver.port=8080",
    },
    Case {
        what: "?X-Amz-Signature= in an env value",
        secret: "s3cr3t-amzsig-9f2c",
        kept: "X-Amz-Date=20240101T000000Z",
    },
    Case {
        what: "userinfo with a / in an env value",
        secret: "s3cr3t-pg/9f2c",
        kept: "@db.internal:5432/shop",
    },
    Case {
        what: "--password=… in cmd",
        secret: "s3cr3t-cmdpw-9f2c",
        kept: "--port=8080",
    },
    Case {
        what: "--token X in cmd",
        secret: "s3cr3t-cmdtok-9f2c",
        kept: "--verbose",
    },
    Case {
        what: "Authorization: Bearer … in entrypoint",
        secret: "s3cr3t-bearer-9f2c",
        kept: "Authorization: Bearer ***HIDDEN***",
    },
    Case {
        what: "?access_token= in a label",
        secret: "s3cr3t-labeltok-9f2c",
        kept: "https://storage.example/o/app.tgz?access_token=***HIDDEN***&alt=media",
    },
    Case {
        what: "a secret-looking label",
        secret: "s3cr3t-labelpw-9f2c",
        kept: "com.example.db-password",
    },
    Case {
        what: "userinfo in the source annotation (buildInfo.source)",
        secret: "s3cr3t-annsrc-9f2c",
        kept: "@git.example/o/r",
    },
    Case {
        what: "a secret-looking manifest annotation",
        secret: "s3cr3t-annpw-9f2c",
        kept: "",
    },
];

/// Values hidden in one facts entry of [`secret_image`]: every case but the manifest annotation
/// that no facts field carries.
pub(crate) const REDACTIONS: u64 = 9;

/// An image carrying every case of [`CASES`] in its config and manifest.
pub(crate) fn secret_image() -> ImageSpec {
    let mut spec = ImageSpec::simple("amd64");
    spec.env.extend([
        "JAVA_OPTS=-Dspring.datasource.password=s3cr3t-javaopts-9f2c -Dserver.port=8080".into(),
        "ARTIFACT_URL=https://bucket.s3.amazonaws.com/a.tgz?X-Amz-Date=20240101T000000Z&X-Amz-Signature=s3cr3t-amzsig-9f2c".into(),
        "DATABASE_URL=postgres://app:s3cr3t-pg/9f2c@db.internal:5432/shop".into(),
        "PORT=8080".into(),
    ]);
    spec.entrypoint = vec![
        "/bin/sh".into(),
        "-c".into(),
        "curl -fsS -H 'Authorization: Bearer s3cr3t-bearer-9f2c' https://api.example/ready && exec \"$@\"".into(),
        "app".into(),
    ];
    spec.cmd = vec![
        "--port=8080".into(),
        "--password=s3cr3t-cmdpw-9f2c".into(),
        "--token".into(),
        "s3cr3t-cmdtok-9f2c".into(),
        "--verbose".into(),
    ];
    spec.labels.extend([
        (
            "com.example.download".into(),
            "https://storage.example/o/app.tgz?access_token=s3cr3t-labeltok-9f2c&alt=media".into(),
        ),
        (
            "com.example.db-password".into(),
            "s3cr3t-labelpw-9f2c".into(),
        ),
        (
            "org.opencontainers.image.source".into(),
            "https://github.com/example/app".into(),
        ),
    ]);
    spec.annotations.extend([
        (
            "org.opencontainers.image.source".into(),
            "https://ci:s3cr3t-annsrc-9f2c@git.example/o/r".into(),
        ),
        ("com.example.db-password".into(), "s3cr3t-annpw-9f2c".into()),
    ]);
    spec
}

/// Seeds [`secret_image`] into `reg` as `leaky/app:1`.
pub(crate) fn seed_secret_image(reg: &Registry, dir: &std::path::Path) {
    let layout = OciLayout::create(&dir.join("secret-layout")).unwrap();
    layout.add_image("secret", &secret_image()).unwrap();
    reg.seed(&layout, "secret", "leaky/app:1").unwrap();
}

fn collect(reg: &Registry, extra: &[&str]) -> (Run, Value) {
    let mut flags = reg.imagefacts_args();
    flags.extend(extra.iter().map(|s| (*s).to_owned()));
    let run = inspect(&flags, &[format!("{}/leaky/app:1", reg.host())]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let v = run.json();
    (run, v)
}

#[test]
fn every_secret_found_in_an_image_is_hidden_by_value_or_name_and_counted() {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    seed_secret_image(&reg, dir.path());

    let (run, v) = collect(&reg, &[]);
    for c in &CASES {
        assert!(
            !run.stdout.contains(c.secret),
            "{}: {} reached facts.json",
            c.what,
            c.secret
        );
        assert!(run.stdout.contains(c.kept), "{}: lost {:?}", c.what, c.kept);
    }
    assert_eq!(v["summary"]["redactions"], REDACTIONS, "{}", v["summary"]);
    let f = &v["imageFacts"][0];
    let config = &f["config"];
    assert_eq!(
        config["env"],
        serde_json::json!([
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "JAVA_OPTS=-Dspring.datasource.password=***HIDDEN*** -Dserver.port=8080",
            "ARTIFACT_URL=https://bucket.s3.amazonaws.com/a.tgz?X-Amz-Date=20240101T000000Z&X-Amz-Signature=***HIDDEN***",
            "DATABASE_URL=postgres://***HIDDEN***@db.internal:5432/shop",
            "PORT=8080",
        ])
    );
    assert_eq!(
        config["cmd"],
        serde_json::json!([
            "--port=8080",
            "--password=***HIDDEN***",
            "--token",
            "***HIDDEN***",
            "--verbose"
        ])
    );
    assert_eq!(
        config["entrypoint"][2],
        "curl -fsS -H 'Authorization: Bearer ***HIDDEN***' https://api.example/ready && exec \"$@\""
    );
    assert_eq!(f["labels"]["com.example.db-password"], "***HIDDEN***");
    assert_eq!(
        f["labels"]["org.opencontainers.image.source"],
        "https://github.com/example/app"
    );
    assert_eq!(
        f["buildInfo"]["source"],
        "https://***HIDDEN***@git.example/o/r"
    );

    // --no-redact keeps every value, and counts nothing.
    let (run, v) = collect(&reg, &["--no-redact"]);
    for c in CASES.iter().filter(|c| !c.kept.is_empty()) {
        assert!(
            run.stdout.contains(c.secret),
            "{}: --no-redact lost it",
            c.what
        );
    }
    // Manifest annotations reach facts.json only as buildInfo: the others are never written.
    assert!(!run.stdout.contains("s3cr3t-annpw-9f2c"));
    assert!(v["summary"].get("redactions").is_none(), "{}", v["summary"]);
}
