//! Directory bundles: files added in place atomically, or the directory packed with them.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use imagefacts_bundle::{BundleError, BundleFormat, add_to_bundle};

use crate::archive::{check_added, facts};
use crate::fixture::{TOP, names, sha_hex, tar_view, tree, write_dir_fixture};

#[test]
fn add_in_place_leaves_everything_else_untouched() {
    let parent = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(parent.path(), false);
    let before = tree(&dir);
    let files = facts();
    let report = add_to_bundle(&dir, None, &files, false).unwrap();
    assert!(report.in_place);
    assert_eq!(report.format, BundleFormat::Directory);
    assert_eq!(report.top_dir, TOP);
    assert_eq!(report.added.len(), 3);
    let after = tree(&dir);
    let new: Vec<&PathBuf> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert_eq!(
        new,
        [
            &PathBuf::from("image-facts"),
            &PathBuf::from("image-facts/default-facts.json"),
            &PathBuf::from("image-facts/default-summary.txt"),
            &PathBuf::from("image-facts/facts.json"),
        ]
    );
    for (path, desc) in &before {
        // The top directory's own mtime changes (an entry was added to it); nothing else does.
        assert_eq!(after.get(path), Some(desc), "{}", path.display());
    }
    for f in &files {
        let path = dir.join(&f.path);
        assert_eq!(fs::read(&path).unwrap(), f.bytes);
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, f.mode);
    }
    assert_eq!(
        fs::metadata(dir.join("image-facts")).unwrap().mode() & 0o7777,
        0o755
    );
    assert!(
        names(&dir).iter().all(|n| !n.starts_with('.')),
        "no temporary directory left: {:?}",
        names(&dir)
    );
}

#[test]
fn force_replaces_an_existing_image_facts_directory() {
    let parent = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(parent.path(), true);
    let before = tree(&dir);
    let err = add_to_bundle(&dir, None, &facts(), false).unwrap_err();
    assert!(
        matches!(&err, BundleError::AlreadyPresent { entry, .. } if entry == "image-facts"),
        "{err}"
    );
    assert_eq!(tree(&dir), before, "refused: nothing changed");

    let report = add_to_bundle(&dir, None, &facts(), true).unwrap();
    assert_eq!(
        report.replaced,
        ["image-facts", "image-facts/old-facts.json"]
    );
    assert!(!dir.join("image-facts/old-facts.json").exists());
    assert!(dir.join("image-facts/facts.json").exists());
    let after = tree(&dir);
    for (path, desc) in &before {
        if !path.starts_with("image-facts") {
            assert_eq!(after.get(path), Some(desc), "{}", path.display());
        }
    }
    assert!(
        names(&dir).iter().all(|n| !n.starts_with('.')),
        "{:?}",
        names(&dir)
    );
}

#[test]
fn output_packs_the_directory_with_the_new_files() {
    let parent = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(parent.path(), false);
    let before = tree(&dir);
    let files = facts();
    let report = add_to_bundle(&dir, Some(out.path()), &files, false).unwrap();
    let output = out.path().join(format!("{TOP}.tar.gz"));
    assert_eq!(report.output, output);
    assert_eq!(report.format, BundleFormat::TarGz);
    assert!(!report.in_place);
    assert_eq!(tree(&dir), before, "the directory is left untouched");
    assert_eq!(names(out.path()), [format!("{TOP}.tar.gz")]);

    let view = tar_view(&output);
    assert_eq!(view[0].path, format!("{TOP}/"));
    // Every file, directory and link of the directory, with its mode, mtime and contents.
    let originals = &view[..view.len() - files.len() - 1];
    assert_eq!(originals.len(), before.len() + 1);
    for v in &originals[1..] {
        let rel = v.path.strip_prefix(&format!("{TOP}/")).unwrap();
        let rel = rel.trim_end_matches('/');
        let path = dir.join(rel);
        let meta = fs::symlink_metadata(&path).unwrap();
        assert_eq!(v.mtime as i64, meta.mtime(), "{rel}");
        assert_eq!(
            (v.uid, v.gid),
            (u64::from(meta.uid()), u64::from(meta.gid()))
        );
        match v.kind {
            b'5' => assert!(meta.is_dir()),
            b'2' => assert_eq!(
                v.link.as_deref(),
                Some(&*fs::read_link(&path).unwrap().to_string_lossy())
            ),
            b'0' => {
                assert_eq!(v.sha, sha_hex(&fs::read(&path).unwrap()), "{rel}");
                assert_eq!(v.mode, meta.permissions().mode() & 0o7777, "{rel}");
            }
            other => panic!("unexpected type {other}"),
        }
    }
    check_added(&view[view.len() - files.len() - 1..], &files);

    // The packed bundle reads back like the directory.
    let bundle = imagefacts_bundle::Bundle::open(&output).unwrap();
    assert_eq!(bundle.top_dir(), TOP);
}

#[test]
fn output_inside_the_directory_is_refused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(parent.path(), false);
    let before = tree(&dir);
    let err = add_to_bundle(&dir, Some(&dir.join("x.tar.gz")), &facts(), false).unwrap_err();
    assert!(matches!(err, BundleError::Output { .. }), "{err}");
    assert_eq!(tree(&dir), before);
}

#[test]
fn directory_files_must_be_in_a_subdirectory() {
    let parent = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(parent.path(), false);
    let before = tree(&dir);
    let files = [imagefacts_bundle::BundleFile::new(
        "facts.json",
        b"{}".to_vec(),
    )];
    let err = add_to_bundle(&dir, None, &files, false).unwrap_err();
    assert!(matches!(err, BundleError::InvalidFile { .. }), "{err}");
    assert_eq!(tree(&dir), before);
}

#[test]
fn leftovers_of_a_killed_run_are_ignored_then_removed() {
    // What a run killed mid-way leaves in a directory bundle: a hidden, unlocked temporary
    // directory holding partial facts.
    let parent = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(parent.path(), false);
    let leftover = dir.join(".image-facts.imagefacts-tmp.Zz9Yy8Xx");
    fs::create_dir(&leftover).unwrap();
    fs::write(leftover.join("facts.json"), b"{partial").unwrap();
    let bundle = imagefacts_bundle::Bundle::open(&dir).unwrap();
    assert!(
        bundle
            .entries()
            .iter()
            .all(|e| !e.path.contains("imagefacts-tmp")),
        "the reader skips it"
    );
    add_to_bundle(&dir, None, &facts(), false).unwrap();
    assert!(!leftover.exists(), "the next run removed it");
    assert!(
        names(&dir).iter().all(|n| !n.starts_with('.')),
        "{:?}",
        names(&dir)
    );
}
