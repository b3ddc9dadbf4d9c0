//! Adding to `.tar.gz` and `.tar` bundles: every original entry byte-identical, new files under
//! the top directory, in place or to another file.

use std::fs;
use std::path::Path;

use imagefacts_bundle::{
    BundleError, BundleFile, BundleFormat, EntryKind, add_to_bundle, archive_records, diff_records,
};

use crate::fixture::{
    Spec, TOP, View, file_sha, fixture_tar, names, tar_stream, tar_view, write_fixture,
};

pub(crate) fn facts() -> Vec<BundleFile> {
    let mut summary = BundleFile::new("image-facts/default-summary.txt", b"1 image\n".to_vec());
    summary.mode = 0o600;
    vec![
        BundleFile::new("image-facts/facts.json", br#"{"version":"v1"}"#.to_vec()),
        BundleFile::new(
            "image-facts/default-facts.json",
            br#"{"namespace":"default"}"#.to_vec(),
        ),
        summary,
    ]
}

/// Names of the entries added for [`facts`].
pub(crate) fn added_names() -> Vec<String> {
    [
        "image-facts/",
        "image-facts/facts.json",
        "image-facts/default-facts.json",
        "image-facts/default-summary.txt",
    ]
    .iter()
    .map(|n| format!("{TOP}/{n}"))
    .collect()
}

/// Checks that `output` is the original tar stream `original` (without its end-of-archive
/// blocks, possibly minus `dropped` entries) followed by exactly the entries for `files`.
pub(crate) fn assert_preserved(
    original: &[u8],
    original_path: &Path,
    output: &Path,
    files: &[BundleFile],
) {
    // 1. Raw bytes: the original stream, up to its two end blocks, is a prefix of the output.
    let out_stream = tar_stream(output);
    assert!(original.ends_with(&[0u8; 1024]));
    let body = &original[..original.len() - 1024];
    assert!(
        out_stream.starts_with(body),
        "the output's tar stream does not start with the original's entries"
    );
    // 2. Our entry-by-entry comparison (header bytes, fields, data digests).
    let before = archive_records(original_path).unwrap();
    let after = archive_records(output).unwrap();
    let diff = diff_records(&before, &after);
    assert!(diff.is_first_preserved(), "{diff:#?}");
    assert_eq!(diff.only_in_second, added_names());
    // 3. The tar crate's view: the original entries, then the new ones with their contents.
    let a = tar_view(original_path);
    let b = tar_view(output);
    assert_eq!(&b[..a.len()], &a[..]);
    check_added(&b[a.len()..], files);
}

/// The appended entries: the `image-facts/` directory, then the files, with their modes.
pub(crate) fn check_added(added: &[View], files: &[BundleFile]) {
    assert_eq!(added.len(), files.len() + 1);
    assert_eq!(added[0].path, format!("{TOP}/image-facts/"));
    assert_eq!(added[0].kind, b'5');
    assert_eq!(added[0].mode, 0o755);
    for (v, f) in added[1..].iter().zip(files) {
        assert_eq!(v.path, format!("{TOP}/{}", f.path));
        assert_eq!(v.kind, b'0');
        assert_eq!(v.mode, f.mode);
        assert_eq!(v.sha, crate::fixture::sha_hex(&f.bytes));
        assert_eq!((v.uid, v.gid), (0, 0));
    }
}

fn original_entry_count(spec: Spec) -> usize {
    let dir = tempfile::tempdir().unwrap();
    archive_records(&write_fixture(dir.path(), spec))
        .unwrap()
        .len()
}

#[test]
fn add_to_another_file_preserves_every_entry() {
    for gzip in [true, false] {
        let spec = Spec {
            gzip,
            ..Spec::default()
        };
        let work = tempfile::tempdir().unwrap();
        let out_dir = tempfile::tempdir().unwrap();
        let input = write_fixture(work.path(), spec);
        let before = file_sha(&input);
        let output = out_dir.path().join("with-facts.tar.gz");
        let files = facts();
        let report = add_to_bundle(&input, Some(&output), &files, false).unwrap();
        assert_eq!(report.output, output);
        assert!(!report.in_place);
        assert_eq!(report.top_dir, TOP);
        assert_eq!(report.preserved_entries, original_entry_count(spec));
        assert!(report.replaced.is_empty());
        assert_eq!(report.added.len(), 3);
        assert_eq!(
            report.format,
            if gzip {
                BundleFormat::TarGz
            } else {
                BundleFormat::Tar
            }
        );
        // The output is compressed like the input, whatever its name says.
        let magic = fs::read(&output).unwrap()[..2].to_vec();
        assert_eq!(magic == [0x1f, 0x8b], gzip);
        assert_preserved(&fixture_tar(spec), &input, &output, &files);
        assert_eq!(file_sha(&input), before, "the input is untouched");
        assert_eq!(
            names(out_dir.path()),
            ["with-facts.tar.gz"],
            "no temporary file left"
        );
    }
}

#[test]
fn add_in_place_preserves_every_entry() {
    for gzip in [true, false] {
        let spec = Spec {
            gzip,
            ..Spec::default()
        };
        let work = tempfile::tempdir().unwrap();
        let input = write_fixture(work.path(), spec);
        let saved = work.path().join("saved");
        fs::create_dir(&saved).unwrap();
        let original_copy = saved.join("original");
        fs::copy(&input, &original_copy).unwrap();
        fs::set_permissions(&input, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let files = facts();
        let report = add_to_bundle(&input, None, &files, false).unwrap();
        assert!(report.in_place);
        assert_eq!(report.output, input);
        assert_preserved(&fixture_tar(spec), &original_copy, &input, &files);
        let expected = [
            "saved".to_string(),
            input.file_name().unwrap().to_string_lossy().into_owned(),
        ];
        assert_eq!(names(work.path()), expected, "no temporary file left");
        let mode = fs::metadata(&input).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o640
        );
        // The result is a bundle again: readable, and the facts are there.
        let bundle = imagefacts_bundle::Bundle::open(&input).unwrap();
        let read = bundle
            .read_files(|p| p == "image-facts/facts.json", 1024)
            .unwrap();
        assert_eq!(
            read[0].contents,
            imagefacts_bundle::FileContents::Bytes(files[0].bytes.clone())
        );
    }
}

#[test]
fn output_naming_the_input_is_in_place_and_a_directory_keeps_the_name() {
    let work = tempfile::tempdir().unwrap();
    let input = write_fixture(
        work.path(),
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let report = add_to_bundle(&input, Some(work.path()), &facts(), false).unwrap();
    assert!(
        report.in_place,
        "same directory, same name: the input itself"
    );
    assert_eq!(report.output, work.path().join(input.file_name().unwrap()));

    let out_dir = tempfile::tempdir().unwrap();
    let input = write_fixture(
        work.path(),
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let report = add_to_bundle(&input, Some(out_dir.path()), &facts(), false).unwrap();
    assert!(!report.in_place);
    assert_eq!(report.output, out_dir.path().join(format!("{TOP}.tar.gz")));
}

#[test]
fn existing_image_facts_needs_force() {
    for gzip in [true, false] {
        let spec = Spec {
            gzip,
            image_facts: true,
            ..Spec::default()
        };
        let work = tempfile::tempdir().unwrap();
        let out_dir = tempfile::tempdir().unwrap();
        let input = write_fixture(work.path(), spec);
        let before = file_sha(&input);
        let original = archive_records(&input).unwrap();

        for output in [None, Some(out_dir.path())] {
            let err = add_to_bundle(&input, output, &facts(), false).unwrap_err();
            assert!(
                matches!(&err, BundleError::AlreadyPresent { entry, .. } if entry == "image-facts"),
                "{err}"
            );
            assert!(err.to_string().contains("force"), "{err}");
        }
        assert_eq!(file_sha(&input), before);
        assert!(names(out_dir.path()).is_empty());

        let files = facts();
        let report = add_to_bundle(&input, None, &files, true).unwrap();
        assert_eq!(
            report.replaced,
            ["image-facts", "image-facts/old-facts.json"]
        );
        assert_eq!(report.preserved_entries, original.len() - 2);
        let after = archive_records(&input).unwrap();
        let diff = diff_records(&original, &after);
        assert_eq!(
            diff.only_in_first,
            [
                format!("{TOP}/image-facts"),
                format!("{TOP}/image-facts/old-facts.json")
            ]
        );
        assert!(diff.changed.is_empty() && !diff.reordered, "{diff:#?}");
        assert_eq!(diff.only_in_second, added_names());
        // The old facts are gone, everything else is where it was.
        let kept: Vec<_> = original
            .iter()
            .filter(|r| !r.path.contains("/image-facts"))
            .cloned()
            .collect();
        assert_eq!(&after[..kept.len()], &kept[..]);
        assert!(after.iter().all(|r| !r.path.ends_with("old-facts.json")));
        assert_eq!(after.last().unwrap().kind, EntryKind::File);
    }
}

#[test]
fn force_keeps_no_dangling_hard_link() {
    // A hard link outside image-facts/ to a file inside it: replacing image-facts/ would break it.
    let work = tempfile::tempdir().unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, format!("{TOP}/"), &[][..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_size(2);
    b.append_data(&mut h, format!("{TOP}/image-facts/facts.json"), &b"{}"[..])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(
        &mut h,
        format!("{TOP}/facts-link.json"),
        format!("{TOP}/image-facts/facts.json"),
    )
    .unwrap();
    let input = work.path().join("b.tar");
    fs::write(&input, b.into_inner().unwrap()).unwrap();
    let sha = file_sha(&input);
    let err = add_to_bundle(&input, None, &facts(), true).unwrap_err();
    assert!(
        matches!(&err, BundleError::UnsupportedEntry { entry, .. } if entry.ends_with("facts-link.json")),
        "{err}"
    );
    assert_eq!(file_sha(&input), sha);
    assert_eq!(names(work.path()), ["b.tar"]);
}

#[test]
fn the_fixture_has_the_formats_it_claims() {
    // GNU long-name record, PAX extended header, PAX global header, symlink, hard link.
    let stream = fixture_tar(Spec::default());
    let types: Vec<u8> = archive_headers(&stream);
    for t in [b'L', b'x', b'g', b'2', b'1', b'5', b'0'] {
        assert!(types.contains(&t), "no header of type {:?}", t as char);
    }
}

/// Type flags of the header blocks of a tar stream, walking sizes (as the `tar` crate reads them).
fn archive_headers(stream: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= stream.len() && stream[at..at + 512].iter().any(|b| *b != 0) {
        let h = tar::Header::from_byte_slice(&stream[at..at + 512]);
        out.push(stream[at + 156]);
        let size = h.entry_size().unwrap();
        at += 512 + size.div_ceil(512) as usize * 512;
    }
    out
}

#[test]
fn gnu_tar_reads_the_result() {
    // Support engineers extract bundles with tar: it must list and extract ours without a warning.
    let work = tempfile::tempdir().unwrap();
    let input = write_fixture(
        work.path(),
        Spec {
            gzip: true,
            ..Spec::default()
        },
    );
    let mut files = facts();
    files.push(BundleFile::new(
        format!("image-facts/{}-facts.json", "n".repeat(150)),
        b"{}".to_vec(),
    ));
    add_to_bundle(&input, None, &files, false).unwrap();
    let out = work.path().join("x");
    fs::create_dir(&out).unwrap();
    let run = std::process::Command::new("tar")
        .arg("-xzpf")
        .arg(&input)
        .arg("-C")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Only the fixture's deliberately far-future PAX mtime is worth a remark.
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.lines().all(|l| l.contains("in the future")),
        "{stderr}"
    );
    for f in &files {
        let path = out.join(TOP).join(&f.path);
        assert_eq!(fs::read(&path).unwrap(), f.bytes, "{}", f.path);
        let mode = fs::metadata(&path).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o7777,
            f.mode
        );
    }
    assert!(out.join(TOP).join(crate::fixture::UNICODE_NAME).exists());
}
