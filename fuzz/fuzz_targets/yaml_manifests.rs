//! The manifest reader (`read_manifest_text`): multi-document YAML, JSON streams, Lists. Never
//! panics; malformed documents are discovery errors.
#![no_main]

use imagefacts_discovery::{NamespaceFilter, read_manifest_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reader takes UTF-8 text only (anything else is a read error before parsing).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = read_manifest_text("fuzz.yaml", text, false, &NamespaceFilter::default());
});
