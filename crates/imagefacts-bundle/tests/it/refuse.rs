//! Unsafe bundles are refused with a clear error naming the entry, and nothing is written.

use std::fs;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use imagefacts_bundle::{Bundle, BundleError, UnsafeReason, add_to_bundle};

use crate::archive::facts;
use crate::fixture::{TOP, tree};

/// A tar stream written header by header, so that names the `tar` crate would refuse can be used.
fn raw_tar(entries: &[(&str, u8, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(tar::EntryType::new(*kind));
        h.set_mode(if *kind == b'5' { 0o755 } else { 0o644 });
        h.set_mtime(1_767_323_045);
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

fn top(rel: &str) -> String {
    format!("{TOP}/{rel}")
}

struct Case {
    name: &'static str,
    entries: Vec<(String, u8, String, Vec<u8>)>,
    entry: String,
    reason: UnsafeReason,
}

fn cases() -> Vec<Case> {
    let base = || {
        vec![
            (top(""), b'5', String::new(), Vec::new()),
            (
                top("version.yaml"),
                b'0',
                String::new(),
                b"kind: SupportBundle\n".to_vec(),
            ),
        ]
    };
    let with = |extra: Vec<(String, u8, String, Vec<u8>)>| {
        let mut v = base();
        v.extend(extra);
        v
    };
    vec![
        Case {
            name: "dot-dot",
            entries: with(vec![(
                top("../evil"),
                b'0',
                String::new(),
                b"evil".to_vec(),
            )]),
            entry: top("../evil"),
            reason: UnsafeReason::ParentComponent,
        },
        Case {
            name: "bare dot-dot",
            entries: with(vec![(
                "../evil".into(),
                b'0',
                String::new(),
                b"evil".to_vec(),
            )]),
            entry: "../evil".into(),
            reason: UnsafeReason::ParentComponent,
        },
        Case {
            name: "absolute",
            entries: with(vec![(
                "/etc/evil".into(),
                b'0',
                String::new(),
                b"evil".to_vec(),
            )]),
            entry: "/etc/evil".into(),
            reason: UnsafeReason::AbsolutePath,
        },
        Case {
            name: "escaping symlink",
            entries: with(vec![(
                top("cluster-resources/link"),
                b'2',
                "../../outside".into(),
                Vec::new(),
            )]),
            entry: top("cluster-resources/link"),
            reason: UnsafeReason::LinkEscapes {
                target: "../../outside".into(),
            },
        },
        Case {
            name: "absolute symlink",
            entries: with(vec![(top("link"), b'2', "/etc".into(), Vec::new())]),
            entry: top("link"),
            reason: UnsafeReason::LinkEscapes {
                target: "/etc".into(),
            },
        },
        Case {
            name: "write through a symlink",
            entries: with(vec![
                (top("d"), b'2', "sub".into(), Vec::new()),
                (top("d/evil"), b'0', String::new(), b"evil".to_vec()),
            ]),
            entry: top("d/evil"),
            reason: UnsafeReason::ThroughSymlink { link: top("d") },
        },
        Case {
            name: "escaping hard link",
            entries: with(vec![(top("h"), b'1', "/etc/shadow".into(), Vec::new())]),
            entry: top("h"),
            reason: UnsafeReason::LinkEscapes {
                target: "/etc/shadow".into(),
            },
        },
        Case {
            name: "two top directories",
            entries: with(vec![
                ("other/".into(), b'5', String::new(), Vec::new()),
                ("other/evil".into(), b'0', String::new(), b"evil".to_vec()),
            ]),
            entry: "other/".into(),
            reason: UnsafeReason::SecondTopDir { first: TOP.into() },
        },
        Case {
            name: "file beside the top directory",
            entries: with(vec![("evil".into(), b'0', String::new(), b"evil".to_vec())]),
            entry: "evil".into(),
            reason: UnsafeReason::SecondTopDir { first: TOP.into() },
        },
    ]
}

#[test]
fn unsafe_archives_are_refused_and_nothing_is_written() {
    for case in cases() {
        for gzip in [false, true] {
            // root/work/bundle.tar(.gz) and root/out/: the whole of root is compared after.
            let root = tempfile::tempdir().unwrap();
            let work = root.path().join("work");
            let out = root.path().join("out");
            fs::create_dir_all(&work).unwrap();
            fs::create_dir_all(&out).unwrap();
            let entries: Vec<(&str, u8, &str, &[u8])> = case
                .entries
                .iter()
                .map(|(n, k, l, d)| (n.as_str(), *k, l.as_str(), d.as_slice()))
                .collect();
            let mut bytes = raw_tar(&entries);
            if gzip {
                let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
                gz.write_all(&bytes).unwrap();
                bytes = gz.finish().unwrap();
            }
            let input = work.join(if gzip { "bundle.tar.gz" } else { "bundle.tar" });
            fs::write(&input, &bytes).unwrap();
            let before = tree(root.path());

            let open_err = Bundle::open(&input).unwrap_err();
            let in_place_err = add_to_bundle(&input, None, &facts(), true).unwrap_err();
            let to_out_err = add_to_bundle(&input, Some(&out), &facts(), true).unwrap_err();
            for err in [open_err, in_place_err, to_out_err] {
                match &err {
                    BundleError::UnsafeEntry {
                        path,
                        entry,
                        reason,
                    } => {
                        assert_eq!(path, &input, "{}", case.name);
                        assert_eq!(entry, &case.entry, "{}", case.name);
                        assert_eq!(reason, &case.reason, "{}", case.name);
                    }
                    other => panic!("{}: unexpected error {other}", case.name),
                }
                let message = err.to_string();
                assert!(message.contains(&case.entry), "{message}");
            }
            assert_eq!(
                tree(root.path()),
                before,
                "{}: something was written",
                case.name
            );
            assert!(!root.path().join("evil").exists());
            assert!(!Path::new("/etc/evil").exists());
        }
    }
}

#[test]
fn unsafe_directory_bundles_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join(TOP);
    fs::create_dir_all(dir.join("cluster-resources")).unwrap();
    fs::write(dir.join("version.yaml"), b"kind: SupportBundle\n").unwrap();
    std::os::unix::fs::symlink("../../outside", dir.join("cluster-resources/link")).unwrap();
    let out = root.path().join("out");
    fs::create_dir(&out).unwrap();
    let before = tree(root.path());
    for err in [
        Bundle::open(&dir).unwrap_err(),
        add_to_bundle(&dir, None, &facts(), false).unwrap_err(),
        add_to_bundle(&dir, Some(&out), &facts(), false).unwrap_err(),
    ] {
        assert!(
            matches!(
                &err,
                BundleError::UnsafeEntry { entry, reason: UnsafeReason::LinkEscapes { .. }, .. }
                    if entry == &top("cluster-resources/link")
            ),
            "{err}"
        );
    }
    assert_eq!(tree(root.path()), before);
}
