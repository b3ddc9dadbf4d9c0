//! The support bundle reader (`Bundle::open_with`, then `read_files`) over arbitrary archive
//! bytes (`.tar.gz` or plain tar), with discovery's `BundleScan` reading what it wants as the
//! archive streams: never panics, and a refused archive is a typed error.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use imagefacts_bundle::Bundle;
use imagefacts_discovery::{BundleScan, NamespaceFilter};
use libfuzzer_sys::fuzz_target;

/// The bundle reader opens paths: one scratch file per fuzzing process.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("imagefacts-fuzz-{}.tar", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("write the scratch archive");
    let mut scan = BundleScan::new(&NamespaceFilter::default()).with_max_entry_bytes(1 << 20);
    let Ok(bundle) = Bundle::open_with(path, &mut scan) else {
        return;
    };
    let _ = bundle.read_files(|_| true, 1 << 20);
    let _ = scan.finish(path);
});
