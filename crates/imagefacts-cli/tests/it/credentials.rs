//! Credentials the way docker and podman users have them: the default docker config and
//! containers auth files, credential helpers, identity tokens, `--creds`, each recorded per image
//! as `authSource`, against a real token-auth registry whose token server logs who asked.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use imagefacts_testkit::{Grant, Registry, RegistryKind, push_fixtures};
use serde_json::{Value, json};

use crate::support::{Run, imagefacts_env};

/// Writes an executable `docker-credential-<name>` running `script` under `/bin/sh`.
pub(crate) fn write_helper(bin: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(bin).unwrap();
    let path = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A helper that knows `user`/`secret` for `server` only (as docker's helpers do).
fn helper_script(server: &str, user: &str, secret: &str) -> String {
    format!(
        r#"[ "$1" = get ] || exit 3
read -r asked
if [ "$asked" = "{server}" ]; then
  printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}' "$asked"
else
  echo "credentials not found in native keychain"; exit 1
fi"#
    )
}

fn write_json(path: &Path, value: &Value) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, value.to_string()).unwrap();
    path.to_owned()
}

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// One image's entry after `inspect --ca-file CA <image>` with `env` and `extra` flags.
fn inspect_one(reg: &Registry, image: &str, extra: &[&str], env: &[(&str, &str)]) -> (Run, Value) {
    let ca = reg.ca_file().unwrap().display().to_string();
    let mut args = vec!["inspect", "--ca-file", &ca];
    args.extend(extra);
    args.push(image);
    let run = imagefacts_env(&args, env);
    let v = run.json();
    let entry = v["imageFacts"][0].clone();
    (run, entry)
}

/// One way to give the credential, and what must show it was used.
struct Case<'a> {
    what: &'a str,
    env: Vec<(&'a str, String)>,
    extra: Vec<&'a str>,
    source: String,
    subject: &'a str,
    grant: Grant,
}

#[test]
fn every_credential_source_opens_a_token_registry_and_is_recorded() {
    let reg = Registry::start(RegistryKind::Token).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let image = format!("{host}/{}", fx.single);
    let (user, password) = reg.credentials().unwrap();
    reg.add_token_user("colon", "pa:ss:w0rd");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    write_helper(&bin, "good", &helper_script(&host, &user, &password));
    let refresh = reg.identity_token("refresher");
    write_helper(&bin, "tokens", &helper_script(&host, "<token>", &refresh));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());

    // Each case: (what, environment, extra flags) → the expected authSource and token subject.
    let docker_config = |name: &str, body: Value| {
        let d = dir.path().join(name);
        write_json(&d.join("config.json"), &body);
        d
    };
    let plain = docker_config(
        "plain",
        json!({"auths": {format!("https://{host}/v1/"): {"auth": basic(&user, &password)}}}),
    );
    let helpers = docker_config("helpers", json!({"credHelpers": {&host: "good"}}));
    let store = docker_config("store", json!({"credsStore": "good", "auths": {&host: {}}}));
    let identity = docker_config(
        "identity",
        json!({"auths": {&host: {"username": "00000000-0000-0000-0000-000000000000", "identitytoken": refresh}}}),
    );
    let token_helper = docker_config("token-helper", json!({"credHelpers": {&host: "tokens"}}));
    let runtime = dir.path().join("run");
    let auth_json = write_json(
        &runtime.join("containers/auth.json"),
        &json!({"auths": {&host: {"auth": basic(&user, &password)}}}),
    );
    let s = |p: &Path| p.display().to_string();
    let creds = format!("{host}=colon:pa:ss:w0rd");
    let cases = vec![
        Case {
            what: "docker config through DOCKER_CONFIG",
            env: vec![("DOCKER_CONFIG", s(&plain))],
            extra: vec![],
            source: format!("dockerConfig:{}", s(&plain.join("config.json"))),
            subject: user.as_str(),
            grant: Grant::Basic,
        },
        Case {
            what: "credHelpers",
            env: vec![("DOCKER_CONFIG", s(&helpers)), ("PATH", path.clone())],
            extra: vec![],
            source: "credHelper:good".to_owned(),
            subject: user.as_str(),
            grant: Grant::Basic,
        },
        Case {
            what: "credsStore",
            env: vec![("DOCKER_CONFIG", s(&store)), ("PATH", path.clone())],
            extra: vec![],
            source: "credsStore:good".to_owned(),
            subject: user.as_str(),
            grant: Grant::Basic,
        },
        Case {
            what: "containers auth.json under XDG_RUNTIME_DIR",
            env: vec![("XDG_RUNTIME_DIR", s(&runtime))],
            extra: vec![],
            source: format!("containersAuth:{}", s(&auth_json)),
            subject: user.as_str(),
            grant: Grant::Basic,
        },
        Case {
            what: "identity token exchanged at the token server",
            env: vec![("DOCKER_CONFIG", s(&identity))],
            extra: vec![],
            source: format!("dockerConfig:{}", s(&identity.join("config.json"))),
            subject: "refresher",
            grant: Grant::RefreshToken,
        },
        Case {
            what: "a helper's <token> answer is an identity token",
            env: vec![("DOCKER_CONFIG", s(&token_helper)), ("PATH", path.clone())],
            extra: vec![],
            source: "credHelper:tokens".to_owned(),
            subject: "refresher",
            grant: Grant::RefreshToken,
        },
        Case {
            what: "--creds with a password holding ':' (first over the default files)",
            env: vec![("DOCKER_CONFIG", s(&plain))],
            extra: vec!["--creds", &creds],
            source: "creds:colon".to_owned(),
            subject: "colon",
            grant: Grant::Basic,
        },
    ];
    for Case {
        what,
        env,
        extra,
        source,
        subject,
        grant,
    } in cases
    {
        let before = reg.token_grants().len();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (run, entry) = inspect_one(&reg, &image, &extra, &env);
        assert_eq!(run.status, 0, "{what}: {}", run.stderr);
        assert_eq!(entry["digest"], fx.single_digest.as_str(), "{what}");
        assert_eq!(entry["authSource"], source.as_str(), "{what}");
        assert_eq!(entry["endpoint"], format!("https://{host}"), "{what}");
        let grants = reg.token_grants();
        let authenticated: Vec<_> = grants[before..]
            .iter()
            .filter(|g| g.status == 200 && g.grant != Grant::Anonymous)
            .collect();
        assert!(
            !authenticated.is_empty()
                && authenticated
                    .iter()
                    .all(|g| g.subject == subject && g.grant == grant),
            "{what}: {:?}",
            &grants[before..]
        );
        assert!(!run.stderr.contains(&password) && !run.stdout.contains(&password));
        assert!(!run.stdout.contains(&refresh) && !run.stderr.contains(&refresh));
    }

    // The user's files are off with --no-default-credentials: refused, and nothing recorded as sent.
    let env = [("DOCKER_CONFIG", s(&plain))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (run, entry) = inspect_one(&reg, &image, &["--no-default-credentials"], &env);
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert_eq!(entry["errorDetail"]["kind"], "auth", "{entry}");
}

