//! Hostile input, small on disk and huge when believed: tar extension headers without end, an
//! index with 18,000 children, durations past the clock. Each is refused or bounded, nothing
//! panics, and nothing the user had is damaged.

use std::io::Write as _;
use std::path::Path;

use imagefacts_testkit::{OciLayout, Registry, RegistryKind, sha256_digest};
use serde_json::json;

use crate::support::{imagefacts, imagefacts_measured};

const TOP: &str = "support-bundle-2026-11-28T00_00_00";
/// Peak RSS each run must stay under (KiB).
const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// A tar header block of `kind` for `name` declaring `size` bytes, with a valid checksum.
fn header(name: &str, kind: u8, size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).unwrap();
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    *h.as_bytes()
}

/// Writes a gzipped tar: a good first entry (the bundle's `cluster-resources/` directory and a
/// pods file), then `bomb` writes whatever hostile records it likes.
fn bomb_archive(path: &Path, bomb: impl FnOnce(&mut dyn std::io::Write)) {
    let file = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::best());
    let pods = br#"{"kind":"PodList","items":[]}"#;
    gz.write_all(&header(&format!("{TOP}/"), b'5', 0)).unwrap();
    gz.write_all(&header(
        &format!("{TOP}/cluster-resources/pods/default.json"),
        b'0',
        pods.len() as u64,
    ))
    .unwrap();
    let mut data = pods.to_vec();
    data.resize(512, 0);
    gz.write_all(&data).unwrap();
    bomb(&mut gz);
    gz.write_all(&[0u8; 1024]).unwrap();
    gz.finish().unwrap();
}

/// A GNU long-name record declaring 10 GiB (its data never comes).
fn long_name_bomb(w: &mut dyn std::io::Write) {
    w.write_all(&header("././@LongLink", b'L', 10 << 30))
        .unwrap();
    w.write_all(&[b'a'; 4096]).unwrap();
}

/// 100 PAX records of 1 MiB each before one entry: 100 MiB of headers if believed.
fn pax_bomb(w: &mut dyn std::io::Write) {
    // "<len> comment=<value>\n", the length counting the whole record.
    let len = 1 << 20;
    let mut record = format!("{len} comment=").into_bytes();
    record.resize(len - 1, b'x');
    record.push(b'\n');
    let mut block = record.clone();
    block.resize(len.div_ceil(512) * 512, 0);
    for _ in 0..100 {
        w.write_all(&header("PaxHeaders/x", b'x', len as u64))
            .unwrap();
        w.write_all(&block).unwrap();
    }
    w.write_all(&header(&format!("{TOP}/x.json"), b'0', 0))
        .unwrap();
}

/// An old-GNU sparse header whose extension blocks never end (200,000 blocks, 100 MB).
fn sparse_bomb(w: &mut dyn std::io::Write) {
    let mut h = header(&format!("{TOP}/sparse"), b'S', 0);
    h[482] = 1; // isextended
    // Recompute the checksum after the change.
    let mut gnu = tar::Header::from_byte_slice(&h).clone();
    gnu.set_cksum();
    w.write_all(gnu.as_bytes()).unwrap();
    let mut ext = [0u8; 512];
    ext[504] = 1; // this extension block is followed by another
    for _ in 0..200_000 {
        w.write_all(&ext).unwrap();
    }
}

