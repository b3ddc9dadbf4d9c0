//! New bundles: troubleshoot's name and layout, atomic, readable back.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use imagefacts_bundle::{
    Bundle, BundleError, BundleFile, BundleFormat, FileContents, write_new_bundle,
};
use time::macros::datetime;

use crate::fixture::{names, sha_hex, tar_view};

fn files() -> Vec<BundleFile> {
    let mut secret = BundleFile::new("cluster-resources/pods/default.json", b"[]".to_vec());
    secret.mode = 0o600;
    vec![
        BundleFile::new(
            "version.yaml",
            b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\n".to_vec(),
        ),
        secret,
        BundleFile::new("image-facts/facts.json", b"{}".to_vec()),
    ]
}

#[test]
fn new_bundle_in_a_directory() {
    let out = tempfile::tempdir().unwrap();
    let now = datetime!(2026-01-02 04:04:05 +01:00);
    let path = write_new_bundle(out.path(), &files(), now).unwrap();
    let top = "support-bundle-2026-01-02T03_04_05";
    assert_eq!(path, out.path().join(format!("{top}.tar.gz")));
    assert_eq!(
        names(out.path()),
        [format!("{top}.tar.gz")],
        "no temporary file left"
    );
    assert_eq!(fs::read(&path).unwrap()[..2], [0x1f, 0x8b]);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "a cluster's resources are for its owner only"
    );

    let view = tar_view(&path);
    let listed: Vec<(&str, u8, u32)> = view
        .iter()
        .map(|v| (v.path.as_str(), v.kind, v.mode))
        .collect();
    let p = |rel: &str| format!("{top}/{rel}");
    assert_eq!(
        listed,
        [
            (p("").as_str(), b'5', 0o755),
            (p("cluster-resources/").as_str(), b'5', 0o755),
            (p("cluster-resources/pods/").as_str(), b'5', 0o755),
            (p("image-facts/").as_str(), b'5', 0o755),
            (p("version.yaml").as_str(), b'0', 0o644),
            (
                p("cluster-resources/pods/default.json").as_str(),
                b'0',
                0o600
            ),
            (p("image-facts/facts.json").as_str(), b'0', 0o644),
        ]
    );
    let mtime = now.unix_timestamp() as u64;
    assert!(
        view.iter()
            .all(|v| v.mtime == mtime && v.uid == 0 && v.gid == 0)
    );
    for (v, f) in view[4..].iter().zip(files()) {
        assert_eq!(v.sha, sha_hex(&f.bytes));
    }

    let bundle = Bundle::open(&path).unwrap();
    assert_eq!(bundle.format(), BundleFormat::TarGz);
    assert_eq!(bundle.top_dir(), top);
    let read = bundle.read_files(|p| p == "version.yaml", 1024).unwrap();
    assert_eq!(
        read[0].contents,
        FileContents::Bytes(files()[0].bytes.clone())
    );
}

#[test]
fn new_bundle_to_a_file_name() {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("mine.tar.gz");
    fs::write(&target, b"old").unwrap();
    let path = write_new_bundle(&target, &files(), time::OffsetDateTime::now_utc()).unwrap();
    assert_eq!(path, target);
    assert_eq!(names(out.path()), ["mine.tar.gz"]);
    // The top directory keeps troubleshoot's name whatever the file is called.
    let top = Bundle::open(&path).unwrap().top_dir();
    assert!(top.starts_with("support-bundle-"), "{top}");
}

#[test]
fn bad_file_paths_are_refused_before_writing() {
    let out = tempfile::tempdir().unwrap();
    for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/", "./a"] {
        let err = write_new_bundle(
            out.path(),
            &[BundleFile::new(bad, b"x".to_vec())],
            time::OffsetDateTime::now_utc(),
        )
        .unwrap_err();
        assert!(
            matches!(err, BundleError::InvalidFile { .. }),
            "{bad:?}: {err}"
        );
    }
    let twice = [
        BundleFile::new("a/b", vec![]),
        BundleFile::new("a/b", vec![]),
    ];
    assert!(write_new_bundle(out.path(), &twice, time::OffsetDateTime::now_utc()).is_err());
    assert!(names(out.path()).is_empty());
}
