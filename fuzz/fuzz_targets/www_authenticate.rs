//! `parse_challenges` and `parse_retry_after` over header values: never panic.
#![no_main]

use imagefacts_registry::challenge::parse_challenges;
use imagefacts_registry::parse_retry_after;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Header values reach the parsers as text (`HeaderValue::to_str`), so only UTF-8 matters.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for challenge in parse_challenges(text) {
        let _ = challenge.param("realm");
    }
    let _ = parse_retry_after(text);
});
