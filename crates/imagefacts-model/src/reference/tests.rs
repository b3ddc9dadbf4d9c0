//! Tests of the `reference` module.

use super::*;

/// The sha256 of `hello`, as a literal usable in `concat!`.
macro_rules! d {
    () => {
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    };
}
const HEX64: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

fn digest() -> Digest {
    Digest::parse(d!()).unwrap()
}

fn parse(input: &str) -> Reference {
    Reference::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
}

/// `(input, canonical Display)` for inputs that must parse.
fn valid_rows() -> Vec<(String, String)> {
    let fixed: &[(&str, &str)] = &[
        // Docker Hub normalisation.
        ("nginx", "docker.io/library/nginx:latest"),
        ("nginx:1.25", "docker.io/library/nginx:1.25"),
        ("nginx:latest", "docker.io/library/nginx:latest"),
        ("library/nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        (
            "docker.io/library/nginx:latest",
            "docker.io/library/nginx:latest",
        ),
        (
            "index.docker.io/library/nginx",
            "docker.io/library/nginx:latest",
        ),
        ("index.docker.io/nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/user/app", "docker.io/user/app:latest"),
        ("registry-1.docker.io/nginx:1", "docker.io/library/nginx:1"),
        ("user/app", "docker.io/user/app:latest"),
        ("user/app:1", "docker.io/user/app:1"),
        ("docker.io/user/app:v2", "docker.io/user/app:v2"),
        ("a-1/b", "docker.io/a-1/b:latest"),
        ("docker.io/localhost/x", "docker.io/localhost/x:latest"),
        ("docker.io/foo.bar/x", "docker.io/foo.bar/x:latest"),
        // Other registries.
        ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
        ("gcr.io/x/y", "gcr.io/x/y:latest"),
        ("k8s.gcr.io/pause:3.9", "k8s.gcr.io/pause:3.9"),
        ("quay.io/a/b/c/d", "quay.io/a/b/c/d:latest"),
        (
            "sub.domain.example.com/a",
            "sub.domain.example.com/a:latest",
        ),
        ("xn--nda.example/a", "xn--nda.example/a:latest"),
        (
            "my-registry.local:5000/team/app:2024.01.01-rc.1",
            "my-registry.local:5000/team/app:2024.01.01-rc.1",
        ),
        ("Foo/bar", "Foo/bar:latest"),
        ("FOO.io/bar", "FOO.io/bar:latest"),
        ("localhost/app", "localhost/app:latest"),
        // Ports, IPs and port-like edge cases.
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("localhost:5000", "docker.io/library/localhost:5000"),
        ("localhost", "docker.io/library/localhost:latest"),
        ("example.com:443/a", "example.com:443/a:latest"),
        ("example.com:0/a:1", "example.com:0/a:1"),
        ("a:1/b", "a:1/b:latest"),
        ("registry:5000/a/b/c:tag", "registry:5000/a/b/c:tag"),
        ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"),
        ("127.0.0.1/a", "127.0.0.1/a:latest"),
        ("1.2.3.4.5/x", "1.2.3.4.5/x:latest"),
        ("[::1]:5000/app", "[::1]:5000/app:latest"),
        ("[::1]/app", "[::1]/app:latest"),
        ("[::1]:5000/app:v1", "[::1]:5000/app:v1"),
        ("[2001:db8::1]/x:y", "[2001:db8::1]/x:y"),
        ("[2001:DB8::1]:443/x", "[2001:DB8::1]:443/x:latest"),
        // Digests.
        (
            concat!("app@", d!()),
            concat!("docker.io/library/app@", d!()),
        ),
        (
            concat!("app:tag@", d!()),
            concat!("docker.io/library/app:tag@", d!()),
        ),
        (concat!("ghcr.io/o/a@", d!()), concat!("ghcr.io/o/a@", d!())),
        (
            concat!("localhost:5000/a@", d!()),
            concat!("localhost:5000/a@", d!()),
        ),
        (
            concat!("localhost:5000/app:v1@", d!()),
            concat!("localhost:5000/app:v1@", d!()),
        ),
        (
            concat!("registry.k8s.io/pause:3.9@", d!()),
            concat!("registry.k8s.io/pause:3.9@", d!()),
        ),
        // Path-component separators and odd-but-valid names.
        ("foo__bar", "docker.io/library/foo__bar:latest"),
        ("foo-----bar", "docker.io/library/foo-----bar:latest"),
        ("a.b_c", "docker.io/library/a.b_c:latest"),
        ("a-b__c-d/f_g.h", "docker.io/a-b__c-d/f_g.h:latest"),
        ("a", "docker.io/library/a:latest"),
        ("0", "docker.io/library/0:latest"),
        ("abc123", "docker.io/library/abc123:latest"),
        ("sha256:abc", "docker.io/library/sha256:abc"),
        // Tags.
        (
            "nginx:LATEST_Tag-1.0",
            "docker.io/library/nginx:LATEST_Tag-1.0",
        ),
        ("nginx:_x", "docker.io/library/nginx:_x"),
        ("nginx:1", "docker.io/library/nginx:1"),
    ];
    let mut rows: Vec<(String, String)> = fixed
        .iter()
        .map(|&(i, c)| (i.to_owned(), c.to_owned()))
        .collect();
    let tag128 = "t".repeat(128);
    rows.push((
        format!("nginx:{tag128}"),
        format!("docker.io/library/nginx:{tag128}"),
    ));
    let hex63 = &HEX64[..63];
    rows.push((
        hex63.to_owned(),
        format!("docker.io/library/{hex63}:latest"),
    ));
    // "docker.io/library/" is 18 characters: 18 + 237 = 255.
    let long = "a".repeat(237);
    rows.push((long.clone(), format!("docker.io/library/{long}:latest")));
    let sha512 = format!("sha512:{}", "a".repeat(128));
    rows.push((
        format!("app@{sha512}"),
        format!("docker.io/library/app@{sha512}"),
    ));
    rows
}

