//! The crate's one error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A `Result` whose error is [`BundleError`].
pub type Result<T, E = BundleError> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a support bundle.
///
/// `path` is always the bundle (or output) file or directory concerned; `entry` is the name of
/// the archive entry as stored (lossily decoded when it is not UTF-8).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A file system operation failed.
    #[error("cannot {action} {}", .path.display())]
    Io {
        /// What was being done (`read`, `create a temporary file beside`, ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The input is neither a directory, a tar archive nor a gzipped tar archive, or holds nothing.
    #[error("{} is not a support bundle: {reason}", .path.display())]
    NotABundle {
        /// The input.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The archive is malformed or truncated (bad header checksum, bad gzip data, missing end).
    #[error("{} is corrupt at byte {offset} of its tar stream: {reason}", .path.display())]
    Corrupt {
        /// The archive.
        path: PathBuf,
        /// Offset in the uncompressed tar stream where the problem was found.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry could write or point outside the bundle's top directory: the bundle is refused
    /// before anything is written.
    #[error("refusing {}: entry {entry:?} {reason}", .path.display())]
    UnsafeEntry {
        /// The bundle.
        path: PathBuf,
        /// The offending entry, as stored.
        entry: String,
        /// What makes it unsafe.
        reason: UnsafeReason,
    },
    /// An entry of a kind this crate does not handle (multi-volume continuation, socket, ...).
    #[error("{}: entry {entry:?} is not supported: {reason}", .path.display())]
    UnsupportedEntry {
        /// The bundle.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Why it is not supported.
        reason: String,
    },
    /// The bundle already holds an entry where files are to be added, and `force` was not given.
    #[error("{} already holds {entry:?}; pass force to replace it", .path.display())]
    AlreadyPresent {
        /// The bundle.
        path: PathBuf,
        /// The existing entry, relative to the bundle's top directory.
        entry: String,
    },
    /// A [`BundleFile`](crate::BundleFile) to write has an unusable path or mode.
    #[error("cannot add {file:?} to a bundle: {reason}")]
    InvalidFile {
        /// The file's path as given.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The input changed between two reads of it.
    #[error("{} changed while it was being read: {reason}", .path.display())]
    Changed {
        /// The input.
        path: PathBuf,
        /// What differed.
        reason: String,
    },
    /// The archive written did not read back as expected; it was discarded.
    #[error("{} did not verify after writing, entry {entry:?}: {reason}", .path.display())]
    Verification {
        /// The temporary file that was checked.
        path: PathBuf,
        /// The first entry that differed.
        entry: String,
        /// How it differed.
        reason: String,
    },
    /// The output location cannot be used.
    #[error("cannot write to {}: {reason}", .path.display())]
    Output {
        /// The output path as resolved.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl BundleError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        BundleError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnsafeReason {
    /// The entry's name starts with `/`.
    AbsolutePath,
    /// The entry's name has a `..` component.
    ParentComponent,
    /// The entry is not inside the bundle's top directory.
    OutsideTopDir {
        /// The top directory.
        top: String,
    },
    /// The entry is under another top directory than the entries before it.
    SecondTopDir {
        /// The top directory of the first entry.
        first: String,
    },
    /// A symbolic or hard link whose target resolves outside the top directory.
    LinkEscapes {
        /// The link's target, as stored.
        target: String,
    },
    /// A chain of symbolic links that does not end.
    SymlinkLoop {
        /// The link's target, as stored.
        target: String,
    },
    /// The entry's path (or a hard link's target) goes through a symbolic link of the bundle.
    ThroughSymlink {
        /// The symbolic link on the way.
        link: String,
    },
    /// A link stored twice, or a link stored under the same name as another entry.
    DuplicateLink,
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnsafeReason::AbsolutePath => f.write_str("has an absolute path"),
            UnsafeReason::ParentComponent => f.write_str("has a `..` component"),
            UnsafeReason::OutsideTopDir { top } => {
                write!(f, "is outside the bundle's top directory {top:?}")
            }
            UnsafeReason::SecondTopDir { first } => write!(
                f,
                "is under a second top directory (the first entries are under {first:?})"
            ),
            UnsafeReason::LinkEscapes { target } => {
                write!(f, "links to {target:?}, outside the bundle's top directory")
            }
            UnsafeReason::SymlinkLoop { target } => {
                write!(f, "links to {target:?} through a loop of symbolic links")
            }
            UnsafeReason::ThroughSymlink { link } => {
                write!(f, "goes through the symbolic link {link:?}")
            }
            UnsafeReason::DuplicateLink => {
                f.write_str("is a link stored under the name of another entry")
            }
        }
    }
}
