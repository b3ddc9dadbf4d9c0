//! containerd's registry host directories (`config_path`, e.g. `/etc/containerd/certs.d`).
//!
//! One directory per registry host namespace: `docker.io`, `host:port` or `host_port_` (tried
//! first), and `_default` for registries without their own directory. Exactly one directory
//! applies to a registry. In it, `hosts.toml` ([`super::parse_containerd_hosts`]); without one,
//! Docker's certificate layout applies (`*.crt` CA files, `*.cert` with a same-named `*.key`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::containerd::{scope_of, upstream_key};
use super::model::Rule;
use super::{
    ClientIdentity, HostSettings, Routes, RoutesError, normalize_registry, parse_containerd_hosts,
    read_optional,
};

/// Reads every host namespace directory under `dir` (e.g. `/etc/containerd/certs.d`).
///
/// # Errors
///
/// [`RoutesError::Read`] when `dir` or a file in it exists but cannot be read, else as
/// [`parse_containerd_hosts`]. A missing `dir` gives empty routes.
pub fn read_containerd_hosts_dir(dir: &Path) -> Result<Routes, RoutesError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Routes::default()),
        Err(e) => return Err(RoutesError::read(dir, e)),
    };
    // Registry -> (rank, directory): `host_port_` before `host:port`, Docker Hub's own name
    // before its aliases.
    let mut namespaces: BTreeMap<String, (u8, PathBuf)> = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(|e| RoutesError::read(dir, e))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !path.is_dir() {
            continue;
        }
        let (registry, rank) = namespace_of(name);
        if namespaces.get(&registry).is_none_or(|(r, _)| rank < *r) {
            namespaces.insert(registry, (rank, path));
        }
    }
    let mut routes = Routes::default();
    for (registry, (_, path)) in namespaces {
        routes.merge(read_namespace(&registry, &path)?);
    }
    Ok(routes)
}

/// The registry a namespace directory serves (`*` for `_default`) and its rank among directories
/// naming the same registry.
fn namespace_of(name: &str) -> (String, u8) {
    if name == "_default" {
        return ("*".to_owned(), 0);
    }
    let (host, rank) = match name
        .strip_suffix('_')
        .and_then(|n| n.rsplit_once('_'))
        .filter(|(h, p)| !h.is_empty() && !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        Some((h, p)) => (format!("{h}:{p}"), 0),
        None => (name.to_owned(), 1),
    };
    let registry = normalize_registry(&host);
    let alias = u8::from(registry != host.to_ascii_lowercase());
    (registry, rank + 2 * alias)
}

fn read_namespace(registry: &str, dir: &Path) -> Result<Routes, RoutesError> {
    let file = dir.join("hosts.toml");
    match read_optional(&file)? {
        Some(text) if !text.is_empty() => parse_containerd_hosts(&text, registry, &file),
        _ => read_cert_files(registry, dir),
    }
}

/// Docker's layout: `*.crt` are CA files, `x.cert` a client certificate with its key in `x.key`
/// (or in the `.cert` file itself when there is no `.key`).
fn read_cert_files(registry: &str, dir: &Path) -> Result<Routes, RoutesError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| RoutesError::read(dir, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    let origin = format!("certs.d:{}", dir.display());
    let mut settings = HostSettings {
        origin: origin.clone(),
        ..HostSettings::default()
    };
    for name in &names {
        if name.ends_with(".crt") {
            settings.ca_files.push(dir.join(name));
        } else if let Some(stem) = name.strip_suffix(".cert")
            && settings.client_identity.is_none()
        {
            let key = format!("{stem}.key");
            let cert = dir.join(name);
            settings.client_identity = Some(ClientIdentity {
                key: if names.contains(&key) {
                    dir.join(&key)
                } else {
                    cert.clone()
                },
                cert,
            });
        }
    }
    let mut routes = Routes::default();
    routes.add_host(&upstream_key(registry), settings);
    if registry != "*" {
        // The directory exists, so `_default` does not apply to this registry.
        routes.add_rule(Rule::new(scope_of(registry), &origin));
    }
    Ok(routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_directory_tree() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path();
        let write = |rel: &str, text: &str| {
            let p = d.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("docker.io/hosts.toml", "[host.\"http://127.0.0.1:5000\"]\n");
        write(
            "index.docker.io/hosts.toml",
            "[host.\"https://ignored.example\"]\n",
        );
        write("_default/hosts.toml", "[host.\"https://all.example\"]\n");
        write(
            "myreg.example_5000_/hosts.toml",
            "[host.\"https://underscore.example\"]\n",
        );
        write(
            "myreg.example:5000/hosts.toml",
            "[host.\"https://colon.example\"]\n",
        );
        write("legacy.example/ca.crt", "");
        write("legacy.example/client.cert", "");
        write("legacy.example/client.key", "");
        write("stray-file", "");
        let r = read_containerd_hosts_dir(d).unwrap();
        let first = |reg: &str| r.route(reg, "x/y", false).unwrap()[0].host.clone();
        assert_eq!(first("docker.io"), "127.0.0.1:5000");
        assert_eq!(first("myreg.example:5000"), "underscore.example");
        assert_eq!(first("ghcr.io"), "all.example");
        // A directory of certificate files still hides `_default`.
        assert_eq!(r.route("legacy.example", "x/y", false).unwrap().len(), 1);
        let legacy = r.host("legacy.example").unwrap();
        assert_eq!(legacy.ca_files, [d.join("legacy.example/ca.crt")]);
        assert_eq!(
            legacy.client_identity.as_ref().unwrap().key,
            d.join("legacy.example/client.key")
        );
        assert!(legacy.origin.starts_with("certs.d:"));

        assert!(
            read_containerd_hosts_dir(&d.join("missing"))
                .unwrap()
                .is_empty()
        );
        write("bad.example/hosts.toml", "server = [");
        let err = read_containerd_hosts_dir(d).unwrap_err().to_string();
        assert!(err.contains("bad.example/hosts.toml:1:"), "{err}");
    }
}
