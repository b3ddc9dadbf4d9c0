//! Discovery's decoder of Kubernetes object files (a `List`, `items: null`, a plain array, one
//! object) as a support bundle offers them: streamed item by item, and read whole when the
//! objects are kept. Never panics.
#![no_main]

use imagefacts_discovery::{BundleScan, Extractor, NamespaceFilter};
use imagefacts_model::files::FileVisitor;
use libfuzzer_sys::fuzz_target;

const PATH: &str = "cluster-resources/pods/default.json";

fuzz_target!(|data: &[u8]| {
    let filter = NamespaceFilter::default();
    for keep in [false, true] {
        let x = Extractor::new(&filter);
        let x = if keep { x.keeping_objects() } else { x };
        let mut scan = BundleScan::with_extractor(x);
        assert!(scan.wants(PATH, data.len() as u64));
        scan.visit(PATH, data.len() as u64, &mut &data[..]);
        let _ = scan.finish(std::path::Path::new("fuzz-bundle"));
    }
});
