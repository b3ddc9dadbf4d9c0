//! No credential reaches a place it was not meant for, whichever source gave it: a token realm
//! on plain HTTP that no `--insecure-registry` names gets the token request anonymously, and a
//! blob redirect to another host gets no `Authorization`. One run per source kind, each with
//! its own secret, searched for (plain and base64) in every request the servers received.

use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use imagefacts_testkit::{Reply, Request, ScriptedServer};
use serde_json::{Value, json};

use crate::credentials::write_helper;
use crate::support::{Run, imagefacts_env, list_reply as list, sha256, write_kubeconfig};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const ANON_TOKEN: &str = "anonymous-token";

/// A registry on 127.0.0.1 (named insecure by the runs) whose Bearer realm is `localhost` over
/// plain HTTP (not trusted with secrets), serving one image whose config blob redirects to
/// another server on `localhost`.
struct Trap {
    registry: ScriptedServer,
    realm: ScriptedServer,
    blobs: ScriptedServer,
}

impl Trap {
    fn start() -> Trap {
        let config = br#"{"architecture":"amd64","os":"linux","config":{}}"#.to_vec();
        let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(&config), "size": config.len()},
            "layers": []})
        .to_string();
        let digest = sha256(manifest.as_bytes());
        let blobs =
            ScriptedServer::start(move |_: &Request| Reply::new(200).body(config.clone())).unwrap();
        let realm = ScriptedServer::start(|_: &Request| {
            Reply::new(200).json(&json!({"token": ANON_TOKEN, "expires_in": 300}))
        })
        .unwrap();
        let challenge = format!(
            r#"Bearer realm="{}/token",service="trap""#,
            realm.localhost_url()
        );
        let blob_url = format!("{}/blob", blobs.localhost_url());
        let registry = ScriptedServer::start(move |req: &Request| {
            if req.header("authorization") != Some(&format!("Bearer {ANON_TOKEN}")) {
                return Reply::new(401)
                    .header("WWW-Authenticate", challenge.clone())
                    .json(&json!({"errors": [{"code": "UNAUTHORIZED", "message": "auth"}]}));
            }
            let path = req.path_only();
            if path.ends_with("/manifests/1") || path.ends_with(&format!("/manifests/{digest}")) {
                let reply = Reply::new(200)
                    .header("Content-Type", OCI_MANIFEST)
                    .header("Docker-Content-Digest", digest.clone());
                return if req.method == "HEAD" {
                    reply
                } else {
                    reply.body(manifest.clone())
                };
            }
            if path.contains("/blobs/") {
                return Reply::new(307).header("Location", blob_url.clone());
            }
            Reply::new(404)
        })
        .unwrap();
        Trap {
            registry,
            realm,
            blobs,
        }
    }

    fn clear(&self) {
        for s in [&self.registry, &self.realm, &self.blobs] {
            s.clear_requests();
        }
    }

    /// Where `secret` (or `user:secret` in base64) was seen, by server.
    fn seen(&self, user: &str, secret: &str) -> Vec<String> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        let mut out = Vec::new();
        for (name, s) in [
            ("registry", &self.registry),
            ("realm", &self.realm),
            ("redirect target", &self.blobs),
        ] {
            for r in s.requests() {
                let text = format!(
                    "{} {:?} {}",
                    r.path,
                    r.headers,
                    String::from_utf8_lossy(&r.body)
                );
                if text.contains(secret) || text.contains(&b64) {
                    out.push(format!("{name}: {} {}", r.method, r.path));
                }
            }
        }
        out
    }
}

fn write_config(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, value.to_string()).unwrap();
}

fn auths(host: &str, user: &str, secret: &str) -> Value {
    json!({"auths": {host: {"auth": base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))}}})
}

fn assert_served_anonymously(what: &str, run: &Run, trap: &Trap, user: &str, secret: &str) {
    assert_eq!(run.status, 0, "{what}: {}", run.stderr);
    let v = run.json();
    let entry = &v["imageFacts"][0];
    assert_eq!(entry["authSource"], "anonymous", "{what}: {entry}");
    assert!(
        !trap.blobs.requests().is_empty(),
        "{what}: the redirect was not followed"
    );
    assert!(
        !trap.realm.requests().is_empty(),
        "{what}: the realm was not asked"
    );
    let seen = trap.seen(user, secret);
    assert!(seen.is_empty(), "{what}: the secret reached {seen:?}");
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
}

