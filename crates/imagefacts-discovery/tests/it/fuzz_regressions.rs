//! The inputs kept from the `image_id`, `kube_list`, `yaml_manifests` and `bundle_tar` fuzz
//! targets (`fuzz/regressions/`), replayed through the same calls: each returns a value, a typed
//! error or discovery errors, without panicking.

use imagefacts_bundle::Bundle;
use imagefacts_discovery::{
    BundleScan, Extractor, NamespaceFilter, parse_image_id, read_manifest_text,
};
use imagefacts_model::files::FileVisitor;
use imagefacts_testkit::fuzz_regressions;

#[test]
fn image_id_inputs_parse_or_are_refused() {
    for (_, bytes) in fuzz_regressions("image_id") {
        let _ = parse_image_id(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn kube_list_inputs_decode_streamed_and_whole() {
    const PATH: &str = "cluster-resources/pods/default.json";
    let filter = NamespaceFilter::default();
    for (path, bytes) in fuzz_regressions("kube_list") {
        for keep in [false, true] {
            let x = Extractor::new(&filter);
            let mut scan = BundleScan::with_extractor(if keep { x.keeping_objects() } else { x });
            assert!(scan.wants(PATH, bytes.len() as u64));
            scan.visit(PATH, bytes.len() as u64, &mut &bytes[..]);
            let _ = scan.finish(&path);
        }
    }
}

#[test]
fn manifest_inputs_are_read_or_reported() {
    for (path, bytes) in fuzz_regressions("yaml_manifests") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let name = path.display().to_string();
        let _ = read_manifest_text(&name, text, false, &NamespaceFilter::default());
    }
}

#[test]
fn bundle_archive_inputs_are_read_or_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, bytes) in fuzz_regressions("bundle_tar") {
        let archive = dir.path().join(path.file_name().expect("a file name"));
        std::fs::write(&archive, &bytes).expect("write the archive");
        let mut scan = BundleScan::new(&NamespaceFilter::default()).with_max_entry_bytes(1 << 20);
        let Ok(bundle) = Bundle::open_with(&archive, &mut scan) else {
            continue;
        };
        let _ = bundle.read_files(|_| true, 1 << 20);
        let _ = scan.finish(&archive);
    }
}