/// `(input, substring of the error message)` for inputs that must be rejected.
fn invalid_rows() -> Vec<(String, String)> {
    let fixed: &[(&str, &str)] = &[
        ("", "reference is empty"),
        ("Nginx", "repository must be lowercase"),
        ("UPPER:tag", "repository must be lowercase"),
        ("foo/Bar", "repository must be lowercase"),
        ("registry:5000/Upper", "repository must be lowercase"),
        ("nginx:", "tag after ':' is empty"),
        (":", "tag after ':' is empty"),
        (":tag", "repository name is missing"),
        (concat!("@", d!()), "repository name is missing"),
        ("localhost/", "repository name is missing"),
        ("docker.io/", "repository name is missing"),
        ("nginx@", "digest after '@' is empty"),
        ("@", "digest after '@' is empty"),
        ("nginx@sha256:abc", "expected 64 lowercase hex characters"),
        (
            "nginx@md5:d41d8cd98f00b204e9800998ecf8427e",
            "unsupported algorithm \"md5\"",
        ),
        ("nginx@sha256", "missing \"algorithm:\" prefix"),
        (
            concat!("nginx@", d!(), "@x"),
            "expected 64 lowercase hex characters",
        ),
        ("-nginx", "repository component \"-nginx\" is invalid"),
        ("nginx-", "repository component \"nginx-\" is invalid"),
        ("a..b", "repository component \"a..b\" is invalid"),
        ("a___b", "repository component \"a___b\" is invalid"),
        ("a_.b", "repository component \"a_.b\" is invalid"),
        ("a-_b", "repository component \"a-_b\" is invalid"),
        ("café", "repository component \"café\" is invalid"),
        (
            "nginx:tag:x",
            "repository component \"nginx:tag\" is invalid",
        ),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        ("a/b/", "empty path component"),
        ("/a", "empty path component"),
        ("/", "empty path component"),
        (" nginx", "reference contains whitespace"),
        ("nginx ", "reference contains whitespace"),
        ("\tnginx", "reference contains whitespace"),
        ("ng inx", "reference contains whitespace"),
        (HEX64, "looks like an image ID"),
        (d!(), "a digest alone is not a reference"),
        ("::1/x", "must be enclosed in brackets"),
        ("2001:db8::1/x", "must be enclosed in brackets"),
        ("host:port/x", "port \"port\" is not a number"),
        ("host:/x", "port \"\" is not a number"),
        ("example.com:99x/a", "port \"99x\" is not a number"),
        ("[::1]:/x", "port \"\" is not a number"),
        ("h:p:q/x", "registry \"h:p:q\" is not a valid host"),
        ("-bad.com/x", "registry \"-bad.com\" is not a valid host"),
        ("bad-.com/x", "registry \"bad-.com\" is not a valid host"),
        ("a..com/x", "registry \"a..com\" is not a valid host"),
        (
            "a-b.c__d-e/f",
            "registry \"a-b.c__d-e\" is not a valid host",
        ),
        (
            "under_score.com/x",
            "registry \"under_score.com\" is not a valid host",
        ),
        ("[::1/x", "registry \"[::1\" is not a valid host"),
        ("[::g]/x", "registry \"[::g]\" is not a valid host"),
        ("[]:5000/x", "registry \"[]:5000\" is not a valid host"),
        ("[::1]x/a", "registry \"[::1]x\" is not a valid host"),
        ("nginx:-tag", "tag \"-tag\" is invalid"),
        ("nginx:.x", "tag \".x\" is invalid"),
        ("nginx:é", "tag \"é\" is invalid"),
        ("nginx:a+b", "tag \"a+b\" is invalid"),
    ];
    let mut rows: Vec<(String, String)> = fixed
        .iter()
        .map(|&(i, e)| (i.to_owned(), e.to_owned()))
        .collect();
    rows.push((
        format!("nginx:{}", "t".repeat(129)),
        "tag is 129 characters, at most 128 allowed".to_owned(),
    ));
    rows.push((
        "a".repeat(238),
        "name is 256 characters, at most 255 allowed".to_owned(),
    ));
    rows.push((
        format!("ghcr.io/{}", ["abcdefghij"; 25].join("/")),
        "name is 282 characters, at most 255 allowed".to_owned(),
    ));
    rows
}

