//! Reading bundles in memory: formats told apart by magic bytes, selected files, size caps.

use std::fs;

use imagefacts_bundle::{Bundle, BundleFormat, EntryKind, FileContents};

use crate::fixture::{PODS, Spec, TOP, UNICODE_NAME, write_dir_fixture, write_fixture};

#[test]
fn archives_and_directories_read_alike() {
    let work = tempfile::tempdir().unwrap();
    let gz = write_fixture(
        work.path(),
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let tar = write_fixture(work.path(), Spec::default());
    // Misleading names: the magic bytes decide.
    let gz_named_tar = work.path().join("bundle.tar");
    let tar_named_gz = work.path().join("bundle.tar.gz");
    fs::copy(&gz, &gz_named_tar).unwrap();
    fs::copy(&tar, &tar_named_gz).unwrap();
    let dir_parent = tempfile::tempdir().unwrap();
    let dir = write_dir_fixture(dir_parent.path(), false);
    let cases = [
        (&gz, BundleFormat::TarGz),
        (&tar, BundleFormat::Tar),
        (&gz_named_tar, BundleFormat::TarGz),
        (&tar_named_gz, BundleFormat::Tar),
        (&dir, BundleFormat::Directory),
    ];
    for (path, format) in cases {
        let bundle = Bundle::open(path).unwrap();
        assert_eq!(bundle.format(), format, "{}", path.display());
        assert_eq!(bundle.top_dir(), TOP);
        let pods = bundle
            .read_files(|p| p.starts_with("cluster-resources/pods/"), 1 << 20)
            .unwrap();
        // The symbolic link `current.json` is listed but never read; logs are files too.
        let paths: Vec<&str> = pods.iter().map(|f| f.path.as_str()).collect();
        assert!(
            paths.contains(&"cluster-resources/pods/default.json"),
            "{paths:?}"
        );
        assert!(!paths.contains(&"cluster-resources/pods/current.json"));
        let default = pods
            .iter()
            .find(|f| f.path == "cluster-resources/pods/default.json")
            .unwrap();
        assert_eq!(
            default.contents,
            FileContents::Bytes(PODS.as_bytes().to_vec())
        );
        let link = bundle
            .entries()
            .iter()
            .find(|e| e.path == "cluster-resources/pods/current.json")
            .unwrap();
        assert_eq!(link.kind, EntryKind::Symlink);
        assert_eq!(link.link_target.as_deref(), Some("default.json"));
        assert!(bundle.entries().iter().any(|e| e.path == UNICODE_NAME));
        let pods_dir = bundle
            .entries()
            .iter()
            .find(|e| e.path == "cluster-resources/pods")
            .unwrap();
        assert_eq!(
            (pods_dir.kind, pods_dir.mode),
            (EntryKind::Directory, 0o700)
        );

        // The size cap: nothing over it is read.
        let capped = bundle
            .read_files(|p| p == "cluster-resources/pods/default.json", 10)
            .unwrap();
        assert_eq!(
            capped[0].contents,
            FileContents::TooLarge {
                size: PODS.len() as u64,
                limit: 10
            }
        );
        assert!(bundle.read_files(|_| false, 10).unwrap().is_empty());
    }
}

#[test]
fn pax_and_gnu_long_names_are_applied() {
    let work = tempfile::tempdir().unwrap();
    let gz = write_fixture(
        work.path(),
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let bundle = Bundle::open(&gz).unwrap();
    let unicode = bundle
        .entries()
        .iter()
        .find(|e| e.path == UNICODE_NAME)
        .unwrap();
    assert_eq!(unicode.mtime, 20_000_000_000, "PAX mtime");
    assert!(
        bundle
            .entries()
            .iter()
            .any(|e| e.path.len() > 100 && e.path.ends_with("container.log"))
    );
    let hard = bundle
        .entries()
        .iter()
        .find(|e| e.path == "version-copy.yaml")
        .unwrap();
    assert_eq!(hard.kind, EntryKind::HardLink);
    assert_eq!(
        hard.link_target.as_deref(),
        Some(&*format!("{TOP}/version.yaml"))
    );
}

#[test]
fn not_a_bundle() {
    let work = tempfile::tempdir().unwrap();
    let empty = work.path().join("empty.tar.gz");
    fs::write(&empty, b"").unwrap();
    let text = work.path().join("notes.tar");
    fs::write(&text, vec![b'x'; 2048]).unwrap();
    for path in [&empty, &text] {
        let err = Bundle::open(path).unwrap_err();
        assert!(
            matches!(err, imagefacts_bundle::BundleError::NotABundle { .. }),
            "{err}"
        );
    }
}
