//! Support bundle I/O for imagefacts: reads troubleshoot.sh support bundles safely, writes new
//! ones, and adds files (`image-facts/...`) to existing ones without changing a byte of what they
//! already hold.
//!
//! ```no_run
//! use std::path::Path;
//! use imagefacts_bundle::{Bundle, BundleFile, add_to_bundle, write_new_bundle};
//!
//! // Read what discovery needs, in memory.
//! let bundle = Bundle::open(Path::new("support-bundle-2026-01-02T03_04_05.tar.gz"))?;
//! let pods = bundle.read_files(|p| p.starts_with("cluster-resources/pods/"), 256 << 20)?;
//!
//! // Add the facts under the bundle's own top directory, replacing the archive atomically.
//! let facts = [BundleFile::new("image-facts/facts.json", b"{}".to_vec())];
//! let report = add_to_bundle(bundle.path(), None, &facts, false)?;
//! println!("{} entries kept, {:?} added", report.preserved_entries, report.added);
//!
//! // Or write a new bundle in the current directory.
//! let path = write_new_bundle(Path::new("."), &facts, time::OffsetDateTime::now_utc())?;
//! # let _ = (pods, path);
//! # Ok::<(), imagefacts_bundle::BundleError>(())
//! ```
//!
//! # Formats
//!
//! A bundle is a gzipped tar (`support-bundle-YYYY-MM-DDTHH_MM_SS.tar.gz`), a plain tar, or an
//! extracted directory. Compression is detected from the first bytes, never from the name. Every
//! entry of an archive lives under one top directory, named like the archive.
//!
//! # Safety
//!
//! Archives are read as streams, never extracted. [`Bundle::open`] refuses, before anything is
//! written anywhere, an archive with an absolute entry name, a `..` component, an entry outside
//! the single top directory (a second top directory, or a file at the root), a symbolic link
//! whose target, resolved from the link's directory through the bundle's other symbolic links,
//! leaves the top directory at any step (absolute targets always do), a hard link to a name
//! outside it, an entry stored below a symbolic link, or a link stored under another entry's
//! name. Directory bundles are walked without following links and checked the same way.
//!
//! # Preservation
//!
//! [`add_to_bundle`] copies each original entry with its raw header blocks (GNU long-name and
//! long-link records, PAX extended headers, old GNU sparse maps) and its data and padding, in
//! order, so every entry stays byte-identical; it then appends the new directories and files and
//! the end-of-archive blocks. The gzip stream itself is new (same compression, default level).
//!
//! # Atomicity and crashes
//!
//! Output is written to a hidden temporary file in the output's directory, named
//! `.<final name>.imagefacts-tmp.<8 random characters>` (so never `*.tar.gz`), fsynced, re-read
//! and checked entry by entry ([`diff_records`]), then renamed over the output, and the directory
//! is fsynced. An error removes the temporary file. After a `SIGKILL` it may remain: it is
//! hidden, is no bundle name, is skipped when a directory bundle is walked, and is removed by the
//! next run that writes in that directory. Writers hold an exclusive `flock` on their temporary
//! files and directories and the cleanup removes only those it can lock, so a concurrent
//! writer's files are left alone. Two runs adding to the same bundle at once both succeed and
//! the last rename wins: neither corrupts it, one's additions are lost.
//!
//! This crate uses Unix file system APIs (modes, owners, `flock`, `renameat2` on Linux).

mod add;
mod atomic;
mod bundle;
mod compare;
mod dirbundle;
mod entry;
mod error;
mod new;
mod raw;
mod safety;
mod tarwrite;

pub use add::{AddReport, BundleFile, add_to_bundle};
pub use atomic::AtomicFile;
pub use bundle::{Bundle, BundleFormat, FileContents, FileVisitor, NoFiles, ReadFile};
pub use compare::{
    ArchiveDiff, EntryChange, EntryRecord, archive_records, compare_archives, diff_records,
};
pub use entry::{EntryInfo, EntryKind};
pub use error::{BundleError, Result, UnsafeReason};
pub use new::{bundle_name, write_new_bundle};
