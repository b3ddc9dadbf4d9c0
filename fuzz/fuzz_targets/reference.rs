//! `Reference::parse` (and `Digest::parse`, `ImageRef::parse`): never panics, and a parsed
//! reference reads back as itself from its display and its familiar form.
#![no_main]

use imagefacts_model::{Digest, ImageRef, Reference};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(digest) = Digest::parse(text) {
        assert_eq!(digest.to_string(), text, "a digest displays as written");
    }
    let written = ImageRef::parse(text);
    let Ok(r) = Reference::parse(text) else {
        assert!(written.reference().is_err());
        return;
    };
    assert_eq!(written.reference().ok(), Some(&r));
    let shown = r.to_string();
    let again = Reference::parse(&shown).expect("a reference's display parses");
    assert_eq!(again, r, "parse(display(r)) == r for {text:?}");
    assert_eq!(again.to_string(), shown, "display is stable");
    let familiar = r.familiar();
    assert_eq!(
        Reference::parse(&familiar).as_ref(),
        Ok(&r),
        "the familiar form {familiar:?} of {text:?} parses back"
    );
    assert_eq!(Reference::parse(&r.name()).map(|n| n.name()), Ok(r.name()));
});
