//! Small archive builders for tests that need a tar or a gzip stream of their own making.

use std::io::Write as _;
use std::path::Path;

/// A plain tar of `files` (`(path, bytes)`, regular files with mode 0644, mtime 0), in order.
///
/// # Panics
///
/// Never for in-memory data (the builder writes to a `Vec`).
pub fn tar_files(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, *data)
            .expect("appending to an in-memory tar");
    }
    builder.into_inner().expect("finishing an in-memory tar")
}

/// A plain tar of the directory `dir` with every entry under `top/` (links stored, not followed).
///
/// # Errors
///
/// When `dir` cannot be read.
pub fn tar_dir(top: &str, dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.append_dir_all(top, dir)?;
    Ok(builder.into_inner()?)
}

/// `bytes` gzipped.
///
/// # Panics
///
/// Never for in-memory data.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}
