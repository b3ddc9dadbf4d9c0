//! Tests of redaction by value.

use super::*;

/// `(input, expected output, values hidden)`; every expected output must also be a fixed point.
const TEXT_CASES: &[(&str, &str, usize)] = &[
    // Java system properties, alone and inside a longer string (only the secret one hidden).
    (
        "-Dspring.datasource.password=hunter2",
        "-Dspring.datasource.password=***HIDDEN***",
        1,
    ),
    (
        "-Djavax.net.ssl.keyStorePassword=changeit",
        "-Djavax.net.ssl.keyStorePassword=***HIDDEN***",
        1,
    ),
    (
        "JAVA_OPTS=-Xmx1g -Dspring.datasource.password=hunter2 -Dfoo=bar",
        "JAVA_OPTS=-Xmx1g -Dspring.datasource.password=***HIDDEN*** -Dfoo=bar",
        1,
    ),
    (
        "-Xmx1g -Dapp.secret.key=abc -Dserver.port=8080 -XX:+UseG1GC",
        "-Xmx1g -Dapp.secret.key=***HIDDEN*** -Dserver.port=8080 -XX:+UseG1GC",
        1,
    ),
    (
        "-Dfoo=bar -Dlog.level=debug",
        "-Dfoo=bar -Dlog.level=debug",
        0,
    ),
    // Long options and assignments inside a shell string.
    (
        "exec app --password=hunter2 --port=8080",
        "exec app --password=***HIDDEN*** --port=8080",
        1,
    ),
    (
        "app --token abc --verbose",
        "app --token ***HIDDEN*** --verbose",
        1,
    ),
    ("app --token --verbose", "app --token --verbose", 0),
    (
        "sh -c \"DB_PASSWORD=hunter2 exec app\"",
        "sh -c \"DB_PASSWORD=***HIDDEN*** exec app\"",
        1,
    ),
    (
        "--password=\"a b c\" --x=1",
        "--password=\"***HIDDEN***\" --x=1",
        1,
    ),
    ("-token=abc", "-token=***HIDDEN***", 1),
    (
        "--db-password=$(DB_PASSWORD) --token=${TOKEN}",
        "--db-password=$(DB_PASSWORD) --token=${TOKEN}",
        0,
    ),
    ("--port=8080 --authors=x", "--port=8080 --authors=x", 0),
    ("LOG_LEVEL=debug", "LOG_LEVEL=debug", 0),
    (
        "--tokenizer=bert --max-model-len=4096",
        "--tokenizer=bert --max-model-len=4096",
        0,
    ),
    // Authorization headers: the scheme word stays.
    (
        "Authorization: Bearer eyJhbGciOi.xyz",
        "Authorization: Bearer ***HIDDEN***",
        1,
    ),
    (
        "curl -H 'Authorization: Basic dXNlcjpwYXNz' https://api",
        "curl -H 'Authorization: Basic ***HIDDEN***' https://api",
        1,
    ),
    (
        "authorization=Bearer abc123==",
        "authorization=Bearer ***HIDDEN***",
        1,
    ),
    (
        "Proxy-Authorization: Negotiate YIIGhg",
        "Proxy-Authorization: Negotiate ***HIDDEN***",
        1,
    ),
    (
        "{\"Authorization\": \"token ghp_abc\"}",
        "{\"Authorization\": \"token ***HIDDEN***\"}",
        1,
    ),
    (
        "Authorization: s3cr3t-raw-key",
        "Authorization: ***HIDDEN***",
        1,
    ),
    (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, Signature=ab\nnext",
        "Authorization: AWS4-HMAC-SHA256 ***HIDDEN***\nnext",
        1,
    ),
    (
        "Authorization: Bearer $TOKEN",
        "Authorization: Bearer $TOKEN",
        0,
    ),
    ("authorization_mode=rbac", "authorization_mode=rbac", 0),
    ("Authorization: Bearer", "Authorization: Bearer", 0),
    // Signed-URL and token query parameters: names kept, values hidden.
    (
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=FQo&X-Amz-Signature=deadbeef",
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***HIDDEN***&X-Amz-Date=20260101T000000Z&X-Amz-Security-Token=***HIDDEN***&X-Amz-Signature=***HIDDEN***",
        3,
    ),
    (
        "?X-Amz-Signature=abc&X-Amz-Date=20260101T000000Z",
        "?X-Amz-Signature=***HIDDEN***&X-Amz-Date=20260101T000000Z",
        1,
    ),
    (
        "https://storage.googleapis.com/b/o?X-Goog-Credential=sa%40p&X-Goog-Signature=0a1b#frag",
        "https://storage.googleapis.com/b/o?X-Goog-Credential=***HIDDEN***&X-Goog-Signature=***HIDDEN***#frag",
        2,
    ),
    (
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&ss=b&sp=r&se=2026-01-01&sig=AbC%2Bd%3D",
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&ss=b&sp=r&se=2026-01-01&sig=***HIDDEN***",
        1,
    ),
    ("sig=AbC&sv=2022-11-02", "sig=***HIDDEN***&sv=2022-11-02", 1),
    (
        "https://api.example/v1?access_token=ya29.a0&page=2",
        "https://api.example/v1?access_token=***HIDDEN***&page=2",
        1,
    ),
    (
        "https://maps.example/api?key=AIzaSy&token=t&apikey=k&api_key=k2&password=p&secret=s&signature=g",
        "https://maps.example/api?key=***HIDDEN***&token=***HIDDEN***&apikey=***HIDDEN***&api_key=***HIDDEN***&password=***HIDDEN***&secret=***HIDDEN***&signature=***HIDDEN***",
        7,
    ),
    (
        "https://h/search?q=token&page=2&sort=key",
        "https://h/search?q=token&page=2&sort=key",
        0,
    ),
    ("key=value in prose", "key=value in prose", 0),
    // URL userinfo together with the rest, counted once each.
    (
        "postgres://u:p/w@db:5432/x",
        "postgres://***HIDDEN***@db:5432/x",
        1,
    ),
    (
        "--db-url=postgres://u:p@db/x?password=q",
        "--db-url=postgres://***HIDDEN***@db/x?password=***HIDDEN***",
        2,
    ),
    ("--password=https://u:p@h", "--password=***HIDDEN***", 1),
    ("https://host/path@x", "https://host/path@x", 0),
    (
        "nginx:1.25 listening on :8080",
        "nginx:1.25 listening on :8080",
        0,
    ),
    ("", "", 0),
    (
        "héllo wörld password=ü",
        "héllo wörld password=***HIDDEN***",
        1,
    ),
];