#[test]
fn tar_bombs_are_refused_with_bounded_memory_and_the_bundle_untouched() {
    let dir = tempfile::tempdir().unwrap();
    type Bomb = fn(&mut dyn std::io::Write);
    let bombs: [(&str, Bomb); 3] = [
        ("long-name", long_name_bomb),
        ("pax", pax_bomb),
        ("sparse", sparse_bomb),
    ];
    for (name, bomb) in bombs {
        let path = dir.path().join(format!("{name}.tar.gz"));
        bomb_archive(&path, bomb);
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < 2 << 20, "{name}: crafted small ({size} bytes)");
        let before = std::fs::read(&path).unwrap();
        let p = path.display().to_string();
        let runs: [&[&str]; 3] = [
            &["list", "--bundle", &p],
            &["bundle", "--add-to", &p],
            &["report", &p],
        ];
        for args in runs {
            let (run, rss_kib) = imagefacts_measured(args);
            assert_eq!(run.status, 2, "{name} {args:?}: {}", run.stderr);
            let first = run.stderr.lines().next().unwrap_or_default();
            assert!(
                first.contains(&p) && (first.contains("exceed") || first.contains("limit")),
                "{name} {args:?}: one clear line naming the bundle and the cause: {}",
                run.stderr
            );
            assert!(
                rss_kib < RSS_LIMIT_KIB,
                "{name} {args:?}: peak RSS {rss_kib} KiB"
            );
            println!("{name} {}: peak RSS {rss_kib} KiB", args[0]);
            assert!(std::fs::read(&path).unwrap() == before, "{name}: untouched");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| !n.to_string_lossy().ends_with(".tar.gz"))
            .collect();
        assert!(left.is_empty(), "{name}: nothing written beside: {left:?}");
    }
}

/// An index of 18,000 children (distinct platforms, one shared config): the primary and the
/// others up to `--max-platforms` are fetched, the rest listed with their digests.
#[test]
fn an_index_of_18000_children_costs_at_most_max_platforms_and_a_few_requests() {
    const CHILDREN: usize = 18_000;
    const MAX: usize = 8;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let config = br#"{"architecture":"amd64","os":"linux","config":{}}"#.to_vec();
    let config_digest = sha256_digest(&config);
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    layout.write_blob(&config).unwrap();
    let mut children = Vec::with_capacity(CHILDREN);
    for i in 0..CHILDREN {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest, "size": config.len()},
            "layers": [],
            "annotations": {"i": i.to_string()}
        })
        .to_string()
        .into_bytes();
        let arch = if i == CHILDREN - 1 {
            "amd64".to_owned()
        } else {
            format!("arch{i}")
        };
        children.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256_digest(&manifest),
            "size": manifest.len(),
            "platform": {"os": "linux", "architecture": arch}
        }));
        layout.write_blob(&manifest).unwrap();
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children
    })
    .to_string()
    .into_bytes();
    assert!(
        index.len() < 4 << 20,
        "under the manifest cap: {}",
        index.len()
    );
    layout
        .add_raw("1.0", "application/vnd.oci.image.index.v1+json", &index)
        .unwrap();
    reg.seed(&layout, "1.0", "fanout/app:1.0").unwrap();
    reg.clear_access_log();
    let run = imagefacts(&[
        "inspect",
        "--insecure-registry",
        &reg.host(),
        "--max-platforms",
        &MAX.to_string(),
        &format!("{}/fanout/app:1.0", reg.host()),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let requests = reg.access_log().len();
    // HEAD + index GET + MAX child manifests + one shared config.
    assert!(requests <= MAX + 3, "{requests} requests");
    let facts = &run.facts()[0];
    let platforms = facts["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), CHILDREN);
    let fetched = platforms.iter().filter(|p| p["notFetched"] != true).count();
    assert_eq!(fetched, MAX);
    // The primary (linux/amd64, the last child) is among those fetched.
    let primary = platforms.iter().find(|p| p["primary"] == true).unwrap();
    assert_eq!(primary["platform"]["architecture"], "amd64");
    assert!(primary.get("notFetched").is_none());
    assert_eq!(facts["platform"]["architecture"], "amd64");
}

#[test]
fn durations_past_the_clock_are_usage_errors_naming_the_flag() {
    for flag in ["--deadline", "--timeout", "--cache-ttl"] {
        for value in ["18446744073709551615s", "99999999999999999999", "31d"] {
            let run = imagefacts(&["inspect", flag, value, "127.0.0.1:1/a:1"]);
            assert_eq!(run.status, 2, "{flag} {value}: {}", run.stderr);
            assert!(
                run.stderr.contains(flag) && run.stderr.contains("too long"),
                "{flag} {value}: {}",
                run.stderr
            );
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        }
    }
}