#[test]
fn valid_references_parse_to_canonical_form() {
    let rows = valid_rows();
    assert!(rows.len() >= 45, "only {} valid rows", rows.len());
    for (input, canonical) in &rows {
        let r = parse(input);
        assert_eq!(r.to_string(), *canonical, "{input:?}");
        assert_eq!(parse(&r.to_string()), r, "display round trip of {input:?}");
        assert_eq!(parse(&r.familiar()), r, "familiar round trip of {input:?}");
        assert_eq!(input.parse::<Reference>().unwrap(), r);
        assert_eq!(r.name(), format!("{}/{}", r.registry(), r.repository()));
        assert!(r.tag().is_some() || r.digest().is_some(), "{input:?}");
    }
}

#[test]
fn invalid_references_are_rejected_with_reason() {
    let rows = invalid_rows();
    assert!(rows.len() >= 25, "only {} invalid rows", rows.len());
    for (input, want) in &rows {
        let err = match Reference::parse(input) {
            Ok(r) => panic!("{input:?} should be rejected, parsed as {r}"),
            Err(e) => e,
        };
        assert_eq!(err.input, *input);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("invalid reference {input:?}: ")),
            "{message}"
        );
        assert!(message.contains(want.as_str()), "{input:?}: {message}");
    }
}

