//! How a bundle's files are offered to a reader: the seam between the bundle reader
//! (`imagefacts-bundle`, the only code that opens archives) and what reads their contents
//! (discovery, `report`). A trait of plain [`Read`]s: no I/O of its own.

use std::io::Read;

/// Receives a bundle's regular files while the bundle is read, so that a reader needs no second
/// pass over it.
///
/// Paths are relative to the top directory, `/`-separated. Files are offered in archive order
/// (directories: walk order); links, sparse files and special files never are. The contents of
/// an archive are offered before the whole archive has been checked: a visitor must not act on
/// them (write anything, ask anything) before the reader has returned successfully.
pub trait FileVisitor {
    /// Whether to read the regular file at `path` of `size` bytes.
    fn wants(&mut self, path: &str, size: u64) -> bool;

    /// The contents of a wanted file; what is not read of it is skipped. A read error is the
    /// bundle's (corrupt, truncated), and the reader returns it after this call.
    fn visit(&mut self, path: &str, size: u64, contents: &mut dyn Read);
}

/// A [`FileVisitor`] that wants nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl FileVisitor for NoFiles {
    fn wants(&mut self, _path: &str, _size: u64) -> bool {
        false
    }

    fn visit(&mut self, _path: &str, _size: u64, _contents: &mut dyn Read) {}
}
