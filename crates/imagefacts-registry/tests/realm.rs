//! Where credentials may go: token realms on other hosts, redirect targets that answer `401`,
//! realms on hosts named insecure, and token lifetimes a hostile realm makes up. Every server
//! binds 127.0.0.1; `localhost` stands for "another host" (same address, another name).

mod common;
use common::Fixed;
use std::sync::Arc;

use base64::Engine as _;
use imagefacts_model::facts::ErrorKind;
use imagefacts_model::{Digest, Reference};
use imagefacts_registry::{ClientConfig, Credential, RegistryClient, RegistryError};
use imagefacts_testkit::{
    Registry, RegistryKind, Reply, Request, ScriptedServer, generate_tls, push_fixtures,
};
use serde_json::json;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const PASSWORD: &str = "hunter2-secret";
const REFRESH: &str = "r3fresh-secret";

fn user_password() -> Credential {
    Credential::UserPassword {
        username: "alice".into(),
        password: PASSWORD.into(),
    }
}

fn identity_token() -> Credential {
    Credential::IdentityToken {
        username: "00000000-0000-0000-0000-000000000000".into(),
        token: REFRESH.into(),
    }
}

fn manifest() -> Vec<u8> {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": Digest::sha256_of(b"{}").to_string(), "size": 2},
        "layers": []
    })
    .to_string()
    .into_bytes()
}

fn reference(s: &str) -> Reference {
    s.parse().unwrap()
}

