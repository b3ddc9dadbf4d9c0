//! A child process adding to a ~100 MB bundle in place is killed with SIGKILL mid-write, at
//! several points: the original stays byte-identical, nothing visible is left, the hidden
//! leftover is ignored by the reader and removed by the next run.

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use imagefacts_bundle::{Bundle, add_to_bundle, archive_records, diff_records};

use crate::archive::{added_names, facts};
use crate::fixture::{Spec, TOP, file_sha, names, write_fixture};

const BIG: usize = 100 << 20;

fn hidden(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn sigkill_mid_write_leaves_the_original_intact() {
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let input = write_fixture(
        work.path(),
        Spec {
            gzip: true,
            big: BIG,
            ..Spec::default()
        },
    );
    let size = fs::metadata(&input).unwrap().len();
    let sha = file_sha(&input);
    let original = archive_records(&input).unwrap();
    eprintln!("fixture of {size} bytes ready in {:?}", started.elapsed());
    let facts_dir = tempfile::tempdir().unwrap();
    let facts_file = facts_dir.path().join("facts.json");
    fs::write(&facts_file, b"{}").unwrap();
    let bundle_name = format!("{TOP}.tar.gz");

    for kill_at in [0, 8 << 20, 40 << 20] {
        let leftovers = hidden(work.path());
        let mut child = Command::new(env!("CARGO_BIN_EXE_imagefacts-bundle-add"))
            .arg(&input)
            .arg(format!("image-facts/facts.json={}", facts_file.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the child ended ({status}) before it was killed at {kill_at} bytes");
            }
            // This run's temporary file, not a leftover of the previous kill.
            let temp = hidden(work.path())
                .into_iter()
                .find(|n| !leftovers.contains(n));
            if let Some(meta) = temp.and_then(|t| fs::metadata(work.path().join(t)).ok())
                && meta.len() >= kill_at
            {
                eprintln!("killing with {} bytes written", meta.len());
                child.kill().unwrap();
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no temporary file grew to {kill_at} bytes"
            );
            sleep(Duration::from_millis(2));
        }
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL");

        assert_eq!(file_sha(&input), sha, "the original is byte-identical");
        let all = names(work.path());
        let visible: Vec<&String> = all.iter().filter(|n| !n.starts_with('.')).collect();
        assert_eq!(visible, [&bundle_name], "no visible file but the bundle");
        let hidden_now = hidden(work.path());
        assert!(
            hidden_now.len() <= 1,
            "the previous leftover was removed: {hidden_now:?}"
        );
        for n in &hidden_now {
            assert!(n.contains(".imagefacts-tmp."), "{n}");
            assert!(!n.ends_with(".tar.gz") && !n.ends_with(".tar"), "{n}");
        }
    }

    // The reader ignores the leftover: the original is still a valid bundle without facts.
    let bundle = Bundle::open(&input).unwrap();
    assert!(
        bundle
            .entries()
            .iter()
            .all(|e| !e.path.starts_with("image-facts"))
    );

    // The next run removes the leftover and succeeds.
    let started = Instant::now();
    let report = add_to_bundle(&input, None, &facts(), false).unwrap();
    eprintln!(
        "adding to the {} MB bundle in place took {:?} (this build's profile)",
        size >> 20,
        started.elapsed()
    );
    assert!(report.in_place);
    assert_eq!(names(work.path()), [bundle_name]);
    let diff = diff_records(&original, &archive_records(&input).unwrap());
    assert!(diff.is_first_preserved(), "{diff:#?}");
    assert_eq!(diff.only_in_second, added_names());
}
