//! The inputs kept from the `reference` and `manifest` fuzz targets (`fuzz/regressions/`),
//! replayed through the same calls: each returns a value or a typed error, and the reference
//! properties the target asserts hold.

use imagefacts_model::manifest::{parse_config, parse_manifest};
use imagefacts_model::{Digest, Reference, media_type};
use imagefacts_testkit::fuzz_regressions;

#[test]
fn reference_inputs_parse_or_are_refused_and_read_back_as_themselves() {
    for (path, bytes) in fuzz_regressions("reference") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        if let Ok(d) = Digest::parse(text) {
            assert_eq!(d.to_string(), text, "{}", path.display());
        }
        let Ok(r) = Reference::parse(text) else {
            continue;
        };
        let shown = r.to_string();
        assert_eq!(
            Reference::parse(&shown).as_ref(),
            Ok(&r),
            "{}",
            path.display()
        );
        assert_eq!(Reference::parse(&r.familiar()), Ok(r), "{}", path.display());
    }
}

#[test]
fn manifest_inputs_parse_or_are_refused() {
    for (_, bytes) in fuzz_regressions("manifest") {
        for content_type in [None, Some(media_type::OCI_MANIFEST)] {
            let _ = parse_manifest(&bytes, content_type);
        }
        let _ = parse_config(&bytes);
    }
}
