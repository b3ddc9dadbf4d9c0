//! Tests of redaction by name and of whole facts entries.

use std::sync::Arc;

use super::facts::redact_config;
use super::*;
use crate::digest::Digest;
use crate::facts::{ConfigFacts, FactsFile, Failure, ImageFacts, PlatformFacts};
use crate::platform::Platform;
use time::OffsetDateTime;

#[test]
fn secret_names() {
    for yes in [
        "DB_PASSWORD",
        "PGPASSWORD",
        "API_TOKEN",
        "GITHUB_TOKEN",
        "aws_secret_access_key",
        "AWS_ACCESS_KEY_ID",
        "API_KEY",
        "apiKey",
        "private-key",
        "AUTH",
        "BASIC_AUTH",
        "REDIS_PASS",
        "DB_PWD",
        "com.example.credentials",
        "SENTRY_DSN",
        "access-key",
        "tokenizer_secret",
        "X-Amz-Security-Token",
        "spring.datasource.password",
    ] {
        assert!(is_secret_name(yes), "{yes}");
    }
    for no in [
        "PATH",
        "HOME",
        "org.opencontainers.image.authors",
        "LANG",
        "PASSENGER_MODE",
        "org.opencontainers.image.source",
        "KEYBOARD",
        "port",
        "authors",
        "tokenizer",
        "TOKENIZERS_PARALLELISM",
        "authorization_mode",
        "",
    ] {
        assert!(!is_secret_name(no), "{no}");
    }
}

#[test]
fn variable_references_are_not_secrets() {
    for r in ["$TOKEN", "${TOKEN}", "$(DB_PASSWORD)", "$_x1"] {
        assert!(!needs_hiding(r), "{r}");
    }
    for s in [
        "$",
        "${TOKEN:-hunter2}",
        "$(cat /pw)",
        "a$TOKEN",
        "hunter2",
        "$1",
    ] {
        assert!(needs_hiding(s), "{s}");
    }
    assert!(!needs_hiding(""));
    assert!(!needs_hiding(HIDDEN));
}

#[test]
fn facts_are_redacted_everywhere() {
    let mut f = ImageFacts::empty(
        crate::ImageRef::parse("r"),
        "reg",
        "repo",
        OffsetDateTime::UNIX_EPOCH,
    );
    Arc::make_mut(&mut f.config).env = vec![
        "DB_PASSWORD=hunter2".into(),
        "API_TOKEN=abc123".into(),
        "PATH=/usr/bin".into(),
        "MIRROR=https://bob:s3cret@mirror.example/x".into(),
        "EMPTY_TOKEN=".into(),
    ];
    Arc::make_mut(&mut f.labels).insert("repo".into(), "https://user:pw@host/x".into());
    Arc::make_mut(&mut f.labels).insert("vault.token".into(), "t0k".into());
    f.build_info.source = Some("https://ci:key@git.example/app".into());
    let n = redact_facts(&mut f);
    assert_eq!(n, 6);
    assert_eq!(
        f.config.env,
        [
            "DB_PASSWORD=***HIDDEN***",
            "API_TOKEN=***HIDDEN***",
            "PATH=/usr/bin",
            "MIRROR=https://***HIDDEN***@mirror.example/x",
            "EMPTY_TOKEN="
        ]
    );
    assert_eq!(f.labels["repo"], "https://***HIDDEN***@host/x");
    assert_eq!(f.labels["vault.token"], HIDDEN);
    let json = serde_json::to_string(&f).unwrap();
    for secret in ["hunter2", "abc123", "s3cret", "pw@", "t0k", "ci:key"] {
        assert!(!json.contains(secret), "{secret} leaked");
    }
    assert_eq!(redact_facts(&mut f), 0, "idempotent");
}

fn config(env: &[&str], entrypoint: &[&str], cmd: &[&str]) -> Arc<ConfigFacts> {
    let v = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    ConfigFacts {
        env: v(env),
        entrypoint: v(entrypoint),
        cmd: v(cmd),
        ..ConfigFacts::default()
    }
    .into()
}

