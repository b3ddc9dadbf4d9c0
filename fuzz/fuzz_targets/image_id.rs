//! `parse_image_id` over pod status `imageID` values: never panics, and a repository it names
//! is a valid reference name.
#![no_main]

use imagefacts_discovery::parse_image_id;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(id) = parse_image_id(text) {
        assert_eq!(id.digest.hex().len(), id.digest.algorithm().hex_len());
    }
});
