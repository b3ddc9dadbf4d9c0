//! Resource bounds: the open file descriptors of a run are bounded by its concurrency limits, not
//! by how many references it has (sampled from `/proc/<pid>/fd` while it runs against a slow
//! proxy in front of the real registry).

use std::process::{Command, Stdio};
use std::time::Duration;

use imagefacts_testkit::{Fault, FaultProxy, OciLayout, Registry, RegistryKind};

/// The most file descriptors a run against `proxy` holds at once, sampled every 5 ms.
fn peak_fds(proxy: &FaultProxy, refs: &[String], per_registry: &str) -> usize {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagefacts"))
        .arg("inspect")
        .args(["--insecure-registry", &format!("http://{}", proxy.host())])
        .args(["--per-registry", per_registry, "--concurrency", "16"])
        .arg("--cache-dir")
        .arg(home.path().join("cache"))
        .args(refs)
        .env_remove("RUST_LOG")
        .env("HOME", home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let fd_dir = format!("/proc/{}/fd", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(list) = std::fs::read_dir(&fd_dir) {
            peak = peak.max(list.count());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(child.wait().unwrap().code(), Some(0));
    peak
}

#[test]
fn open_file_descriptors_are_bounded_by_the_concurrency_limits() {
    let registry = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let repos = registry.seed_distinct(&layout, "fd/app", 200, "1").unwrap();
    // Every answer takes 50 ms, so the limits are what holds requests back.
    let proxy = FaultProxy::start(&registry.host(), |_, _| {
        Some(Fault::Delay(Duration::from_millis(50)))
    })
    .unwrap();
    let refs = |n: usize| -> Vec<String> {
        repos[..n]
            .iter()
            .map(|r| format!("{}/{r}:1", proxy.host()))
            .collect()
    };
    let narrow = peak_fds(&proxy, &refs(200), "4");
    let wider = peak_fds(&proxy, &refs(200), "12");
    eprintln!("peak fds of 200 references: {narrow} at --per-registry 4, {wider} at 12");
    // A descriptor per reference (a leaked connection or file) would be over 200. What a run
    // holds besides its connections (stdio, epoll, eventfds, the cache pack) is under 30.
    assert!(narrow < 4 + 30, "{narrow} fds at --per-registry 4");
    assert!(wider < 12 + 30, "{wider} fds at --per-registry 12");
}
