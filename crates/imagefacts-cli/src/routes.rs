//! Where pulls go: `--mirror` flags, then the nodes' files (containerd hosts directory,
//! registries.conf, k3s registries.yaml) and the docker/containers certs.d directories.

use std::path::PathBuf;

use imagefacts_registry::routes::{
    Routes, parse_mirror_flag, read_containerd_hosts_dir, read_k3s_registries, read_registries_conf,
};

use crate::args::RegistryArgs;

const HOSTS_DIR: &str = "/etc/containerd/certs.d";
const REGISTRIES_CONF: &str = "/etc/containers/registries.conf";
const K3S_REGISTRIES: &str = "/etc/rancher/k3s/registries.yaml";
const CERTS_DIRS: [&str; 2] = ["/etc/docker/certs.d", "/etc/containers/certs.d"];

/// The run's routes. A file or directory that does not exist adds nothing.
///
/// # Errors
///
/// A one-line error naming the flag or file that is malformed.
pub(crate) fn run_routes(args: &RegistryArgs) -> anyhow::Result<Routes> {
    let mut routes = Routes::default();
    for flag in &args.mirrors {
        routes.merge(parse_mirror_flag(flag)?);
    }
    let hosts_dir = args
        .hosts_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(HOSTS_DIR));
    routes.merge(read_containerd_hosts_dir(&hosts_dir)?);
    let registries_conf = args.registries_conf.clone().unwrap_or_else(|| {
        std::env::var_os("CONTAINERS_REGISTRIES_CONF")
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(REGISTRIES_CONF), PathBuf::from)
    });
    routes.merge(read_registries_conf(&registries_conf)?);
    let k3s = args
        .k3s_registries
        .clone()
        .unwrap_or_else(|| PathBuf::from(K3S_REGISTRIES));
    routes.merge(read_k3s_registries(&k3s)?);
    let certs_dirs: Vec<PathBuf> = if args.certs_dirs.is_empty() {
        CERTS_DIRS.iter().map(PathBuf::from).collect()
    } else {
        args.certs_dirs.clone()
    };
    for dir in &certs_dirs {
        routes.merge(read_containerd_hosts_dir(dir)?);
    }
    Ok(routes)
}
