//! `DockerConfig::parse` over docker `config.json` / containers `auth.json` bodies: never panics.
#![no_main]

use std::path::Path;

use imagefacts_registry::DockerConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(config) = DockerConfig::parse(data, Path::new("fuzz/config.json")) {
        let _ = (config.len(), config.is_empty());
    }
});
