//! Issue 14: progress as data. Every `--progress json` line carries the run's counts, the
//! `finish` event the requests the client really sent (the registry's access log agrees), and on
//! a terminal the bar leaves one summary line (`tests/it/snapshots/progress.txt`; rewrite it
//! with `UPDATE_SNAPSHOTS=1`).

use std::path::Path;
use std::process::Command;

use imagefacts_testkit::{Registry, RegistryKind, push_fixtures};
use serde_json::Value;

use crate::support::{args, imagefacts};

/// A plain registry with the fixtures, its access log cleared, and four references to inspect:
/// three present, one missing.
fn registry_and_refs() -> (Registry, Vec<String>) {
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let host = reg.host();
    let refs = [&fx.single, &fx.multi_oci, &fx.single_v2s2]
        .iter()
        .map(|r| format!("{host}/{r}"))
        .chain([format!("{host}/fixtures/missing:2.0")])
        .collect();
    reg.clear_access_log();
    (reg, refs)
}

const COUNT_FIELDS: [&str; 6] = [
    "completed",
    "total",
    "failed",
    "elapsedMs",
    "imagesPerSecond",
    "etaMs",
];

#[test]
fn every_json_progress_event_carries_counts_rate_and_eta() {
    let (reg, refs) = registry_and_refs();
    let mut a = vec![
        "inspect".to_owned(),
        "--progress".to_owned(),
        "json".to_owned(),
        "--concurrency".to_owned(),
        "1".to_owned(),
    ];
    a.extend(reg.imagefacts_args());
    let run = imagefacts(&args(&a, &refs));
    assert_eq!(run.status, 1, "one image is missing: {}", run.stderr);
    let events: Vec<Value> = run
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 6, "{names:?}");
    assert_eq!(names[0], "start");
    assert_eq!(names[5], "finish");
    assert_eq!(names.iter().filter(|n| **n == "imageDone").count(), 3);
    assert_eq!(names.iter().filter(|n| **n == "imageFailed").count(), 1);
    let mut last_elapsed = 0;
    for (i, e) in events.iter().enumerate() {
        for field in COUNT_FIELDS {
            assert!(e.get(field).is_some(), "event {i} lacks {field}: {e}");
        }
        assert_eq!(e["total"], 4, "{e}");
        // One image at a time: the i-th line after `start` is the i-th finished image.
        assert_eq!(e["completed"], i.min(4), "{e}");
        let elapsed = e["elapsedMs"].as_u64().unwrap();
        assert!(elapsed >= last_elapsed, "elapsed only grows: {e}");
        last_elapsed = elapsed;
        let rate = e["imagesPerSecond"].as_f64().unwrap();
        assert!(rate >= 0.0);
        if i == 0 {
            assert!(
                e["etaMs"].is_null(),
                "no estimate before an image finished: {e}"
            );
        } else if i < 4 {
            assert!(rate > 0.0 && e["etaMs"].as_u64().is_some(), "{e}");
        } else {
            assert_eq!(e["etaMs"], 0, "{e}");
        }
    }
    let finish = &events[5];
    assert_eq!(finish["failed"], 1);
    assert_eq!(finish["collectionErrors"], 1);
    assert_eq!(finish["errorsByKind"]["notFound"], 1);
    let failed_at = names.iter().position(|n| *n == "imageFailed").unwrap();
    assert_eq!(events[failed_at]["failed"], 1);
    assert_eq!(events[failed_at - 1]["failed"], 0);
    // The requests the client sent are the requests the registry received.
    let log = reg.access_log();
    assert!(!log.is_empty());
    assert_eq!(finish["requests"], log.len(), "{log:#?}");
    // facts.json is unchanged by all this: no progress field in its summary.
    assert!(run.json()["summary"].get("requests").is_none());
}

