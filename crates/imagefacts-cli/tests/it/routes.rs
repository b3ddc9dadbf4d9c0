//! Routes the way the nodes pull: a containerd `hosts.toml`, a `registries.conf`, a k3s
//! `registries.yaml` and `--mirror` each send `docker.io/library/x` to a local registry (there is
//! no network to Docker Hub here: an answer can only come from the mirror), `endpoint` recording
//! it; a blocked prefix makes no request; mutual TLS from a certs.d directory.

use std::path::Path;

use imagefacts_testkit::{Registry, RegistryKind, push_fixtures, skopeo};
use serde_json::Value;

use crate::support::{Run, imagefacts};

/// A plain registry holding the single-platform fixture also as `library/x:1.0` and as
/// `mirrored/x:1.0`; its digest.
fn mirror() -> (Registry, String) {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    for to in ["library/x:1.0", "mirrored/x:1.0"] {
        skopeo(&[
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{host}/{}", fx.single),
            &format!("docker://{host}/{to}"),
        ])
        .unwrap();
    }
    (reg, fx.single_digest)
}

fn entry(run: &Run) -> Value {
    run.json()["imageFacts"][0].clone()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `inspect docker.io/library/x:1.0` with `flags`, none of the machine's own route files.
fn inspect_hub(dir: &Path, flags: &[&str]) -> Run {
    let none = dir.join("none").display().to_string();
    let mut args = vec!["inspect", "--timeout", "5s", "--retries", "0"];
    for flag in [
        "--hosts-dir",
        "--registries-conf",
        "--k3s-registries",
        "--certs-dir",
    ] {
        if !flags.contains(&flag) {
            args.extend([flag, none.as_str()]);
        }
    }
    args.extend(flags);
    args.push("docker.io/library/x:1.0");
    imagefacts(&args)
}

#[test]
fn each_node_route_file_sends_docker_hub_pulls_to_a_local_mirror() {
    let (reg, digest) = mirror();
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &Path| p.display().to_string();

    let hosts_dir = dir.path().join("certs.d");
    write(
        &hosts_dir.join("docker.io/hosts.toml"),
        &format!(
            "server = \"https://registry-1.docker.io\"\n\n[host.\"http://{host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
        ),
    );
    let registries_conf = dir.path().join("registries.conf");
    write(
        &registries_conf,
        &format!(
            "unqualified-search-registries = [\"docker.io\"]\n\n[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n\n[[registry.mirror]]\nlocation = \"{host}\"\ninsecure = true\n"
        ),
    );
    let k3s = dir.path().join("registries.yaml");
    write(
        &k3s,
        &format!(
            "mirrors:\n  docker.io:\n    endpoint:\n      - \"http://{host}\"\n    rewrite:\n      \"^library/(.*)\": \"mirrored/$1\"\n"
        ),
    );
    let mirror_flag = format!("docker.io=http://{host}");
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("hosts.toml", vec!["--hosts-dir".into(), d(&hosts_dir)]),
        (
            "registries.conf",
            vec!["--registries-conf".into(), d(&registries_conf)],
        ),
        ("registries.yaml", vec!["--k3s-registries".into(), d(&k3s)]),
        ("--mirror", vec!["--mirror".into(), mirror_flag]),
    ];
    for (what, flags) in cases {
        reg.clear_access_log();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let run = inspect_hub(dir.path(), &flags);
        assert_eq!(run.status, 0, "{what}: {}", run.stderr);
        let e = entry(&run);
        assert_eq!(e["digest"], digest.as_str(), "{what}: {e}");
        assert_eq!(e["registry"], "docker.io", "{what}");
        assert_eq!(e["repository"], "library/x", "{what}");
        assert_eq!(e["endpoint"], format!("http://{host}"), "{what}: {e}");
        assert_eq!(e["authSource"], "anonymous", "{what}");
        let log = reg.access_log();
        let wanted = if what == "registries.yaml" {
            "/v2/mirrored/x/"
        } else {
            "/v2/library/x/"
        };
        assert!(
            !log.is_empty() && log.iter().all(|l| l.path.starts_with(wanted)),
            "{what}: {:?}",
            log.iter().map(|l| &l.path).collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_blocked_prefix_makes_no_request() {
    let (reg, _) = mirror();
    let host = reg.host();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("registries.conf");
    write(
        &conf,
        &format!(
            "[[registry]]\nprefix = \"{host}/library\"\nlocation = \"{host}/library\"\nblocked = true\n"
        ),
    );
    reg.clear_access_log();
    let conf_s = conf.display().to_string();
    let run = imagefacts(&[
        "inspect",
        "--registries-conf",
        &conf_s,
        "--insecure-registry",
        &format!("http://{host}"),
        &format!("{host}/library/x:1.0"),
        &format!("{host}/mirrored/x:1.0"),
    ]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let v = run.json();
    let blocked = &v["imageFacts"][0];
    assert_eq!(blocked["errorDetail"]["kind"], "blocked", "{blocked}");
    let message = blocked["error"].as_str().unwrap();
    assert!(message.contains(&conf_s), "{message}");
    assert!(blocked.get("endpoint").is_none(), "{blocked}");
    // The other repository is not blocked and is served.
    assert!(v["imageFacts"][1].get("error").is_none());
    let log = reg.access_log();
    assert!(
        log.iter().all(|l| !l.path.contains("/library/")),
        "a blocked pull reached the registry: {:?}",
        log.iter().map(|l| &l.path).collect::<Vec<_>>()
    );
    // A malformed file is one line naming it; nothing is asked.
    write(&conf, "[[registry]\nprefix = 3\n");
    let run = imagefacts(&["inspect", "--registries-conf", &conf_s, "x:1"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains(&conf_s), "{}", run.stderr);
}

#[test]
fn mutual_tls_works_from_a_certs_d_directory() {
    let reg = Registry::start(RegistryKind::TlsClientCert).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let image = format!("{}/{}", reg.host(), fx.single);
    let certs_d = reg.docker_certs_d().unwrap().display().to_string();
    // The certs.d directory gives both the CA and the client certificate.
    let run = imagefacts(&["inspect", "--certs-dir", &certs_d, &image]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let e = entry(&run);
    assert_eq!(e["digest"], fx.single_digest.as_str(), "{e}");
    assert_eq!(e["endpoint"], format!("https://{}", reg.host()));
    // Without the client certificate (the CA alone) the registry refuses the handshake.
    let ca = reg.ca_file().unwrap().display().to_string();
    let run = imagefacts(&["inspect", "--retries", "0", "--ca-file", &ca, &image]);
    assert_eq!(run.status, 1, "{}", run.stderr);
    let kind = entry(&run)["errorDetail"]["kind"].clone();
    assert!(kind == "tls" || kind == "network", "{kind}");
}

#[test]
fn the_machines_own_registries_conf_reads() {
    // Debian's containers-common ships one (with short-name aliases in registries.conf.d): a
    // real file every run reads by default must never be an error.
    let run = imagefacts(&["inspect", "--offline", "x:1"]);
    assert_ne!(run.status, 2, "{}", run.stderr);
}

#[test]
fn a_mirror_serving_other_content_for_a_digest_gives_way_to_the_registry() {
    let (reg, digest) = mirror();
    let host = reg.host();
    // A mirror whose every manifest and blob is some other content.
    let lie = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}"#.to_vec();
    let liar = imagefacts_testkit::ScriptedServer::start(move |_: &imagefacts_testkit::Request| {
        imagefacts_testkit::Reply::new(200)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(lie.clone())
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let none = dir.path().join("none").display().to_string();
    let pinned = format!("{host}/library/x@{digest}");
    let run = imagefacts(&[
        "inspect",
        "--hosts-dir",
        &none,
        "--registries-conf",
        &none,
        "--k3s-registries",
        &none,
        "--insecure-registry",
        &format!("http://{host}"),
        "--mirror",
        &format!("{host}=http://{}", liar.host()),
        &pinned,
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let e = entry(&run);
    assert_eq!(e["digest"], digest.as_str(), "{e}");
    assert_eq!(
        e["endpoint"],
        format!("http://{host}"),
        "the registry served: {e}"
    );
    assert!(
        e["configDigest"].is_string() && e["layers"].is_array(),
        "{e}"
    );
    assert!(!liar.requests().is_empty(), "the mirror was asked first");
}