#[test]
fn fields_are_split_and_normalised() {
    let r = parse("nginx");
    assert_eq!(r.registry(), "docker.io");
    assert_eq!(r.repository(), "library/nginx");
    assert_eq!(r.tag(), Some("latest"));
    assert_eq!(r.digest(), None);
    assert!(r.is_docker_hub());

    let r = parse("[::1]:5000/team/app:v1");
    assert_eq!(r.registry(), "[::1]:5000");
    assert_eq!(r.repository(), "team/app");
    assert_eq!(r.tag(), Some("v1"));
    assert!(!r.is_docker_hub());

    let r = parse(concat!("localhost:5000/app@", d!()));
    assert_eq!(r.registry(), "localhost:5000");
    assert_eq!(r.repository(), "app");
    assert_eq!(r.tag(), None);
    assert_eq!(r.digest(), Some(&digest()));

    let r = parse(concat!("registry-1.docker.io/nginx:1.25@", d!()));
    assert_eq!(r.registry(), "docker.io");
    assert_eq!(r.repository(), "library/nginx");
    assert_eq!(r.tag(), Some("1.25"));
    assert_eq!(r.digest(), Some(&digest()));
    assert_eq!(r.name(), "docker.io/library/nginx");

    let r = parse("Foo/bar");
    assert_eq!((r.registry(), r.repository()), ("Foo", "bar"));
    let r = parse("localhost:5000");
    assert_eq!(
        (r.repository(), r.tag()),
        ("library/localhost", Some("5000"))
    );
}

#[test]
fn error_reasons_and_messages() {
    let err = Reference::parse("Nginx").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid reference \"Nginx\": repository must be lowercase"
    );
    assert_eq!(err.reason, Reason::UppercaseRepository);
    let reason = |s: &str| Reference::parse(s).unwrap_err().reason;
    assert_eq!(reason(""), Reason::Empty);
    assert_eq!(reason("nginx:"), Reason::EmptyTag);
    assert_eq!(reason(HEX64), Reason::LooksLikeImageId);
    assert_eq!(reason(d!()), Reason::DigestWithoutName);
    assert_eq!(reason(" a"), Reason::Whitespace);
    assert_eq!(reason("a//b"), Reason::EmptyComponent);
    assert_eq!(
        reason("::1/x"),
        Reason::UnbracketedIpv6 {
            domain: "::1".into()
        }
    );
    assert_eq!(reason("h:x/y"), Reason::InvalidPort { port: "x".into() });
    assert_eq!(
        reason(&format!("a:{}", "b".repeat(200))),
        Reason::TagTooLong { len: 200 }
    );
    assert!(matches!(
        reason("a@sha256:00"),
        Reason::InvalidDigest(DigestError::BadEncoding { .. })
    ));
    assert_eq!(
        Reference::parse("a@sha256:00").unwrap_err().to_string(),
        "invalid reference \"a@sha256:00\": invalid digest \"sha256:00\": expected 64 lowercase \
         hex characters after \"sha256:\""
    );
}

#[test]
fn familiar_form() {
    let rows = [
        ("nginx", "nginx:latest"),
        ("docker.io/library/nginx:1.25", "nginx:1.25"),
        ("index.docker.io/library/nginx:1", "nginx:1"),
        ("user/app:1", "user/app:1"),
        ("docker.io/library/a/b", "library/a/b:latest"),
        ("docker.io/localhost/x", "docker.io/localhost/x:latest"),
        ("docker.io/foo.bar/x", "docker.io/foo.bar/x:latest"),
        ("localhost:5000/app", "localhost:5000/app:latest"),
        ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
        (concat!("ghcr.io/o/a@", d!()), concat!("ghcr.io/o/a@", d!())),
        (concat!("app:tag@", d!()), concat!("app:tag@", d!())),
        (
            concat!("docker.io/library/app@", d!()),
            concat!("app@", d!()),
        ),
    ];
    for (input, want) in rows {
        assert_eq!(parse(input).familiar(), want, "{input:?}");
    }
}

