//! Running the binary and reading its output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The result of one `imagefacts` run.
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout parsed as JSON; a facts.json must validate against the published schema.
    pub(crate) fn json(&self) -> Value {
        let v: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        });
        if v.get("imageFacts").is_some() {
            check_facts(self.stdout.as_bytes(), &v, "stdout");
        }
        v
    }

    /// The `imageFacts` entries of stdout.
    pub(crate) fn facts(&self) -> Vec<Value> {
        self.json()["imageFacts"]
            .as_array()
            .expect("imageFacts array")
            .clone()
    }
}

/// Every facts file a test reads passes here: it must validate against the published schema,
/// and upstream troubleshoot's Go types must decode it (`error` a string equal to
/// `errorDetail.message`, times RFC 3339, sizes int64, ...).
fn check_facts(bytes: &[u8], v: &Value, name: &str) {
    let violations = imagefacts_cli::facts_violations(v);
    assert!(
        violations.is_empty(),
        "{name} violates the facts.json schema: {violations:#?}"
    );
    let decoded = imagefacts_testkit::upstream_decode_bytes(bytes)
        .unwrap_or_else(|e| panic!("upstream's Go types cannot decode {name}: {e}"));
    let entries = v["imageFacts"].as_array().expect("imageFacts array");
    assert_eq!(decoded.images, entries.len(), "{name}: entries Go decoded");
    let ours: Vec<&str> = entries.iter().filter_map(|f| f["error"].as_str()).collect();
    assert_eq!(decoded.messages, ours, "{name}: `error` strings Go decoded");
    for f in entries.iter().filter(|f| f.get("error").is_some()) {
        assert_eq!(
            f["error"], f["errorDetail"]["message"],
            "{name}: `error` equals errorDetail.message"
        );
    }
}

/// A facts file (`facts.json`, `<ns>-facts.json`) read by a test, checked as [`check_facts`] does.
pub(crate) fn facts_file(bytes: &[u8], name: &str) -> Value {
    let v: Value =
        serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{name} is not JSON ({e})"));
    check_facts(bytes, &v, name);
    v
}

fn finish(out: Output) -> Run {
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Gives a run a clean environment: no log filter, and a home of its own under `dir` with no
/// credential file in it (the tester's own `~/.docker/config.json` is never read). A test that
/// wants a default file sets these variables itself.
fn isolate(cmd: &mut Command, dir: &Path) {
    cmd.env_remove("RUST_LOG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("DOCKER_CONFIG")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", dir.join("home"));
}

/// Runs `imagefacts ARGS` with a clean environment for logging.
pub(crate) fn imagefacts<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    imagefacts_env(args, &[])
}

/// Runs `imagefacts ARGS` with extra environment variables.
pub(crate) fn imagefacts_env<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Run {
    // Every run gets a cold cache of its own unless the test names one with --cache-dir.
    let cache = tempfile::tempdir().expect("temp cache dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imagefacts"));
    cmd.args(args).env("IMAGEFACTS_CACHE_DIR", cache.path());
    isolate(&mut cmd, cache.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    finish(cmd.output().expect("imagefacts runs"))
}

