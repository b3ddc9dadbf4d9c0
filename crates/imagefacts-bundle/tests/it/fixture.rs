//! Test bundles built with the `tar` crate (an implementation independent of ours), and helpers
//! to look at archives and directory trees.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};

pub(crate) const TOP: &str = "support-bundle-2026-01-02T03_04_05";
pub(crate) const T0: u64 = 1_767_323_045;
pub(crate) const PODS: &str = r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"web-0","namespace":"default"},"spec":{"containers":[{"name":"nginx","image":"nginx:1.25"}]}}]}"#;
pub(crate) const LONG_POD: &str =
    "a-pod-with-a-rather-long-generated-name-7d9f8c6b5-xk2lp-and-even-more-suffix";
pub(crate) const UNICODE_NAME: &str =
    "execution-data/r\u{e9}sum\u{e9}-\u{fc}n\u{ef}c\u{f6}d\u{e9}.txt";

/// What to put in a fixture.
#[derive(Clone, Copy, Default)]
pub(crate) struct Spec {
    pub(crate) gzip: bool,
    /// Bytes of incompressible data in `cluster-resources/big.bin` (none when 0).
    pub(crate) big: usize,
    /// Include an `image-facts/` directory with `old-facts.json`.
    pub(crate) image_facts: bool,
}

/// Deterministic incompressible bytes.
pub(crate) fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn header(kind: EntryType, mode: u32, mtime: u64) -> Header {
    let mut h = Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(1000);
    h.set_gid(1000);
    h.set_username("support").unwrap();
    h.set_groupname("support").unwrap();
    h.set_size(0);
    h
}

/// One PAX record, its length counting itself.
pub(crate) fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut len = base + 1;
    while len != base + len.to_string().len() {
        len = base + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

/// The fixture's tar stream (uncompressed).
pub(crate) fn fixture_tar(spec: Spec) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let p = |rel: &str| format!("{TOP}/{rel}");
    // A PAX global header (git archive writes one), before everything.
    let global = pax_record("comment", "a pax global header, kept as it is");
    let mut g = Header::new_ustar();
    g.set_entry_type(EntryType::XGlobalHeader);
    g.set_path("pax_global_header").unwrap();
    g.set_size(global.len() as u64);
    g.set_mode(0o666);
    g.set_mtime(T0);
    g.set_uid(0);
    g.set_gid(0);
    g.set_cksum();
    b.append(&g, &global[..]).unwrap();

    let dir = |b: &mut tar::Builder<Vec<u8>>, rel: &str, mode: u32, t: u64| {
        let mut h = header(EntryType::Directory, mode, T0 + t);
        b.append_data(&mut h, format!("{TOP}/{rel}"), &[][..])
            .unwrap();
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, rel: &str, mode: u32, t: u64, data: &[u8]| {
        let mut h = header(EntryType::Regular, mode, T0 + t);
        h.set_size(data.len() as u64);
        b.append_data(&mut h, p(rel), data).unwrap();
    };
    let mut h = header(EntryType::Directory, 0o755, T0);
    b.append_data(&mut h, format!("{TOP}/"), &[][..]).unwrap();
    file(
        &mut b,
        "version.yaml",
        0o644,
        1,
        b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n  versionNumber: 0.107.0\n",
    );
    dir(&mut b, "cluster-resources", 0o755, 2);
    dir(&mut b, "cluster-resources/pods", 0o700, 3);
    file(
        &mut b,
        "cluster-resources/pods/default.json",
        0o600,
        4,
        PODS.as_bytes(),
    );
    dir(
        &mut b,
        "cluster-resources/pods/logs/default/web-0",
        0o755,
        5,
    );
    file(
        &mut b,
        "cluster-resources/pods/logs/default/web-0/nginx.log",
        0o644,
        6,
        b"started\n",
    );
    // Over 100 bytes: a GNU long-name record.
    let long = format!("cluster-resources/pods/logs/default/{LONG_POD}/container.log");
    assert!(p(&long).len() > 100);
    file(&mut b, &long, 0o644, 7, b"long name\n");
    // A PAX header: a non-ASCII name and an mtime past the octal field's range.
    let data = b"pax\n";
    b.append_pax_extensions([
        ("path", p(UNICODE_NAME).as_bytes()),
        ("mtime", b"20000000000.5".as_slice()),
    ])
    .unwrap();
    let mut h = header(EntryType::Regular, 0o640, T0 + 8);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, p("execution-data/resume.txt"), &data[..])
        .unwrap();
    file(
        &mut b,
        "execution-data/collect.sh",
        0o755,
        9,
        b"#!/bin/sh\necho hi\n",
    );
    let mut h = header(EntryType::Symlink, 0o777, T0 + 10);
    b.append_link(
        &mut h,
        p("cluster-resources/pods/current.json"),
        "default.json",
    )
    .unwrap();
    let mut h = header(EntryType::Link, 0o644, T0 + 11);
    b.append_link(&mut h, p("version-copy.yaml"), p("version.yaml"))
        .unwrap();
    if spec.image_facts {
        dir(&mut b, "image-facts", 0o755, 12);
        file(
            &mut b,
            "image-facts/old-facts.json",
            0o644,
            13,
            b"{\"old\":true}",
        );
    }
    if spec.big > 0 {
        file(
            &mut b,
            "cluster-resources/big.bin",
            0o644,
            14,
            &noise(spec.big, 7),
        );
    }
    file(&mut b, "analysis.json", 0o644, 15, b"[]");
    b.into_inner().unwrap()
}