/// Runs `imagefacts ARGS` with stderr (and stdout) on a pseudo-terminal (util-linux `script`);
/// returns the status and what the terminal showed.
fn on_a_terminal(a: &[String], dir: &Path) -> (i32, String) {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = std::iter::once(env!("CARGO_BIN_EXE_imagefacts").to_owned())
        .chain(a.iter().cloned())
        .map(|s| quote(&s))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("RUST_LOG")
        .env("IMAGEFACTS_CACHE_DIR", dir.join("cache"))
        .env("HOME", dir.join("home"))
        .env("TERM", "xterm")
        .output()
        .expect("script runs (Debian package util-linux)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The lines a terminal keeps: each `\r`-overwritten line's last state, escape sequences dropped.
fn kept_lines(screen: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = screen.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split('\n')
        .map(|l| {
            l.rsplit('\r')
                .find(|p| !p.trim().is_empty())
                .unwrap_or("")
                .trim_end()
        })
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `…, 0.4s` → `…, <time>`.
fn without_time(line: &str) -> String {
    match line.rsplit_once(", ") {
        Some((head, t)) if t.ends_with('s') && t.starts_with(|c: char| c.is_ascii_digit()) => {
            format!("{head}, <time>")
        }
        _ => line.to_owned(),
    }
}

#[test]
fn on_a_terminal_the_bar_ends_with_one_summary_line_and_quiet_prints_nothing() {
    let (reg, refs) = registry_and_refs();
    let dir = tempfile::tempdir().unwrap();
    let facts = dir.path().join("facts.json");
    let mut a = vec![
        "inspect".to_owned(),
        "-o".to_owned(),
        facts.display().to_string(),
    ];
    a.extend(reg.imagefacts_args());
    a.extend(refs.clone());
    let (status, screen) = on_a_terminal(&a, dir.path());
    assert_eq!(status, 1, "{screen}");
    let lines = kept_lines(&screen);
    assert_eq!(lines.len(), 1, "the bar is gone, one line stays: {lines:?}");
    let requests = reg.access_log().len();
    let summary = without_time(&lines[0]);
    assert!(
        summary.contains(&format!(", {requests} requests, ")),
        "the client's count is the registry's: {summary}"
    );

    // `-q`: nothing at all on the terminal, the facts still written.
    std::fs::remove_file(&facts).unwrap();
    let mut quiet = vec!["-q".to_owned()];
    quiet.extend(a.clone());
    let (status, screen) = on_a_terminal(&quiet, dir.path());
    assert_eq!(status, 1);
    assert_eq!(kept_lines(&screen), Vec::<String>::new(), "{screen:?}");
    assert!(facts.exists());

    // Not a terminal: no bar, no summary line (stderr stays quiet but for errors).
    let plain = imagefacts(&a);
    assert_eq!(plain.status, 1);
    assert_eq!(plain.stderr, "");

    let text = format!(
        "$ imagefacts inspect -o facts.json <3 images and a missing one>   # stderr a terminal\n{summary}\n"
    );
    crate::support::assert_snapshot("progress.txt", &text);
}

#[test]
fn quiet_leaves_out_notes_and_warnings_but_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("pods.yaml");
    std::fs::write(
        &manifests,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: dns, namespace: kube-system}\n\
         spec:\n  containers: [{name: c, image: \"coredns:1.11\"}]\n",
    )
    .unwrap();
    let m = manifests.to_str().unwrap();
    let loud = imagefacts(&["list", "--manifests", m]);
    assert_eq!(loud.status, 0, "{}", loud.stderr);
    assert!(
        loud.stderr
            .starts_with("note: the namespace filter left out 1 image"),
        "{}",
        loud.stderr
    );
    let quiet = imagefacts(&["-q", "list", "--manifests", m]);
    assert_eq!((quiet.status, quiet.stderr.as_str()), (0, ""));
    assert_eq!(quiet.stdout, loud.stdout);
    let error = imagefacts(&["list", "-q", "--manifests", "/nonexistent.yaml"]);
    assert_eq!(error.status, 2);
    assert!(error.stderr.starts_with("error: "), "{}", error.stderr);
}
