//! The inputs kept from fuzzing (`fuzz/regressions/<target>/`): crashes found and fixed, and
//! inputs that reached deep paths, replayed by each owning crate's normal tests.

use std::path::{Path, PathBuf};

/// Every file of `fuzz/regressions/<target>/`, sorted by name, with its bytes.
///
/// # Panics
///
/// When the directory cannot be read or holds no file: a replay of nothing would pass vacuously.
pub fn fuzz_regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no regression input in {}",
        dir.display()
    );
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}