#[test]
fn redact_text_table() {
    assert!(TEXT_CASES.len() >= 25);
    for &(input, want, n) in TEXT_CASES {
        assert_eq!(redact_text(input), (want.to_owned(), n), "{input}");
        assert_eq!(redact_text(want), (want.to_owned(), 0), "again: {want}");
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn redact_args_table() {
    let cases: &[(&[&str], &[&str], usize)] = &[
        (
            &["app", "--password=hunter2", "--port=8080"],
            &["app", "--password=***HIDDEN***", "--port=8080"],
            1,
        ),
        (
            &["app", "--token", "X", "--port", "8080"],
            &["app", "--token", "***HIDDEN***", "--port", "8080"],
            1,
        ),
        (
            &["app", "--api-key", "k", "--client-secret", "s"],
            &[
                "app",
                "--api-key",
                "***HIDDEN***",
                "--client-secret",
                "***HIDDEN***",
            ],
            2,
        ),
        (
            &["app", "--token", "--verbose"],
            &["app", "--token", "--verbose"],
            0,
        ),
        (&["app", "--token"], &["app", "--token"], 0),
        (&["app", "--password", ""], &["app", "--password", ""], 0),
        (
            &["app", "--password", "-"],
            &["app", "--password", "***HIDDEN***"],
            1,
        ),
        (
            &[
                "curl",
                "-H",
                "Authorization: Bearer xyz",
                "https://u:p@api/x",
            ],
            &[
                "curl",
                "-H",
                "Authorization: Bearer ***HIDDEN***",
                "https://***HIDDEN***@api/x",
            ],
            2,
        ),
        (
            &[
                "java",
                "-Xmx1g",
                "-Dspring.datasource.password=hunter2",
                "-jar",
                "app.jar",
            ],
            &[
                "java",
                "-Xmx1g",
                "-Dspring.datasource.password=***HIDDEN***",
                "-jar",
                "app.jar",
            ],
            1,
        ),
        (
            &["/bin/sh", "-c", "exec app --token abc"],
            &["/bin/sh", "-c", "exec app --token ***HIDDEN***"],
            1,
        ),
        // Short flags and ordinary options are left alone.
        (
            &["mysql", "-p", "hunter2", "-u", "root:pw"],
            &["mysql", "-p", "hunter2", "-u", "root:pw"],
            0,
        ),
        (
            &[
                "app",
                "--port",
                "8080",
                "--authors",
                "x",
                "--log-level=debug",
            ],
            &[
                "app",
                "--port",
                "8080",
                "--authors",
                "x",
                "--log-level=debug",
            ],
            0,
        ),
        (
            &["app", "--token", "$(TOKEN)"],
            &["app", "--token", "$(TOKEN)"],
            0,
        ),
        (&["--", "--token"], &["--", "--token"], 0),
    ];
    for &(input, want, n) in cases {
        let mut args = strings(input);
        assert_eq!(redact_args(&mut args), n, "{input:?}");
        assert_eq!(args, strings(want), "{input:?}");
        assert_eq!(redact_args(&mut args), 0, "again: {want:?}");
        assert_eq!(args, strings(want), "again: {want:?}");
    }
}

/// Every joining of three fragments (secrets, delimiters, ordinary text), as one string and as
/// three arguments: a second pass changes nothing and hides nothing.
#[test]
fn redaction_is_idempotent_on_joined_fragments() {
    const FRAGMENTS: [&str; 16] = [
        "--token",
        " s3cr3t",
        "=s3cr3t",
        "?sig=s3cr3t",
        "&key=s3cr3t",
        "https://u:s3cr3t@h",
        "/p@x",
        "Authorization: Bearer s3cr3t",
        " -Dx.password=s3cr3t",
        "\"",
        "'",
        " ",
        "&",
        "@",
        "://",
        "postgres://u:p/s3cr3t@db",
    ];
    let mut checked = 0;
    for a in FRAGMENTS {
        for b in FRAGMENTS {
            for c in FRAGMENTS {
                let input = format!("{a}{b}{c}");
                let (once, _) = redact_text(&input);
                assert_eq!(
                    redact_text(&once),
                    (once.clone(), 0),
                    "{input:?} → {once:?}"
                );
                let mut args = vec![a.to_owned(), b.to_owned(), c.to_owned()];
                redact_args(&mut args);
                let after = args.clone();
                assert_eq!(redact_args(&mut args), 0, "{after:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, FRAGMENTS.len().pow(3));
}