/// Runs `imagefacts ARGS` under `/usr/bin/time`; returns the run and its peak RSS in KiB.
pub(crate) fn imagefacts_measured<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (Run, u64) {
    let cache = tempfile::tempdir().expect("temp cache dir");
    let rss_file = cache.path().join("rss");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(env!("CARGO_BIN_EXE_imagefacts"))
        .args(args)
        .env("IMAGEFACTS_CACHE_DIR", cache.path().join("cache"))
        .env("HOME", cache.path().join("home"))
        .env_remove("RUST_LOG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("DOCKER_CONFIG")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("/usr/bin/time runs (Debian package `time`)");
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
        .expect("/usr/bin/time wrote the peak RSS");
    (finish(out), rss)
}

/// `[prefix..., refs...]` as owned strings.
pub(crate) fn args(prefix: &[String], rest: &[String]) -> Vec<String> {
    prefix.iter().chain(rest).cloned().collect()
}

/// `imagefacts inspect <registry flags> <refs>`.
pub(crate) fn inspect(registry_args: &[String], refs: &[String]) -> Run {
    let mut a = vec!["inspect".to_owned()];
    a.extend(args(registry_args, refs));
    imagefacts(&a)
}

/// Writes a docker config.json with one `auths` entry.
pub(crate) fn write_authfile(
    dir: &Path,
    host: &str,
    user: &str,
    password: &str,
) -> std::path::PathBuf {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let path = dir.join("auth.json");
    std::fs::write(
        &path,
        serde_json::json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    path
}

/// sha256 digest string of bytes.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    imagefacts_testkit::sha256_digest(bytes)
}

/// A bundle directory whose pods run images of `host`: `running` is the digest the pod status reports.
pub(crate) fn write_bundle(
    dir: &Path,
    host: &str,
    image: &str,
    running: &str,
    extra_image: &str,
) -> PathBuf {
    let top = dir.join("support-bundle-2026-11-28T00_00_00");
    let res = top.join("cluster-resources");
    std::fs::create_dir_all(res.join("pods")).unwrap();
    std::fs::create_dir_all(res.join("deployments")).unwrap();
    let pods = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [{
        "metadata": {"name": "app-1", "namespace": "prod"},
        "spec": {"containers": [{"name": "app", "image": format!("{host}/{image}")}],
                 "initContainers": [{"name": "init", "image": format!("{host}/{extra_image}")}],
                 "nodeName": "n1"},
        "status": {"containerStatuses": [{"name": "app", "image": format!("{host}/{image}"),
            "imageID": format!("{host}/{}@{running}", image.split(':').next().unwrap())}]}
    }]});
    std::fs::write(
        res.join("pods/prod.json"),
        serde_json::to_vec_pretty(&pods).unwrap(),
    )
    .unwrap();
    std::fs::write(res.join("deployments/broken.json"), b"[{").unwrap();
    std::fs::write(
        res.join("nodes.json"),
        serde_json::json!({"kind": "NodeList", "items": [{"metadata": {"name": "n1"},
            "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "arm64"}}}]})
        .to_string(),
    )
    .unwrap();
    top
}

/// A kubeconfig in `dir` pointing at `server` with a token user; returns its path.
pub(crate) fn write_kubeconfig(dir: &Path, server: &str) -> PathBuf {
    write_kubeconfig_with_token(dir, server, "t")
}

/// A kubeconfig in `dir` pointing at `server`, its user authenticating with bearer `token`;
/// returns its path.
pub(crate) fn write_kubeconfig_with_token(dir: &Path, server: &str, token: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(&path, format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
         users:\n- name: u\n  user:\n    token: {token}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
    )).unwrap();
    path
}

/// The pull secret `shop/regcred` (type `kubernetes.io/dockerconfigjson`) holding `dockerconfig`.
pub(crate) fn pull_secret(dockerconfig: &Value) -> Value {
    use base64::Engine as _;
    let data = base64::engine::general_purpose::STANDARD.encode(dockerconfig.to_string());
    serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred", "namespace": "shop"},
        "data": {".dockerconfigjson": data}})
}

/// A live cluster's API server (recorded answers): namespace `shop` running `pod`, the linux/amd64
/// node `n1`, and `secret` as `shop/regcred`; every other list is empty. With `token`, a request
/// without `Authorization: Bearer <token>` is refused (401).
pub(crate) fn shop_cluster(
    pod: Value,
    secret: Value,
    token: Option<&'static str>,
) -> imagefacts_testkit::ScriptedServer {
    use imagefacts_testkit::{Reply, Request};
    use serde_json::json;
    imagefacts_testkit::ScriptedServer::start(move |req: &Request| {
        if let Some(token) = token
            && req.header("authorization") != Some(&format!("Bearer {token}"))
        {
            return Reply::new(401).json(&json!({"kind": "Status", "apiVersion": "v1",
                "status": "Failure", "reason": "Unauthorized", "code": 401}));
        }
        match req.path_only() {
            "/api/v1/namespaces" => list_reply(
                "NamespaceList",
                vec![json!({"metadata": {"name": "shop"}})],
            ),
            "/api/v1/nodes" => list_reply(
                "NodeList",
                vec![json!({"metadata": {"name": "n1"},
                    "status": {"nodeInfo": {"operatingSystem": "linux", "architecture": "amd64"}}})],
            ),
            "/api/v1/namespaces/shop/pods" => list_reply("PodList", vec![pod.clone()]),
            "/api/v1/namespaces/shop/secrets/regcred" => Reply::new(200).json(&secret),
            p if p.starts_with("/api") => list_reply("List", vec![]),
            _ => Reply::new(404),
        }
    })
    .expect("the API server starts")
}