/// Found by the `reference` fuzz target: `sha256:<64 hex>` alone is a bare digest, not the
/// official image `sha256` tagged with the hex.
#[test]
fn familiar_form_of_an_official_image_spelled_like_a_digest_keeps_library() {
    let tagged = format!("library/sha256:{HEX64}");
    let r = parse(&tagged);
    assert_eq!(r.familiar(), tagged);
    assert_eq!(parse(&r.familiar()), r);
    let sha512 = format!("library/sha512:{HEX64}");
    assert_eq!(
        parse(&sha512).familiar(),
        format!("sha512:{HEX64}"),
        "wrong length: no digest"
    );
    let pinned = format!("library/sha256:{HEX64}@sha256:{HEX64}");
    assert_eq!(parse(&pinned).familiar(), &pinned["library/".len()..]);
}

#[test]
fn target_prefers_digest() {
    let r = parse("nginx");
    assert_eq!(r.target(), Target::Tag("latest"));
    assert_eq!(r.target().to_string(), "latest");
    assert_eq!(parse("nginx:1.25").target(), Target::Tag("1.25"));
    let d = digest();
    assert_eq!(parse(concat!("app@", d!())).target(), Target::Digest(&d));
    let both = parse(concat!("app:tag@", d!()));
    assert_eq!(both.target(), Target::Digest(&d));
    assert_eq!(both.target().to_string(), d!());
}

#[test]
fn with_digest_and_with_tag() {
    let pinned = parse("nginx:1.25").with_digest(digest());
    assert_eq!(pinned.tag(), Some("1.25"));
    assert_eq!(pinned.digest(), Some(&digest()));
    assert_eq!(pinned.target(), Target::Digest(&digest()));
    assert_eq!(
        pinned.to_string(),
        concat!("docker.io/library/nginx:1.25@", d!())
    );
    assert_eq!(pinned, parse(concat!("nginx:1.25@", d!())));

    let retagged = pinned.with_tag("1.26").unwrap();
    assert_eq!(retagged.to_string(), "docker.io/library/nginx:1.26");
    assert_eq!(retagged.digest(), None);
    assert_eq!(retagged.target(), Target::Tag("1.26"));
    assert_eq!(
        parse(concat!("app@", d!())).with_tag("v2").unwrap(),
        parse("app:v2")
    );

    let err = pinned.with_tag("-bad").unwrap_err();
    assert_eq!(err.input, "docker.io/library/nginx:-bad");
    assert!(matches!(err.reason, Reason::InvalidTag { .. }));
    assert_eq!(pinned.with_tag("").unwrap_err().reason, Reason::EmptyTag);
    let long = "x".repeat(129);
    assert_eq!(
        pinned.with_tag(&long).unwrap_err().reason,
        Reason::TagTooLong { len: 129 }
    );
}

#[test]
fn serde_round_trip() {
    for (input, _) in valid_rows() {
        let r = parse(&input);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, format!("\"{r}\""));
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
    }
    assert_eq!(
        serde_json::from_str::<Reference>("\"nginx\"")
            .unwrap()
            .to_string(),
        "docker.io/library/nginx:latest"
    );
    let err = serde_json::from_str::<Reference>("\"Nginx\"").unwrap_err();
    assert!(
        err.to_string().contains("repository must be lowercase"),
        "{err}"
    );
    assert!(serde_json::from_str::<Reference>("42").is_err());
}

#[test]
fn debug_and_ordering() {
    assert_eq!(
        format!("{:?}", parse("nginx")),
        "Reference(\"docker.io/library/nginx:latest\")"
    );
    let mut refs = [parse("ghcr.io/a/b"), parse("nginx:2"), parse("nginx:1")];
    refs.sort();
    let sorted: Vec<String> = refs.iter().map(Reference::familiar).collect();
    assert_eq!(sorted, ["nginx:1", "nginx:2", "ghcr.io/a/b:latest"]);
}