/// Every kind of secret that reached a facts file before by value, in each place it was found.
#[test]
fn secrets_found_by_value_never_reach_the_facts() {
    let mut f = ImageFacts::empty(
        crate::ImageRef::parse("r"),
        "reg",
        "repo",
        OffsetDateTime::UNIX_EPOCH,
    );
    f.config = config(
        &[
            "JAVA_OPTS=-Xmx1g -Dspring.datasource.password=jp-hunter2 -Dfoo=bar",
            "ARTIFACT_URL=https://b.s3.example/k?X-Amz-Signature=amzsig1&X-Amz-Date=20260101T000000Z",
            "DATABASE_URL=postgres://u:pg/slash@db:5432/x",
            "LOG_LEVEL=debug",
        ],
        &[
            "curl",
            "-H",
            "Authorization: Bearer bearer-tok-1",
            "https://api.example",
        ],
        &[
            "app",
            "--password=cmd-pass-1",
            "--token",
            "cmd-tok-2",
            "--port=8080",
        ],
    );
    Arc::make_mut(&mut f.labels).insert(
        "com.example.feed".into(),
        "https://feed.example/x?access_token=label-tok-3".into(),
    );
    Arc::make_mut(&mut f.labels).insert("org.opencontainers.image.version".into(), "1.2.3".into());
    f.platforms.push(PlatformFacts {
        platform: Platform::default(),
        manifest_digest: Digest::sha256_of(b"m"),
        media_type: String::new(),
        config_digest: None,
        size: 0,
        created: None,
        layers: Vec::new(),
        config: config(
            &["PGPASSWORD=plat-pg-4"],
            &["app"],
            &["--api-key", "plat-key-5"],
        ),
        labels: Arc::new([("deploy.secret".to_owned(), "plat-label-6".to_owned())].into()),
        primary: false,
        error: Failure::none(),
        not_fetched: false,
    });
    f.build_info.source = Some("https://ci:bi-key-7@git.example/app".into());
    f.build_info.revision = Some("abc123def".into());

    let n = redact_facts(&mut f);
    assert_eq!(n, 11);
    assert_eq!(
        f.config.env,
        [
            "JAVA_OPTS=-Xmx1g -Dspring.datasource.password=***HIDDEN*** -Dfoo=bar",
            "ARTIFACT_URL=https://b.s3.example/k?X-Amz-Signature=***HIDDEN***&X-Amz-Date=20260101T000000Z",
            "DATABASE_URL=postgres://***HIDDEN***@db:5432/x",
            "LOG_LEVEL=debug",
        ]
    );
    assert_eq!(
        f.config.entrypoint,
        [
            "curl",
            "-H",
            "Authorization: Bearer ***HIDDEN***",
            "https://api.example"
        ]
    );
    assert_eq!(
        f.config.cmd,
        [
            "app",
            "--password=***HIDDEN***",
            "--token",
            HIDDEN,
            "--port=8080"
        ]
    );
    assert_eq!(
        f.labels["com.example.feed"],
        "https://feed.example/x?access_token=***HIDDEN***"
    );
    assert_eq!(f.labels["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(f.platforms[0].config.cmd, ["--api-key", HIDDEN]);
    assert_eq!(f.build_info.revision.as_deref(), Some("abc123def"));

    let json = serde_json::to_string(&f).unwrap();
    for secret in [
        "jp-hunter2",
        "amzsig1",
        "pg/slash",
        "bearer-tok-1",
        "cmd-pass-1",
        "cmd-tok-2",
        "label-tok-3",
        "plat-pg-4",
        "plat-key-5",
        "plat-label-6",
        "bi-key-7",
    ] {
        assert!(!json.contains(secret), "{secret} leaked");
    }
    for kept in [
        "LOG_LEVEL=debug",
        "--port=8080",
        "-Dfoo=bar",
        "X-Amz-Date=2026",
    ] {
        assert!(json.contains(kept), "{kept} lost");
    }
    assert_eq!(redact_facts(&mut f), 0, "idempotent");
}

/// A flag ending the entrypoint takes its value from the cmd: they run as one command line.
#[test]
fn entrypoint_flag_takes_its_value_from_cmd() {
    let mut c = config(&[], &["app", "--token"], &["abc", "serve"]);
    assert_eq!(redact_config(Arc::make_mut(&mut c)), 1);
    assert_eq!(c.entrypoint, ["app", "--token"]);
    assert_eq!(c.cmd, [HIDDEN, "serve"]);
}

/// Annotations are a string map like labels: redacted by name and by value.
#[test]
fn annotations_are_redacted_by_name_and_by_value() {
    let mut annotations: BTreeMap<String, String> = [
        ("com.example.deploy-token", "ann-tok-1"),
        ("com.example.registry-password", "ann-pw-2"),
        (
            "org.opencontainers.image.source",
            "https://ci:ann-key-3@git.example/app",
        ),
        (
            "org.opencontainers.image.url",
            "https://x.example/y?sig=ann-sig-4&sv=2022",
        ),
        ("org.opencontainers.image.revision", "0123abcd"),
        (
            "org.opencontainers.image.authors",
            "Jane <jane@example.com>",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(redact_map(&mut annotations), 4);
    assert_eq!(annotations["com.example.deploy-token"], HIDDEN);
    assert_eq!(annotations["com.example.registry-password"], HIDDEN);
    assert_eq!(
        annotations["org.opencontainers.image.source"],
        "https://***HIDDEN***@git.example/app"
    );
    assert_eq!(
        annotations["org.opencontainers.image.url"],
        "https://x.example/y?sig=***HIDDEN***&sv=2022"
    );
    assert_eq!(annotations["org.opencontainers.image.revision"], "0123abcd");
    assert_eq!(
        annotations["org.opencontainers.image.authors"],
        "Jane <jane@example.com>"
    );
    assert_eq!(redact_map(&mut annotations), 0, "idempotent");
}

#[test]
fn facts_file_counts_each_hidden_value_once() {
    let mut a = ImageFacts::empty(
        crate::ImageRef::parse("a"),
        "reg",
        "a",
        OffsetDateTime::UNIX_EPOCH,
    );
    a.config = config(&["TOKEN=t1"], &[], &["--password", "p1"]);
    let mut b = ImageFacts::empty(
        crate::ImageRef::parse("b"),
        "reg",
        "b",
        OffsetDateTime::UNIX_EPOCH,
    );
    Arc::make_mut(&mut b.labels).insert("x".into(), "postgres://u:p/w@db?token=t2".into());
    let mut file = FactsFile::new(OffsetDateTime::UNIX_EPOCH, vec![a, b]);
    file.redact();
    assert_eq!(file.summary.redactions, 4);
    file.redact();
    assert_eq!(file.summary.redactions, 4, "a second pass hides nothing");
}

/// One image under many tags: its labels and config are one allocation shared by every entry,
/// and redaction keeps them shared, whether it hides something or not, while each entry still
/// counts what it hides.
#[test]
fn shared_labels_and_config_stay_shared() {
    let secret: Arc<BTreeMap<String, String>> =
        Arc::new([("vault.token".to_owned(), "t0k".to_owned())].into());
    let clean = config(&["PATH=/bin"], &["app"], &[]);
    let entries: Vec<ImageFacts> = (0..3)
        .map(|i| {
            let mut f = ImageFacts::empty(
                crate::ImageRef::parse(&format!("r:{i}")),
                "reg",
                "r",
                OffsetDateTime::UNIX_EPOCH,
            );
            f.labels = Arc::clone(&secret);
            f.config = Arc::clone(&clean);
            f
        })
        .collect();
    let mut file = FactsFile::new(OffsetDateTime::UNIX_EPOCH, entries);
    file.redact();
    assert_eq!(file.summary.redactions, 3, "one hidden label per entry");
    let [a, b, c] = &file.image_facts[..] else {
        panic!("three entries")
    };
    assert_eq!(a.labels["vault.token"], HIDDEN);
    assert!(Arc::ptr_eq(&a.labels, &b.labels) && Arc::ptr_eq(&b.labels, &c.labels));
    assert!(
        !Arc::ptr_eq(&a.labels, &secret),
        "the original is not changed"
    );
    assert_eq!(secret["vault.token"], "t0k");
    assert!(Arc::ptr_eq(&a.config, &clean) && Arc::ptr_eq(&c.config, &clean));
    // One entry alone redacts the same way.
    let mut lone = file.image_facts[0].clone();
    lone.labels = Arc::clone(&secret);
    assert_eq!(redact_facts(&mut lone), 1);
    assert_eq!(lone.labels["vault.token"], HIDDEN);
}

#[test]
fn env_entries_without_a_name() {
    let mut env = vec![
        "https://u:p@h".to_owned(),
        "=--token=abc".to_owned(),
        "PASSWORD=$(FROM_SECRET)".to_owned(),
    ];
    assert_eq!(redact_env(&mut env), 2);
    assert_eq!(
        env,
        [
            "https://***HIDDEN***@h",
            "=--token=***HIDDEN***",
            "PASSWORD=$(FROM_SECRET)"
        ]
    );
}