/// A recorded API server's answer: a List of `kind` holding `items`.
pub(crate) fn list_reply(kind: &str, items: Vec<Value>) -> imagefacts_testkit::Reply {
    imagefacts_testkit::Reply::new(200).json(&serde_json::json!({"kind": kind, "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"}, "items": items}))
}

/// A plain registry holding one linux/amd64 image as `app:<tag>` for each of `tags` (seeded
/// straight into its storage), and the layout it came from (kept alive with it).
pub(crate) fn app_registry(tags: &[&str]) -> (imagefacts_testkit::Registry, tempfile::TempDir) {
    use imagefacts_testkit::{ImageSpec, OciLayout, Registry, RegistryKind};
    let registry = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    layout
        .add_image("app", &ImageSpec::simple("amd64"))
        .unwrap();
    registry.seed_tags(&layout, "app", "app", tags).unwrap();
    (registry, dir)
}

/// Every raw tar record of an archive (gzip or not): header bytes, data and entry name.
pub(crate) fn raw_records(path: &Path) -> Vec<(Vec<u8>, Vec<u8>, String)> {
    use std::io::Read as _;
    let bytes = std::fs::read(path).unwrap();
    let reader: Box<dyn std::io::Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(&bytes[..]))
    } else {
        Box::new(&bytes[..])
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().unwrap().raw(true);
    let mut out = Vec::new();
    for e in entries {
        let mut e = e.unwrap();
        let header = e.header().as_bytes().to_vec();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((header, data, name));
    }
    out
}

/// The forms in which `secret` may show in output: as is, and in base64 (standard and URL-safe)
/// at each of the three alignments it can have inside a longer base64 text, without the
/// characters it shares with its neighbours, so padded, unpadded and embedded encodings are all
/// found. A secret shorter than 6 bytes has no base64 form here (too short to tell).
pub(crate) fn leak_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut forms = vec![secret.to_owned()];
    if secret.len() < 6 {
        return forms;
    }
    for shift in 0..3 {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(secret.as_bytes());
        // Characters holding a bit of the leading filler, and the last one when it also holds
        // bits of whatever follows.
        let start = [0, 2, 3][shift];
        let end = bytes.len() * 8 / 6;
        for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
            let core = engine.encode(&bytes)[start..end].to_owned();
            if !forms.contains(&core) {
                forms.push(core);
            }
        }
    }
    forms
}

/// Every place where one of `secrets` (name, value) shows in one of `outputs` (name, bytes), in
/// any of its [`leak_forms`]: one `"<secret> in <output>"` line per pair.
pub(crate) fn leaks(outputs: &[(String, Vec<u8>)], secrets: &[(String, String)]) -> Vec<String> {
    let mut hits = Vec::new();
    for (secret_name, secret) in secrets {
        let forms = leak_forms(secret);
        for (output, bytes) in outputs {
            let found = forms
                .iter()
                .find(|form| bytes.windows(form.len()).any(|w| w == form.as_bytes()));
            if let Some(form) = found {
                hits.push(format!("{secret_name} in {output} (as {form:?})"));
            }
        }
    }
    hits
}

/// Compares `text` with `tests/it/snapshots/<name>`, which `UPDATE_SNAPSHOTS=1` rewrites first.
pub(crate) fn assert_snapshot(name: &str, text: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == text,
        "output differs from {}:\n{text}",
        path.display()
    );
}
