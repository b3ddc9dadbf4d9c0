//! `parse_manifest` (with and without a content type) and `parse_config`: never panic, and what
//! parses answers its accessors.
#![no_main]

use imagefacts_model::manifest::{Manifest, parse_config, parse_manifest};
use imagefacts_model::media_type;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for content_type in [
        None,
        Some(media_type::OCI_MANIFEST),
        Some(media_type::DOCKER_MANIFEST_LIST),
    ] {
        match parse_manifest(data, content_type) {
            Ok(Manifest::Image(m)) => {
                let _ = (m.layers_size(), m.artifact(), m.has_image_config());
            }
            Ok(Manifest::Index(index)) => {
                for d in &index.manifests {
                    let _ = d.platform.as_ref().map(imagefacts_model::Platform::from);
                }
            }
            Err(_) => {}
        }
    }
    if let Ok(config) = parse_config(data) {
        let _ = config.platform();
    }
});