/// Whether any request carried a secret: an `Authorization` header, or the password or refresh
/// token anywhere in the request (plain or base64).
fn leaked(requests: &[Request]) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("alice:{PASSWORD}"));
    requests
        .iter()
        .filter(|r| {
            let all = format!(
                "{} {:?} {}",
                r.path,
                r.headers,
                String::from_utf8_lossy(&r.body)
            );
            r.header("authorization").is_some()
                || [PASSWORD, REFRESH, b64.as_str()]
                    .iter()
                    .any(|s| all.contains(s))
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// A token endpoint that grants anything to anyone and records who asked.
fn token_server(grant: bool) -> ScriptedServer {
    ScriptedServer::start(move |_req: &Request| {
        if grant {
            Reply::new(200).json(&json!({"token": "anon-token", "expires_in": 300}))
        } else {
            Reply::new(401).json(&json!({"errors": [{"code": "UNAUTHORIZED"}]}))
        }
    })
    .unwrap()
}

/// A registry (plain HTTP) that challenges with `realm` and accepts `accept` as bearer token.
fn registry(realm: String, accept: &str) -> ScriptedServer {
    let body = manifest();
    let accept = format!("Bearer {accept}");
    ScriptedServer::start(move |req: &Request| {
        if req.header("authorization") == Some(accept.as_str()) {
            Reply::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .body(body.clone())
        } else {
            Reply::new(401).header(
                "WWW-Authenticate",
                format!(r#"Bearer realm="{realm}",service="svc""#),
            )
        }
    })
    .unwrap()
}

fn insecure(hosts: &[String]) -> ClientConfig {
    ClientConfig {
        insecure_registries: hosts.to_vec(),
        ..ClientConfig::default()
    }
}

#[tokio::test]
async fn a_foreign_plain_http_realm_receives_no_credential_of_any_kind() {
    for credential in [user_password(), identity_token()] {
        for grant in [false, true] {
            let realm = token_server(grant);
            let reg = registry(format!("{}/token", realm.localhost_url()), "real-token");
            let client = RegistryClient::with_credentials(
                insecure(&[reg.host()]),
                Arc::new(Fixed(credential.clone())),
            )
            .unwrap();
            let err = client
                .get_manifest(&reference(&format!("{}/a:1", reg.host())))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
            let message = err.to_string();
            assert!(
                matches!(err, RegistryError::CredentialWithheld { .. }),
                "{err:?}"
            );
            assert!(message.contains("localhost"), "names the realm: {message}");
            assert!(message.contains("plain HTTP"), "says why: {message}");
            let asked = realm.requests();
            assert!(!asked.is_empty(), "the realm was asked anonymously");
            assert!(
                asked.iter().all(|r| r.method == "GET"),
                "no refresh-token POST"
            );
            assert_eq!(leaked(&asked), Vec::<String>::new(), "{credential:?}");
            // The anonymous token reached the registry, which refused it; no secret went there.
            let to_registry = reg.requests();
            let secrets: Vec<_> = to_registry
                .iter()
                .filter(|r| r.header("authorization") != Some("Bearer anon-token"))
                .cloned()
                .collect();
            assert_eq!(leaked(&secrets), Vec::<String>::new());
            assert_eq!(
                to_registry.len() > secrets.len(),
                grant,
                "the anonymous token was tried when granted"
            );
        }
    }
}

#[tokio::test]
async fn a_verified_https_registry_does_not_send_credentials_to_a_plain_http_realm() {
    let dir = tempfile::tempdir().unwrap();
    let tls = generate_tls(dir.path()).unwrap();
    let realm = token_server(false);
    let realm_url = format!("{}/token", realm.localhost_url());
    let reg = ScriptedServer::start_tls(&tls.server_crt, &tls.server_key, move |_req| {
        Reply::new(401).header(
            "WWW-Authenticate",
            format!(r#"Bearer realm="{realm_url}",service="svc""#),
        )
    })
    .unwrap();
    let config = ClientConfig {
        ca_files: vec![tls.ca_crt.clone()],
        ..ClientConfig::default()
    };
    let client =
        RegistryClient::with_credentials(config, Arc::new(Fixed(user_password()))).unwrap();
    let err = client
        .get_manifest(&reference(&format!("{}/a:1", reg.host())))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::CredentialWithheld { .. }),
        "{err:?}"
    );
    assert!(!realm.requests().is_empty());
    assert_eq!(leaked(&realm.requests()), Vec::<String>::new());
}

#[tokio::test]
async fn a_redirect_target_challenge_gets_no_credential_and_plants_no_token() {
    let evil_realm = token_server(true);
    let evil_url = format!("{}/token", evil_realm.localhost_url());
    let cdn = ScriptedServer::start(move |_req| {
        Reply::new(401).header(
            "WWW-Authenticate",
            format!(r#"Bearer realm="{evil_url}",service="evil""#),
        )
    })
    .unwrap();
    let cdn_blob = format!("{}/blob?sig=x", cdn.localhost_url());
    let good_realm = token_server(true);
    let good_url = format!("{}/token", good_realm.url());
    let body = manifest();
    let reg = ScriptedServer::start(move |req: &Request| {
        if req.header("authorization") != Some("Bearer anon-token") {
            return Reply::new(401).header(
                "WWW-Authenticate",
                format!(r#"Bearer realm="{good_url}",service="svc""#),
            );
        }
        if req.path_only().contains("/blobs/") {
            return Reply::new(307).header("Location", cdn_blob.clone());
        }
        Reply::new(200)
            .header("Content-Type", OCI_MANIFEST)
            .body(body.clone())
    })
    .unwrap();
    // The good realm is on the registry's own (insecure) host: it may receive the credential.
    let client =
        RegistryClient::with_credentials(insecure(&[reg.host()]), Arc::new(Fixed(user_password())))
            .unwrap();
    let err = client
        .get_blob(&reg.host(), "a", &Digest::sha256_of(b"x"), 1024, "config")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    assert!(err.to_string().contains("redirect target"), "{err}");
    // The registry's challenge stands: the next request uses the good realm's token.
    client
        .get_manifest(&reference(&format!("{}/a:1", reg.host())))
        .await
        .unwrap();
    assert!(
        evil_realm.requests().is_empty(),
        "the planted realm was never asked"
    );
    assert_eq!(leaked(&cdn.requests()), Vec::<String>::new());
    assert!(
        !good_realm.requests().is_empty(),
        "the registry's own realm issued the tokens"
    );
}

#[tokio::test]
async fn an_insecure_registry_does_not_disable_verification_of_a_realm_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    // A certificate from a CA the client does not trust.
    let untrusted = generate_tls(dir.path()).unwrap();
    let realm = ScriptedServer::start_tls(&untrusted.server_crt, &untrusted.server_key, |_req| {
        Reply::new(200).json(&json!({"token": "t", "expires_in": 300}))
    })
    .unwrap();
    let reg = registry(format!("{}/token", realm.localhost_url()), "t");
    let client =
        RegistryClient::with_credentials(insecure(&[reg.host()]), Arc::new(Fixed(user_password())))
            .unwrap();
    let err = client
        .get_manifest(&reference(&format!("{}/a:1", reg.host())))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    assert!(
        realm.requests().is_empty(),
        "no request got past the handshake"
    );
    // Naming the realm's host insecure as well lets it be used (unverified), credential included.
    let client = RegistryClient::with_credentials(
        insecure(&[reg.host(), "localhost".to_owned()]),
        Arc::new(Fixed(user_password())),
    )
    .unwrap();
    client
        .get_manifest(&reference(&format!("{}/a:1", reg.host())))
        .await
        .unwrap();
    assert_eq!(realm.requests().len(), 1);
    assert!(realm.requests()[0].header("authorization").is_some());
}

#[tokio::test]
async fn the_harness_token_registry_works_with_and_without_credentials() {
    let (reg, fx) = tokio::task::spawn_blocking(|| {
        let reg = Registry::start(RegistryKind::Token).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        (reg, fx)
    })
    .await
    .unwrap();
    let (username, password) = reg.credentials().unwrap();
    let good = Arc::new(Fixed(Credential::UserPassword { username, password }));
    let r = reference(&format!("{}/{}", reg.host(), fx.single));
    // Verified HTTPS realm (the registry's CA): the credential is sent and accepted.
    let verified = ClientConfig {
        ca_files: vec![reg.ca_file().unwrap()],
        ..ClientConfig::default()
    };
    let got = RegistryClient::with_credentials(verified.clone(), good.clone())
        .unwrap()
        .get_manifest(&r)
        .await
        .unwrap();
    assert_eq!(got.digest.to_string(), fx.single_digest);
    // The registry named insecure: its realm is on the same host (another port), so it is
    // reached unverified and still receives the credential.
    let got = RegistryClient::with_credentials(insecure(&[reg.host()]), good)
        .unwrap()
        .get_manifest(&r)
        .await
        .unwrap();
    assert_eq!(got.digest.to_string(), fx.single_digest);
    // Anonymous: the token carries no access; the registry refuses, as an ordinary auth error.
    let err = RegistryClient::new(verified)
        .unwrap()
        .get_manifest(&r)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    assert!(
        !matches!(err, RegistryError::CredentialWithheld { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn hostile_token_lifetimes_neither_panic_nor_stick() {
    let far = {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 100 * 365 * 24 * 3600;
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{exp}}}"#));
        format!("e30.{payload}.sig")
    };
    let answers = [
        json!({"token": "t", "expires_in": 0}),
        json!({"token": "t", "expires_in": -5}),
        json!({"token": "t", "expires_in": 18446744073709551615u64}),
        json!({"token": "t", "expires_in": 1e300}),
        json!({"token": "t", "expires_in": "forever"}),
        json!({"token": far}),
    ];
    for answer in answers {
        let token = answer["token"].as_str().unwrap().to_owned();
        let shown = answer.to_string();
        let realm = ScriptedServer::start(move |_req| Reply::new(200).json(&answer)).unwrap();
        let reg = registry(format!("{}/token", realm.url()), &token);
        let client = RegistryClient::new(insecure(&[reg.host()])).unwrap();
        let r = reference(&format!("{}/a:1", reg.host()));
        for _ in 0..3 {
            client
                .get_manifest(&r)
                .await
                .unwrap_or_else(|e| panic!("{shown}: {e}"));
        }
        // The token is reused within the default lifetime: one token request for three fetches.
        assert_eq!(realm.requests().len(), 1, "{shown}");
    }
}