#[test]
fn no_credential_source_sends_its_secret_to_an_untrusted_realm_or_a_redirect_target() {
    let trap = Trap::start();
    let host = trap.registry.host();
    let image = format!("{host}/team/app:1");
    let dir = tempfile::tempdir().unwrap();
    let user = "leaky";
    let bin = dir.path().join("bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let s = |p: &Path| p.display().to_string();

    // (kind, environment, flags), each with its own secret.
    let secret = |kind: &str| format!("s3cret-{kind}");
    let authfile = dir.path().join("authfile.json");
    write_config(&authfile, &auths(&host, user, &secret("authfile")));
    let docker = dir.path().join("docker");
    write_config(
        &docker.join("config.json"),
        &auths(&host, user, &secret("dockerConfig")),
    );
    let runtime = dir.path().join("run");
    write_config(
        &runtime.join("containers/auth.json"),
        &auths(&host, user, &secret("containersAuth")),
    );
    let helpers = dir.path().join("helpers");
    write_config(
        &helpers.join("config.json"),
        &json!({"credHelpers": {&host: "leak"}}),
    );
    let store = dir.path().join("store");
    write_config(&store.join("config.json"), &json!({"credsStore": "leak"}));
    write_helper(
        &bin,
        "leak",
        &format!(
            r#"printf '{{"Username":"{user}","Secret":"{}"}}'"#,
            secret("helper")
        ),
    );
    let creds = format!("{host}={user}:{}", secret("creds"));
    let authfile_s = s(&authfile);
    /// (kind, its secret, environment, flags).
    type Case<'a> = (&'a str, String, Vec<(&'a str, String)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        ("creds", secret("creds"), vec![], vec!["--creds", &creds]),
        (
            "authfile",
            secret("authfile"),
            vec![],
            vec!["--authfile", &authfile_s],
        ),
        (
            "dockerConfig",
            secret("dockerConfig"),
            vec![("DOCKER_CONFIG", s(&docker))],
            vec![],
        ),
        (
            "containersAuth",
            secret("containersAuth"),
            vec![("XDG_RUNTIME_DIR", s(&runtime))],
            vec![],
        ),
        (
            "credHelper",
            secret("helper"),
            vec![("DOCKER_CONFIG", s(&helpers)), ("PATH", path.clone())],
            vec![],
        ),
        (
            "credsStore",
            secret("helper"),
            vec![("DOCKER_CONFIG", s(&store)), ("PATH", path.clone())],
            vec![],
        ),
    ];
    for (kind, secret, env, flags) in &cases {
        trap.clear();
        let mut args = vec!["inspect", "--insecure-registry", &host];
        args.extend(flags);
        args.push(&image);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let run = imagefacts_env(&args, &env);
        assert_served_anonymously(kind, &run, &trap, user, secret);
    }

    // A pull secret read from a live cluster.
    let pull_secret = secret("pullSecret");
    let dockerconfig = auths(&host, user, &pull_secret);
    let k8s_secret = crate::support::pull_secret(&dockerconfig);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": &image}], "imagePullSecrets": [{"name": "regcred"}]},
        "status": {"phase": "Running"}});
    let asked = Arc::new(Mutex::new(false));
    let asked_in = asked.clone();
    let api = ScriptedServer::start(move |req: &Request| match req.path_only() {
        "/api/v1/namespaces" => list("NamespaceList", vec![json!({"metadata": {"name": "shop"}})]),
        "/api/v1/namespaces/shop/pods" => list("PodList", vec![pod.clone()]),
        "/api/v1/namespaces/shop/secrets/regcred" => {
            *asked_in.lock().unwrap() = true;
            Reply::new(200).json(&k8s_secret)
        }
        p if p.starts_with("/api") => list("List", vec![]),
        _ => Reply::new(404),
    })
    .unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &api.url());
    trap.clear();
    let run = imagefacts_env(
        &[
            "collect",
            "--kubeconfig",
            &s(&kubeconfig),
            "--insecure-registry",
            &host,
        ],
        &[],
    );
    assert!(*asked.lock().unwrap(), "the pull secret was not read");
    assert_served_anonymously("pullSecret", &run, &trap, user, &pull_secret);
}

#[test]
fn the_upstream_registrys_credentials_never_reach_its_mirror() {
    // A mirror that asks for Basic credentials: the client has some for docker.io, none for the
    // mirror, so the mirror must only ever be asked anonymously. The upstream of this route is
    // a closed local port (no request leaves 127.0.0.1).
    let mirror = ScriptedServer::start(|_: &Request| {
        Reply::new(401).header("WWW-Authenticate", r#"Basic realm="mirror""#)
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("certs.d");
    std::fs::create_dir_all(hosts.join("docker.io")).unwrap();
    std::fs::write(
        hosts.join("docker.io/hosts.toml"),
        format!(
            "server = \"http://127.0.0.1:1\"\n\n[host.\"http://{}\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            mirror.host()
        ),
    )
    .unwrap();
    let docker = dir.path().join("docker");
    write_config(
        &docker.join("config.json"),
        &auths("https://index.docker.io/v1/", "hub", "s3cret-hub-config"),
    );
    let hosts_s = hosts.display().to_string();
    let docker_s = docker.display().to_string();
    let run = imagefacts_env(
        &[
            "inspect",
            "--hosts-dir",
            &hosts_s,
            "--creds",
            "docker.io=hub:s3cret-hub-flag",
            "--retries",
            "0",
            "docker.io/library/x:1",
        ],
        &[("DOCKER_CONFIG", &docker_s)],
    );
    assert_eq!(run.status, 1, "{}", run.stderr);
    assert!(!mirror.requests().is_empty(), "the mirror was not asked");
    for secret in ["s3cret-hub-config", "s3cret-hub-flag"] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("hub:{secret}"));
        for r in mirror.requests() {
            let text = format!("{} {:?}", r.path, r.headers);
            assert!(
                !text.contains(secret) && !text.contains(&b64),
                "{secret} reached the mirror: {text}"
            );
        }
    }
}
