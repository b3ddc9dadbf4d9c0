//! Failures while reading or writing: the original stays byte-identical and no temporary file
//! remains.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use imagefacts_bundle::{BundleError, add_to_bundle, write_new_bundle};

use crate::archive::facts;
use crate::fixture::{
    Spec, TOP, file_sha, fixture_tar, is_root, names, tree, tree_without_dir_times, write_fixture,
};

/// Runs `add_to_bundle` in place and to `out`, expecting `Corrupt` both times, and checks that
/// nothing changed around the input.
fn assert_refused_corrupt(root: &Path, input: &Path, out: &Path) {
    let before = tree(root);
    for output in [None, Some(out)] {
        let err = add_to_bundle(input, output, &facts(), false).unwrap_err();
        assert!(
            matches!(err, BundleError::Corrupt { .. }),
            "{}: {err}",
            input.display()
        );
    }
    assert_eq!(tree(root), before, "{}", input.display());
}

fn layout() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let work = root.path().join("work");
    let out = root.path().join("out");
    fs::create_dir_all(&work).unwrap();
    fs::create_dir_all(&out).unwrap();
    (root, work, out)
}

#[test]
fn truncated_or_corrupt_archives_change_nothing() {
    let gz_bytes = fs::read(write_fixture(
        tempfile::tempdir().unwrap().path(),
        Spec {
            gzip: true,
            big: 256 * 1024,
            ..Spec::default()
        },
    ))
    .unwrap();
    let tar_bytes = fixture_tar(Spec::default());
    // The header of `analysis.json`, the last entry, in the plain tar.
    let at = tar_bytes
        .windows(13)
        .position(|w| w == b"analysis.json")
        .unwrap()
        / 512
        * 512;
    let mut bad_checksum = tar_bytes.clone();
    bad_checksum[at + 100] ^= 1;
    let mut flipped_gz = gz_bytes.clone();
    let middle = flipped_gz.len() / 2;
    flipped_gz[middle] ^= 0xff;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("gz cut in half", gz_bytes[..gz_bytes.len() / 2].to_vec()),
        // The tar stream is complete, only gzip's CRC and length are missing.
        (
            "gz without trailer",
            gz_bytes[..gz_bytes.len() - 8].to_vec(),
        ),
        ("gz with a flipped byte", flipped_gz),
        ("tar cut mid-entry", tar_bytes[..at - 100].to_vec()),
        (
            "tar without end blocks",
            tar_bytes[..tar_bytes.len() - 1024].to_vec(),
        ),
        ("tar with a bad header checksum", bad_checksum),
    ];
    for (name, bytes) in cases {
        let (root, work, out) = layout();
        let input = work.join(format!("{TOP}.tar.gz"));
        fs::write(&input, &bytes).unwrap();
        let sha = file_sha(&input);
        assert_refused_corrupt(root.path(), &input, &out);
        assert_eq!(file_sha(&input), sha, "{name}");
    }
}

#[test]
fn disk_full_mid_write_removes_the_temporary_file() {
    // A child process whose files may not grow past 1 MiB (RLIMIT_FSIZE, with SIGXFSZ ignored so
    // that write(2) fails with EFBIG), adding to a 4 MiB bundle in place and to another file.
    let (root, work, out) = layout();
    let input = write_fixture(
        &work,
        Spec {
            gzip: true,
            big: 4 << 20,
            ..Spec::default()
        },
    );
    let facts_dir = tempfile::tempdir().unwrap();
    let facts_file = facts_dir.path().join("facts.json");
    fs::write(&facts_file, b"{}").unwrap();
    let before = tree_without_dir_times(root.path());
    let sha = file_sha(&input);
    for output in [None, Some(out.join("new.tar.gz"))] {
        let script = "trap '' XFSZ; ulimit -f 2048; exec \"$@\"";
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_imagefacts-bundle-add"));
        if let Some(o) = &output {
            cmd.arg("-o").arg(o);
        }
        cmd.arg(&input)
            .arg(format!("image-facts/facts.json={}", facts_file.display()));
        let result = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("File too large"), "{stderr}");
        assert_eq!(file_sha(&input), sha);
        assert_eq!(
            tree_without_dir_times(root.path()),
            before,
            "no temporary file left"
        );
    }
}

#[test]
fn unwritable_output_directory_changes_nothing() {
    let (root, work, out) = layout();
    let input = write_fixture(
        &work,
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let sha = file_sha(&input);
    // Permission bits do not stop root: then write into /proc, which no one can create files in.
    let unwritable = if is_root() {
        PathBuf::from("/proc/self")
    } else {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&out, fs::Permissions::from_mode(0o555)).unwrap();
        out.clone()
    };
    let before = tree(root.path());
    let err = add_to_bundle(&input, Some(&unwritable), &facts(), false).unwrap_err();
    assert!(matches!(err, BundleError::Io { .. }), "{err}");
    let err = write_new_bundle(&unwritable, &facts(), time::OffsetDateTime::now_utc()).unwrap_err();
    assert!(matches!(err, BundleError::Io { .. }), "{err}");
    if !is_root() {
        // In place, with the bundle's own directory read-only.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&work, fs::Permissions::from_mode(0o555)).unwrap();
        let err = add_to_bundle(&input, None, &facts(), false).unwrap_err();
        assert!(matches!(err, BundleError::Io { .. }), "{err}");
        fs::set_permissions(&work, fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&out, fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert_eq!(tree(root.path()), before);
    assert_eq!(file_sha(&input), sha);
    assert!(
        names(Path::new("/proc/self"))
            .iter()
            .all(|n| !n.contains("tar"))
    );
}

#[test]
fn output_in_a_missing_directory_is_refused() {
    let (root, work, out) = layout();
    let input = write_fixture(
        &work,
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let file = out.join("a-file");
    fs::write(&file, b"x").unwrap();
    let before = tree(root.path());
    for target in [out.join("missing/new.tar.gz"), file.join("new.tar.gz")] {
        let err = add_to_bundle(&input, Some(&target), &facts(), false).unwrap_err();
        assert!(matches!(err, BundleError::Output { .. }), "{err}");
        let err = write_new_bundle(&target, &facts(), time::OffsetDateTime::now_utc()).unwrap_err();
        assert!(matches!(err, BundleError::Output { .. }), "{err}");
    }
    assert_eq!(tree(root.path()), before);
}