#[test]
fn a_missing_or_failing_helper_is_an_auth_error_naming_it() {
    let reg = Registry::start(RegistryKind::Token).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let image = format!("{host}/{}", fx.single);
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    write_helper(
        &bin,
        "broken",
        "echo 'token expired; run aws sso login' >&2; exit 1",
    );
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for (helper, says) in [
        ("nothere", "docker-credential-nothere (from "),
        (
            "broken",
            "failed (exit status: 1): token expired; run aws sso login",
        ),
    ] {
        let config = dir.path().join(helper);
        write_json(
            &config.join("config.json"),
            &json!({"credHelpers": {&host: helper}}),
        );
        let config_s = config.display().to_string();
        let (run, entry) = inspect_one(
            &reg,
            &image,
            &[],
            &[("DOCKER_CONFIG", &config_s), ("PATH", &path)],
        );
        assert_eq!(run.status, 1, "{}", run.stderr);
        assert_eq!(entry["errorDetail"]["kind"], "auth", "{entry}");
        let message = entry["error"].as_str().unwrap();
        assert!(
            message.contains(&format!("docker-credential-{helper}")) && message.contains(says),
            "{message}"
        );
        assert!(entry.get("authSource").is_none(), "{entry}");
    }
    // A public registry never runs the helper at all (it never asks for credentials).
    let public = Registry::start(RegistryKind::Plain).unwrap();
    let pfx = push_fixtures(&public).unwrap();
    let marker = dir.path().join("ran");
    write_helper(
        &bin,
        "noisy",
        &format!("touch {}; exit 1", marker.display()),
    );
    let config = dir.path().join("noisy");
    write_json(&config.join("config.json"), &json!({"credsStore": "noisy"}));
    let config_s = config.display().to_string();
    let run = imagefacts_env(
        &[
            "inspect",
            "--insecure-registry",
            &public.host(),
            &format!("{}/{}", public.host(), pfx.single),
        ],
        &[("DOCKER_CONFIG", &config_s), ("PATH", &path)],
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(run.json()["imageFacts"][0]["authSource"], "anonymous");
    assert!(
        !marker.exists(),
        "the helper ran for a registry that asked for nothing"
    );
}

#[test]
fn bad_credential_input_is_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("dc");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.json"),
        b"{\"auths\": {\"r\": {\"auth\": \"hunter2\"}}}",
    )
    .unwrap();
    let config_s = config.display().to_string();
    let run = imagefacts_env(
        &["inspect", "127.0.0.1:1/x:1"],
        &[("DOCKER_CONFIG", &config_s)],
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("dc/config.json"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--no-default-credentials"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    // --no-default-credentials skips the broken file.
    let run = imagefacts_env(
        &[
            "inspect",
            "--no-default-credentials",
            "--timeout",
            "2s",
            "--retries",
            "0",
            "127.0.0.1:1/x:1",
        ],
        &[("DOCKER_CONFIG", &config_s)],
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    // A --creds without a registry, for images of two registries, is refused before any request.
    let run = imagefacts_env(
        &[
            "inspect",
            "--creds",
            "me:hunter2",
            "127.0.0.1:1/x:1",
            "127.0.0.1:2/y:1",
        ],
        &[],
    );
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("REGISTRY=USER:PASS"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    let run = imagefacts_env(&["inspect", "--creds", "hunter2", "127.0.0.1:1/x:1"], &[]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--creds expects"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}
