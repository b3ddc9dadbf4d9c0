//! The registry route readers: containerd `hosts.toml`, containers `registries.conf` and k3s
//! `registries.yaml`, chosen by the first byte. Never panic; bad files are typed errors.
#![no_main]

use std::path::Path;

use imagefacts_registry::routes::{
    parse_containerd_hosts, parse_k3s_registries, parse_registries_conf,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = match which % 3 {
        0 => parse_containerd_hosts(
            text,
            "docker.io",
            Path::new("/etc/containerd/certs.d/docker.io/hosts.toml"),
        ),
        1 => parse_registries_conf(text, Path::new("/etc/containers/registries.conf")),
        _ => parse_k3s_registries(text, Path::new("/etc/rancher/k3s/registries.yaml")),
    };
});
