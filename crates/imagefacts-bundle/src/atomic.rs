//! Atomic replacement of files and directories, and the cleanup of what a killed run left.
//!
//! Temporary names are hidden and never end in `.tar.gz` or `.tar`:
//! `.<final name>.imagefacts-tmp.<8 random characters>` (a file beside an archive being written,
//! or a directory inside a directory bundle). The writer holds an exclusive `flock` on each while
//! it exists. After a crash (even `SIGKILL`) the kernel drops the lock, so the next run of any
//! writer in that directory removes the leftovers it can lock (files beside archives, directories
//! inside directory bundles); those of a live writer stay locked and are left alone. Readers skip
//! these names.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempDir};

use crate::error::{BundleError, Result};

/// Marker between the final name and the random part.
const TMP: &str = ".imagefacts-tmp.";
/// Marker of an old directory renamed aside (the fallback when an atomic exchange is unsupported).
const OLD: &str = ".imagefacts-old.";
/// Length of the random part.
const RAND: usize = 8;

/// Whether `name` is one of this crate's temporary names.
pub(crate) fn is_temp_name(name: &[u8]) -> bool {
    if name.first() != Some(&b'.') || name.len() < 1 + TMP.len() + RAND + 1 {
        return false;
    }
    let (head, tail) = name.split_at(name.len() - RAND);
    tail.iter().all(u8::is_ascii_alphanumeric)
        && (head.ends_with(TMP.as_bytes()) || head.ends_with(OLD.as_bytes()))
}

fn temp_prefix(final_name: &str) -> String {
    format!(".{final_name}{TMP}")
}

/// What [`remove_stale`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stale {
    /// Temporary archive files.
    Files,
    /// Temporary directories (inside a directory bundle).
    Dirs,
}

/// Removes the temporary files or directories in `dir` that no live writer holds. Best effort:
/// every error is ignored.
pub(crate) fn remove_stale(dir: &Path, what: Stale) {
    let Ok(list) = fs::read_dir(dir) else { return };
    for item in list.flatten() {
        use std::os::unix::ffi::OsStrExt;
        if !is_temp_name(item.file_name().as_bytes()) {
            continue;
        }
        let path = item.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let wanted = match what {
            Stale::Files => meta.is_file(),
            Stale::Dirs => meta.is_dir(),
        };
        if !wanted {
            continue;
        }
        // A directory can be opened read-only and locked like a file.
        let Ok(handle) = File::open(&path) else {
            continue;
        };
        if handle.try_lock().is_ok() {
            let _ = if meta.is_dir() {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
        }
    }
}

/// Fsyncs a directory, so that renames in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BundleError::io("sync the directory", dir, e))
}

/// The directory a file path lives in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file beside `target`, renamed over it by [`AtomicFile::commit`] and removed when
/// dropped uncommitted: the target is either untouched or wholly replaced, even when the process
/// is killed (`SIGKILL`) half-way. The temporary file is hidden and locked while it lives; the
/// next [`AtomicFile::create`] in that directory removes what a killed writer left.
///
/// ```
/// use std::io::Write as _;
///
/// let dir = tempfile::tempdir().unwrap();
/// let target = dir.path().join("facts.json");
/// let file = imagefacts_bundle::AtomicFile::create(&target).unwrap();
/// file.file().write_all(b"{}").unwrap();
/// file.commit().unwrap();
/// assert_eq!(std::fs::read(&target).unwrap(), b"{}");
/// ```
pub struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
}

impl AtomicFile {
    /// Cleans stale temporary files beside `target`, then creates and locks a new one.
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .ok_or_else(|| BundleError::Output {
                path: target.to_owned(),
                reason: "the path has no file name".into(),
            })?
            .to_string_lossy()
            .into_owned();
        remove_stale(&dir, Stale::Files);
        let temp = tempfile::Builder::new()
            .prefix(&temp_prefix(&name))
            .rand_bytes(RAND)
            .tempfile_in(&dir)
            .map_err(|e| BundleError::io("create a temporary file in", &dir, e))?;
        // Held until the file is renamed or removed; on filesystems without locks, stale files
        // are simply never removed.
        let _ = temp.as_file().try_lock();
        Ok(AtomicFile {
            temp,
            target: target.to_owned(),
        })
    }

    /// The open temporary file, to write to (`&File` is `Write`).
    pub fn file(&self) -> &File {
        self.temp.as_file()
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        self.temp.path()
    }

    /// Gives the file its final `mode`, re-reads it to check that it holds exactly `expected`
    /// (compressed as asked), then commits it.
    pub(crate) fn verify_and_commit(
        self,
        mode: u32,
        compression: crate::raw::Compression,
        expected: &[crate::compare::EntryRecord],
    ) -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let temp = self.path().to_owned();
        self.file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| BundleError::io("set the permissions of", &temp, e))?;
        crate::add::verify(&temp, compression, expected)?;
        self.commit()
    }

    /// Fsyncs the file, renames it over the target and fsyncs the directory.
    pub fn commit(self) -> Result<()> {
        let temp_path = self.temp.path().to_owned();
        self.temp
            .as_file()
            .sync_all()
            .map_err(|e| BundleError::io("sync", &temp_path, e))?;
        let file = self.temp.persist(&self.target).map_err(|e| {
            BundleError::io(
                "rename the finished temporary file to",
                &self.target,
                e.error,
            )
        })?;
        sync_dir(&parent_dir(&self.target))?;
        drop(file);
        Ok(())
    }
}

