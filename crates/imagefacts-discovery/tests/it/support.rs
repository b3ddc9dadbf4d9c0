//! Fixture paths, archive builders and comparison helpers shared by the tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use imagefacts_bundle::{Bundle, BundleError};
use imagefacts_discovery::{BundleScan, DiscoverError, NamespaceFilter};
use imagefacts_model::discovery::{ContainerType, Discovery};

/// The top directory of the bundle fixture, named as troubleshoot names it.
pub(crate) const BUNDLE_TOP: &str = "support-bundle-2025-10-14T09_30_00";

pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `tests/fixtures/bundle/<top>`: the extracted bundle.
pub(crate) fn bundle_dir() -> PathBuf {
    fixtures().join("bundle").join(BUNDLE_TOP)
}

pub(crate) fn manifests_dir() -> PathBuf {
    fixtures().join("manifests")
}

/// The bundle fixture as an uncompressed tar stream, every entry under the top directory.
pub(crate) fn bundle_tar() -> Vec<u8> {
    imagefacts_testkit::tar_dir(BUNDLE_TOP, &bundle_dir()).expect("tar the bundle fixture")
}

pub(crate) use imagefacts_testkit::gzip;

/// Why a bundle could not be read: refused by its reader, or not a bundle to discovery.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The bundle reader's error (unreadable, not an archive, unsafe, corrupt).
    Bundle(BundleError),
    /// Discovery's (no cluster-resources/).
    Discover(DiscoverError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Bundle(e) => e.fmt(f),
            Failure::Discover(e) => e.fmt(f),
        }
    }
}

/// Reads the bundle at `path` as the CLI does: one pass of the bundle reader feeding discovery.
pub(crate) fn read_bundle(path: &Path, filter: &NamespaceFilter) -> Result<Discovery, Failure> {
    let mut scan = BundleScan::new(filter);
    Bundle::open_with(path, &mut scan).map_err(Failure::Bundle)?;
    scan.finish(path)
        .map(|(d, _)| d.discovery)
        .map_err(Failure::Discover)
}

/// Writes `bytes` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// The image references of a discovery.
pub(crate) fn image_set(d: &Discovery) -> BTreeSet<String> {
    d.images.iter().map(|i| i.reference.to_string()).collect()
}

/// `(image, namespace, kind, name, container, type)` of every workload, without pods.
pub(crate) fn workload_set(
    d: &Discovery,
    with_ephemeral: bool,
) -> BTreeSet<(String, String, String, String, String, ContainerType)> {
    d.images
        .iter()
        .flat_map(|i| {
            i.workloads.iter().map(move |w| {
                (
                    i.reference.to_string(),
                    w.namespace.clone(),
                    w.kind.clone(),
                    w.name.clone(),
                    w.container.clone(),
                    w.container_type,
                )
            })
        })
        .filter(|w| with_ephemeral || w.5 != ContainerType::Ephemeral)
        .collect()
}

/// The golden discovery of the bundle fixture (default filter).
pub(crate) fn expected_discovery() -> serde_json::Value {
    let text =
        std::fs::read_to_string(fixtures().join("expected-discovery.json")).expect("read golden");
    serde_json::from_str(&text).expect("golden is JSON")
}

/// Compares with the golden file; with `UPDATE_GOLDEN=1` rewrites it instead.
pub(crate) fn assert_golden(d: &Discovery) {
    let got = serde_json::to_value(d).expect("serialize discovery");
    let path = fixtures().join("expected-discovery.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = serde_json::to_string_pretty(&got).expect("pretty") + "\n";
        std::fs::write(&path, text).expect("write golden");
        return;
    }
    let want = expected_discovery();
    if got != want {
        panic!(
            "discovery differs from {}:\n--- got ---\n{}",
            path.display(),
            serde_json::to_string_pretty(&got).unwrap_or_default()
        );
    }
}
