//! The inputs kept from the `www_authenticate`, `docker_config` and `routes` fuzz targets
//! (`fuzz/regressions/`), replayed through the same calls: each returns a value or a typed
//! error, without panicking.

use std::path::Path;

use imagefacts_registry::challenge::parse_challenges;
use imagefacts_registry::routes::{
    parse_containerd_hosts, parse_k3s_registries, parse_registries_conf,
};
use imagefacts_registry::{DockerConfig, parse_retry_after};
use imagefacts_testkit::fuzz_regressions;

#[test]
fn www_authenticate_inputs_parse_or_yield_nothing() {
    for (_, bytes) in fuzz_regressions("www_authenticate") {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_challenges(&text);
        let _ = parse_retry_after(&text);
    }
}

#[test]
fn docker_config_inputs_parse_or_are_refused() {
    for (path, bytes) in fuzz_regressions("docker_config") {
        let _ = DockerConfig::parse(&bytes, &path);
    }
}

/// The first byte chooses the reader, as in the fuzz target.
#[test]
fn route_file_inputs_parse_or_are_refused() {
    for (path, bytes) in fuzz_regressions("routes") {
        let Some((&which, rest)) = bytes.split_first() else {
            continue;
        };
        let text = String::from_utf8_lossy(rest);
        let _ = match which % 3 {
            0 => parse_containerd_hosts(
                &text,
                "docker.io",
                Path::new("certs.d/docker.io/hosts.toml"),
            ),
            1 => parse_registries_conf(&text, &path),
            _ => parse_k3s_registries(&text, &path),
        };
    }
}