/// A temporary directory inside `parent`, locked while it lives, removed when dropped unless
/// kept.
pub(crate) struct LockedTempDir {
    dir: TempDir,
    _lock: File,
}

impl LockedTempDir {
    /// Creates `.<final_name>.tmp.XXXXXXXX` in `parent`.
    pub(crate) fn create(parent: &Path, final_name: &str) -> Result<LockedTempDir> {
        let dir = tempfile::Builder::new()
            .prefix(&temp_prefix(final_name))
            .rand_bytes(RAND)
            .tempdir_in(parent)
            .map_err(|e| BundleError::io("create a temporary directory in", parent, e))?;
        let lock = File::open(dir.path()).map_err(|e| BundleError::io("open", dir.path(), e))?;
        let _ = lock.try_lock();
        Ok(LockedTempDir { dir, _lock: lock })
    }

    /// Its path.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Stops removing it on drop (it was renamed away, or holds what must now be removed) and
    /// releases the lock.
    pub(crate) fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

/// Renames `from` to `to` (directories in the same parent): with `replace`, atomically exchanges
/// them when the kernel can (the old `to` then sits at `from`, to be removed by the caller);
/// without it, fails when `to` exists.
pub(crate) fn swap_into_place(from: &Path, to: &Path, replace: bool) -> Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    let err = |e: std::io::Error| BundleError::io("rename into place", to, e);
    let exists = fs::symlink_metadata(to).is_ok();
    let flags = if replace && exists {
        RenameFlags::EXCHANGE
    } else {
        RenameFlags::NOREPLACE
    };
    match renameat_with(CWD, from, CWD, to, flags) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            fallback_swap(from, to, replace && exists).map_err(err)
        }
        Err(e) => Err(err(e.into())),
    }
}

/// Two renames, for filesystems without `renameat2` flags: `to` is moved aside to a hidden
/// `.old.` name, then `from` takes its place, then the old one is moved to `from` (for the caller
/// to remove). A crash between the renames leaves the old directory under its hidden name.
fn fallback_swap(from: &Path, to: &Path, exists: bool) -> std::io::Result<()> {
    if !exists {
        if fs::symlink_metadata(to).is_ok() {
            return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
        }
        return fs::rename(from, to);
    }
    let parent = parent_dir(to);
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // `from` ends with its own random part: reuse it.
    let from_name = from.to_string_lossy();
    let random = &from_name[from_name.len().saturating_sub(RAND)..];
    let aside = parent.join(format!(".{name}{OLD}{random}"));
    fs::rename(to, &aside)?;
    if let Err(e) = fs::rename(from, to) {
        let _ = fs::rename(&aside, to);
        return Err(e);
    }
    fs::rename(&aside, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        assert!(is_temp_name(
            b".support-bundle-x.tar.gz.imagefacts-tmp.Ab3dE6gH"
        ));
        assert!(is_temp_name(b".image-facts.imagefacts-tmp.abcdefgh"));
        assert!(is_temp_name(b".image-facts.imagefacts-old.abcdefgh"));
        assert!(!is_temp_name(b"support-bundle-x.tar.gz"));
        assert!(!is_temp_name(b".support-bundle-x.tar.gz"));
        assert!(!is_temp_name(b".x.tmp.abcdefgh"), "another program's");
        assert!(!is_temp_name(b".x.imagefacts-tmp.abc"));
        assert!(!is_temp_name(b".x.imagefacts-tmp.abcdefg-"));
    }

    #[test]
    fn stale_files_are_removed_unless_locked() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(".b.tar.gz.imagefacts-tmp.AAAAAAAA");
        fs::write(&stale, b"x").unwrap();
        let stale_dir = dir.path().join(".image-facts.imagefacts-tmp.AAAAAAAA");
        fs::create_dir(&stale_dir).unwrap();
        let live = AtomicFile::create(&dir.path().join("b.tar.gz")).unwrap();
        assert!(!stale.exists());
        assert!(
            stale_dir.exists(),
            "directories are only removed inside directory bundles"
        );
        remove_stale(dir.path(), Stale::Dirs);
        assert!(!stale_dir.exists());
        let other = dir.path().join("keep.tar.gz");
        fs::write(&other, b"x").unwrap();
        remove_stale(dir.path(), Stale::Files);
        assert!(live.path().exists(), "a locked temp file stays");
        assert!(other.exists());
        let path = live.path().to_owned();
        drop(live);
        assert!(!path.exists(), "dropped uncommitted: removed");
    }
}
