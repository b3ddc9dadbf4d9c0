//! `SIGKILL` while `inspect -o FILE` and `bundle --add-to BUNDLE` run, at several points (while
//! the images are collected, as the output starts, half-way through it): the existing FILE and
//! the original bundle stay byte-identical, nothing visible is left beside them, and the next run
//! removes the hidden leftover and succeeds.

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use imagefacts_testkit::{Fault, FaultProxy, Registry};

/// Tags of `app` in the registry; each entry gets [`LAYERS`] layers from the proxy, so the
/// output is large enough (about 15 MB) to be killed half-way through.
const TAGS: usize = 40;
const LAYERS: usize = 3_000;

/// Where to kill: once the proxy has been asked something but before any output exists, or once
/// the hidden temporary output holds at least this many bytes.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    Collecting,
    Written(u64),
}

struct World {
    proxy: FaultProxy,
    _registry: Registry,
    _layout: tempfile::TempDir,
}

fn world() -> World {
    let tags: Vec<String> = (0..TAGS).map(|i| format!("t{i}")).collect();
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    let (registry, dir) = crate::support::app_registry(&tags);
    let proxy = FaultProxy::start(&registry.host(), |r, _| {
        (r.method == "GET" && r.path_only().starts_with("/v2/app/manifests/t"))
            .then_some(Fault::ManyLayers(LAYERS))
    })
    .unwrap();
    World {
        proxy,
        _registry: registry,
        _layout: dir,
    }
}

impl World {
    fn refs(&self) -> Vec<String> {
        (0..TAGS)
            .map(|i| format!("{}/app:t{i}", self.proxy.host()))
            .collect()
    }

    fn command(&self, args: &[String]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imagefacts"));
        cmd.args(args)
            .args([
                "--insecure-registry",
                &format!("http://{}", self.proxy.host()),
                "--no-cache",
            ])
            .env_remove("RUST_LOG")
            .env_remove("DOCKER_CONFIG")
            .env("HOME", std::env::temp_dir().join("imagefacts-sigkill-home"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut n: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    n.sort();
    n
}

fn hidden(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn sha(path: &Path) -> String {
    imagefacts_testkit::sha256_digest(&std::fs::read(path).unwrap())
}

/// Starts `cmd`, kills it with `SIGKILL` at `at` (the output being written in `dir`), and checks
/// it was killed, not finished.
fn kill_at(world: &World, mut cmd: Command, dir: &Path, at: KillAt) {
    let before = hidden(dir);
    let asked = world.proxy.requests().len();
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it was killed at {at:?}");
        }
        let temp = hidden(dir).into_iter().find(|n| !before.contains(n));
        let written = temp.and_then(|t| std::fs::metadata(dir.join(t)).ok().map(|m| m.len()));
        let now = match at {
            KillAt::Collecting => world.proxy.requests().len() > asked && written.is_none(),
            KillAt::Written(n) => written.is_some_and(|w| w >= n),
        };
        if now {
            child.kill().unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "never reached {at:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL at {at:?}");
}

/// After a kill: `kept` is byte-identical, nothing else is visible in `dir`, and at most one
/// hidden leftover (this kill's; the next writer removes the previous one) is there.
fn assert_untouched(dir: &Path, kept: &Path, sha_before: &str, at: KillAt) {
    assert_eq!(
        sha(kept),
        sha_before,
        "{} changed by a kill at {at:?}",
        kept.display()
    );
    let name = kept.file_name().unwrap().to_string_lossy().into_owned();
    let visible: Vec<String> = names(dir)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(visible, [name], "only the original is visible after {at:?}");
    let left = hidden(dir);
    assert!(left.len() <= 1, "leftovers after {at:?}: {left:?}");
    assert!(
        left.iter().all(|n| n.contains(".imagefacts-tmp.")),
        "{left:?}"
    );
}

#[test]
fn sigkill_during_inspect_to_a_file_leaves_the_old_file() {
    let world = world();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("facts.json");
    std::fs::write(&out, b"{\"old\": \"facts\"}\n").unwrap();
    let before = sha(&out);
    let mut args = vec![
        "inspect".to_owned(),
        "-o".to_owned(),
        out.display().to_string(),
    ];
    args.extend(world.refs());
    for at in [
        KillAt::Collecting,
        KillAt::Written(1),
        KillAt::Written(4 << 20),
    ] {
        kill_at(&world, world.command(&args), dir.path(), at);
        assert_untouched(dir.path(), &out, &before, at);
    }
    let status = world.command(&args).status().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        names(dir.path()),
        ["facts.json"],
        "the leftover was removed"
    );
    let facts = crate::support::facts_file(&std::fs::read(&out).unwrap(), "facts.json");
    assert_eq!(facts["imageFacts"].as_array().unwrap().len(), TAGS);
}

/// A troubleshoot bundle (`.tar.gz`) whose pods run every tag, with an 8 MB incompressible log so
/// that writing the new archive takes a while.
fn write_bundle(dir: &Path, world: &World) -> PathBuf {
    let top = "support-bundle-2026-12-02T00_00_00";
    let root = dir.join("src");
    let res = root.join("cluster-resources/pods");
    std::fs::create_dir_all(&res).unwrap();
    let containers: Vec<serde_json::Value> = world
        .refs()
        .iter()
        .enumerate()
        .map(|(i, r)| serde_json::json!({"name": format!("c{i}"), "image": r}))
        .collect();
    let pods = serde_json::json!({"kind": "PodList", "apiVersion": "v1", "metadata": {},
        "items": [{"metadata": {"name": "app-1", "namespace": "prod"},
                   "spec": {"containers": containers}}]});
    std::fs::write(res.join("prod.json"), pods.to_string()).unwrap();
    let logs = root.join("cluster-resources/pods/logs/prod/app-1");
    std::fs::create_dir_all(&logs).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..8 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(logs.join("c0.log"), noise).unwrap();
    let archive = dir.join("bundle").join(format!("{top}.tar.gz"));
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    let tar = imagefacts_testkit::tar_dir(top, &root).unwrap();
    std::fs::write(&archive, imagefacts_testkit::gzip(&tar)).unwrap();
    archive
}

#[test]
fn sigkill_during_bundle_add_to_leaves_the_original_bundle() {
    let world = world();
    let work = tempfile::tempdir().unwrap();
    let bundle = write_bundle(work.path(), &world);
    let dir = bundle.parent().unwrap().to_owned();
    let before = sha(&bundle);
    let size = std::fs::metadata(&bundle).unwrap().len();
    let args = vec![
        "bundle".to_owned(),
        "--add-to".to_owned(),
        bundle.display().to_string(),
    ];
    for at in [
        KillAt::Collecting,
        KillAt::Written(1),
        KillAt::Written(size / 2),
    ] {
        kill_at(&world, world.command(&args), &dir, at);
        assert_untouched(&dir, &bundle, &before, at);
    }
    let status = world.command(&args).status().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(
        names(&dir),
        [bundle.file_name().unwrap().to_string_lossy()],
        "the leftover was removed"
    );
    let opened = imagefacts_bundle::Bundle::open(&bundle).unwrap();
    assert!(
        opened
            .entries()
            .iter()
            .any(|e| e.path.ends_with("image-facts/facts.json")),
        "the next run added the facts"
    );
}