/// Writes the fixture into `dir` under troubleshoot's name and returns its path.
pub(crate) fn write_fixture(dir: &Path, spec: Spec) -> PathBuf {
    let tar = fixture_tar(spec);
    let (name, bytes) = if spec.gzip {
        // Incompressible data is stored as it is (and fast, even in a debug build).
        let level = if spec.big > 1 << 20 {
            Compression::none()
        } else {
            Compression::fast()
        };
        let mut gz = GzEncoder::new(Vec::new(), level);
        gz.write_all(&tar).unwrap();
        (format!("{TOP}.tar.gz"), gz.finish().unwrap())
    } else {
        (format!("{TOP}.tar"), tar)
    };
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

/// The uncompressed tar stream of an archive file.
pub(crate) fn tar_stream(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap();
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        MultiGzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        bytes
    }
}

/// One entry as the `tar` crate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct View {
    pub(crate) path: String,
    pub(crate) kind: u8,
    pub(crate) mode: u32,
    pub(crate) mtime: u64,
    pub(crate) pax_mtime: Option<String>,
    pub(crate) uid: u64,
    pub(crate) gid: u64,
    pub(crate) link: Option<String>,
    pub(crate) sha: String,
}

/// The entries of an archive file read by the `tar` crate (PAX and GNU names applied).
pub(crate) fn tar_view(path: &Path) -> Vec<View> {
    let stream = tar_stream(path);
    let mut archive = tar::Archive::new(&stream[..]);
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let pax_mtime = entry.pax_extensions().unwrap().and_then(|exts| {
            exts.flatten()
                .find(|e| e.key() == Ok("mtime"))
                .map(|e| e.value().unwrap().to_owned())
        });
        let h = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push(View {
            path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
            kind: h.entry_type().as_byte(),
            mode: h.mode().unwrap(),
            mtime: h.mtime().unwrap(),
            pax_mtime,
            uid: h.uid().unwrap(),
            gid: h.gid().unwrap(),
            link: entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned()),
            sha: sha_hex(&data),
        });
    }
    out
}

pub(crate) fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(crate) fn file_sha(path: &Path) -> String {
    sha_hex(&fs::read(path).unwrap())
}

/// Every file, directory and link under `root` (hidden ones too): kind, mode, size, mtime, digest.
pub(crate) fn tree(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for path in names {
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_owned();
            let desc = if meta.is_dir() {
                walk(root, &path, out);
                format!("dir {:o} {}", meta.mode() & 0o7777, meta.mtime())
            } else if meta.is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else {
                format!(
                    "file {:o} {} {} {}",
                    meta.mode() & 0o7777,
                    meta.len(),
                    meta.mtime(),
                    file_sha(&path)
                )
            };
            out.insert(rel, desc);
        }
    }
    walk(root, root, &mut out);
    out
}

/// [`tree`] without directories' mtimes (which change when a file is created and removed).
pub(crate) fn tree_without_dir_times(root: &Path) -> BTreeMap<PathBuf, String> {
    tree(root)
        .into_iter()
        .map(|(k, v)| {
            let v = if v.starts_with("dir ") {
                v.rsplit_once(' ').unwrap().0.to_owned()
            } else {
                v
            };
            (k, v)
        })
        .collect()
}

/// Names in `dir` (not recursive).
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| String::from_utf8_lossy(e.unwrap().file_name().as_bytes()).into_owned())
        .collect();
    v.sort();
    v
}

/// Sets a file's or directory's mtime.
pub(crate) fn set_mtime(path: &Path, secs: u64) {
    let f = File::open(path).unwrap();
    f.set_modified(UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// An extracted fixture: the directory bundle `<dir>/<TOP>/`.
pub(crate) fn write_dir_fixture(dir: &Path, image_facts: bool) -> PathBuf {
    use std::os::unix::fs::symlink;
    let top = dir.join(TOP);
    let files: &[(&str, u32, &[u8])] = &[
        (
            "version.yaml",
            0o644,
            b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\n",
        ),
        (
            "cluster-resources/pods/default.json",
            0o600,
            PODS.as_bytes(),
        ),
        (
            "cluster-resources/pods/logs/default/web-0/nginx.log",
            0o644,
            b"started\n",
        ),
        (UNICODE_NAME, 0o640, b"pax\n"),
        ("execution-data/collect.sh", 0o755, b"#!/bin/sh\necho hi\n"),
        ("analysis.json", 0o644, b"[]"),
    ];
    let long = format!("cluster-resources/pods/logs/default/{LONG_POD}/container.log");
    let mut all: Vec<(String, u32, Vec<u8>)> = files
        .iter()
        .map(|(p, m, d)| (p.to_string(), *m, d.to_vec()))
        .collect();
    all.push((long, 0o644, b"long name\n".to_vec()));
    if image_facts {
        all.push((
            "image-facts/old-facts.json".into(),
            0o644,
            b"{\"old\":true}".to_vec(),
        ));
    }
    for (i, (rel, mode, data)) in all.iter().enumerate() {
        let path = top.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, data).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).unwrap();
        set_mtime(&path, T0 + 100 + i as u64);
    }
    symlink(
        "default.json",
        top.join("cluster-resources/pods/current.json"),
    )
    .unwrap();
    fs::set_permissions(
        top.join("cluster-resources/pods"),
        fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    for (i, d) in [
        "cluster-resources/pods",
        "cluster-resources",
        "execution-data",
        "",
    ]
    .iter()
    .enumerate()
    {
        set_mtime(&top.join(d), T0 + 200 + i as u64);
    }
    top
}

/// Whether this process runs as root (permission bits then do not stop it).
pub(crate) fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
