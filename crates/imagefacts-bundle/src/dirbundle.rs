//! Directory bundles: an extracted bundle whose directory is the top directory.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::add::{AddReport, Plan, append_new, now_secs};
use crate::atomic::{self, AtomicFile, LockedTempDir};
use crate::bundle::{Bundle, BundleFormat, FileContents, Item};
use crate::entry::EntryKind;
use crate::error::{BundleError, Result};
use crate::raw::Compression;
use crate::safety::{self, Candidate};
use crate::tarwrite::{NewEntry, TarSink, write_entry};

/// Where a directory bundle's entry is on disk, and what it was when scanned.
#[derive(Debug, Clone)]
pub(crate) struct FsItem {
    pub(crate) abs: PathBuf,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

fn item(name: Vec<u8>, rel: Vec<u8>, abs: PathBuf, meta: &fs::Metadata, kind: EntryKind) -> Item {
    Item {
        name,
        relative: Some(rel),
        kind,
        size: if kind == EntryKind::File {
            meta.len()
        } else {
            0
        },
        mode: meta.mode() & 0o7777,
        mtime: meta.mtime(),
        link: None,
        header_sha256: [0; 32],
        fs: Some(FsItem {
            abs,
            dev: meta.dev(),
            ino: meta.ino(),
            uid: meta.uid(),
            gid: meta.gid(),
        }),
    }
}

/// Walks the directory bundle at `root` (sorted, parents first, symbolic links not followed,
/// this crate's temporary names skipped) and checks it like an archive.
pub(crate) fn scan(root: &Path) -> Result<(Vec<u8>, Vec<Item>)> {
    let canonical = fs::canonicalize(root).map_err(|e| BundleError::io("open", root, e))?;
    let top = canonical
        .file_name()
        .ok_or_else(|| BundleError::NotABundle {
            path: root.to_owned(),
            reason: "the directory has no name".into(),
        })?
        .as_bytes()
        .to_vec();
    let meta = fs::metadata(root).map_err(|e| BundleError::io("open", root, e))?;
    let mut items = vec![item(
        top.clone(),
        Vec::new(),
        root.to_owned(),
        &meta,
        EntryKind::Directory,
    )];
    walk(root, root, &top, &[], &mut items)?;
    let candidates: Vec<Candidate<'_>> = items
        .iter()
        .map(|i| Candidate {
            name: &i.name,
            kind: i.kind,
            link: i.link.as_deref(),
        })
        .collect();
    safety::check(root, &candidates)?;
    Ok((top, items))
}

fn walk(root: &Path, dir: &Path, top: &[u8], rel: &[u8], items: &mut Vec<Item>) -> Result<()> {
    let list = fs::read_dir(dir).map_err(|e| BundleError::io("list", dir, e))?;
    let mut names = Vec::new();
    for entry in list {
        names.push(
            entry
                .map_err(|e| BundleError::io("list", dir, e))?
                .file_name(),
        );
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for name in names {
        if rel.is_empty() && atomic::is_temp_name(name.as_bytes()) {
            continue;
        }
        let abs = dir.join(&name);
        let mut child = rel.to_vec();
        if !child.is_empty() {
            child.push(b'/');
        }
        child.extend_from_slice(name.as_bytes());
        let mut full = top.to_vec();
        full.push(b'/');
        full.extend_from_slice(&child);
        let meta = fs::symlink_metadata(&abs).map_err(|e| BundleError::io("read", &abs, e))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            items.push(item(
                full,
                child.clone(),
                abs.clone(),
                &meta,
                EntryKind::Directory,
            ));
            walk(root, &abs, top, &child, items)?;
        } else if ft.is_file() {
            items.push(item(full, child, abs, &meta, EntryKind::File));
        } else if ft.is_symlink() {
            let target = fs::read_link(&abs).map_err(|e| BundleError::io("read", &abs, e))?;
            let mut it = item(full, child, abs, &meta, EntryKind::Symlink);
            it.link = Some(target.as_os_str().as_bytes().to_vec());
            items.push(it);
        } else {
            return Err(BundleError::UnsupportedEntry {
                path: root.to_owned(),
                entry: String::from_utf8_lossy(&child).into_owned(),
                reason: "sockets, FIFOs and devices are not part of a bundle".into(),
            });
        }
    }
    Ok(())
}

/// Opens a scanned regular file without following a link, and checks it is the file scanned.
pub(crate) fn open_scanned(bundle: &Path, f: &FsItem) -> Result<(File, u64)> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        &f.abs,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| BundleError::io("open", &f.abs, e.into()))?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| BundleError::io("read", &f.abs, e))?;
    if meta.dev() != f.dev || meta.ino() != f.ino || !meta.is_file() {
        return Err(BundleError::Changed {
            path: bundle.to_owned(),
            reason: format!("{} was replaced", f.abs.display()),
        });
    }
    Ok((file, meta.len()))
}

/// Reads a scanned file of a directory bundle, up to `limit` bytes.
pub(crate) fn read_file(bundle: &Path, f: &FsItem, limit: u64) -> Result<FileContents> {
    let (file, size) = open_scanned(bundle, f)?;
    if size > limit {
        return Ok(FileContents::TooLarge { size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| BundleError::io("read", &f.abs, e))?;
    if bytes.len() as u64 > limit {
        return Ok(FileContents::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(FileContents::Bytes(bytes))
}

/// Writes the plan's files into the directory bundle: per top-level directory, in a locked
/// temporary directory that is checked and then renamed (or exchanged) into place.
pub(crate) fn add_in_place(
    bundle: &Bundle,
    plan: &Plan<'_>,
    force: bool,
    replaced: Vec<String>,
) -> Result<AddReport> {
    let dir = bundle.path();
    if let Some(f) = plan.files.iter().find(|f| !f.path.contains('/')) {
        return Err(BundleError::InvalidFile {
            file: f.path.clone(),
            reason: "in a directory bundle, files are added inside a subdirectory".into(),
        });
    }
    atomic::remove_stale(dir, atomic::Stale::Dirs);
    let mut roots: Vec<&String> = plan.roots.iter().collect();
    roots.sort();
    for root in roots {
        let final_path = dir.join(root);
        let exists = fs::symlink_metadata(&final_path).is_ok();
        if exists && !force {
            return Err(BundleError::AlreadyPresent {
                path: dir.to_owned(),
                entry: root.clone(),
            });
        }
        let temp = LockedTempDir::create(dir, root)?;
        build(temp.path(), root, plan)?;
        atomic::sync_dir(dir)?;
        atomic::swap_into_place(temp.path(), &final_path, force)?;
        let leftover = temp.keep();
        atomic::sync_dir(dir)?;
        // After an exchange the old directory sits at the temporary name.
        if let Ok(meta) = fs::symlink_metadata(&leftover) {
            let removed = if meta.is_dir() {
                fs::remove_dir_all(&leftover)
            } else {
                fs::remove_file(&leftover)
            };
            removed.map_err(|e| BundleError::io("remove the replaced", &leftover, e))?;
        }
    }
    Ok(AddReport {
        output: dir.to_owned(),
        format: BundleFormat::Directory,
        in_place: true,
        top_dir: bundle.top_dir(),
        preserved_entries: bundle.items().len() - replaced.len(),
        replaced,
        added: plan.added(),
    })
}

/// Creates the plan's directories and files below `root` inside `temp`, fsyncs and re-reads them.
fn build(temp: &Path, root: &str, plan: &Plan<'_>) -> Result<()> {
    let strip = |p: &str| -> Option<String> {
        p.strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_owned)
    };
    fs::set_permissions(temp, fs::Permissions::from_mode(0o755))
        .map_err(|e| BundleError::io("set the permissions of", temp, e))?;
    let mut dirs = vec![temp.to_owned()];
    for d in plan.dirs.iter().filter_map(|d| strip(d)) {
        let path = temp.join(&d);
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .map_err(|e| BundleError::io("create", &path, e))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
            .map_err(|e| BundleError::io("set the permissions of", &path, e))?;
        dirs.push(path);
    }
    for f in plan.files {
        let Some(rel) = strip(&f.path) else { continue };
        let path = temp.join(&rel);
        let write = || -> io::Result<()> {
            let mut out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            out.write_all(&f.bytes)?;
            out.set_permissions(fs::Permissions::from_mode(f.mode))?;
            out.sync_all()
        };
        write().map_err(|e| BundleError::io("write", &path, e))?;
        let back = fs::read(&path).map_err(|e| BundleError::io("read", &path, e))?;
        if Sha256::digest(&back) != Sha256::digest(&f.bytes) {
            return Err(BundleError::Verification {
                path: path.clone(),
                entry: f.path.clone(),
                reason: "the file does not read back as written".into(),
            });
        }
    }
    for d in dirs.iter().rev() {
        atomic::sync_dir(d)?;
    }
    Ok(())
}

/// Writes the directory bundle plus the plan's files as a `.tar.gz` at `target`.
pub(crate) fn pack(
    bundle: &Bundle,
    target: &Path,
    plan: &Plan<'_>,
    replaced: Vec<String>,
) -> Result<AddReport> {
    let input =
        fs::canonicalize(bundle.path()).map_err(|e| BundleError::io("open", bundle.path(), e))?;
    let out_dir = fs::canonicalize(atomic::parent_dir(target))
        .map_err(|e| BundleError::io("open", target, e))?;
    if out_dir.starts_with(&input) {
        return Err(BundleError::Output {
            path: target.to_owned(),
            reason: "it is inside the bundle directory being written".into(),
        });
    }
    let atomic = AtomicFile::create(target)?;
    let temp = atomic.path().to_owned();
    let write_err = |e: io::Error| BundleError::io("write", &temp, e);
    let mut sink = TarSink::new(atomic.file(), Compression::Gzip);
    let mut expected = Vec::new();
    for it in bundle.items() {
        let (Some(rel), Some(f)) = (&it.relative, &it.fs) else {
            continue;
        };
        if plan.replaces(rel) {
            continue;
        }
        let mut e = NewEntry {
            path: &it.name,
            kind: it.kind,
            mode: it.mode,
            mtime: it.mtime,
            uid: u64::from(f.uid),
            gid: u64::from(f.gid),
            size: 0,
            link: it.link.as_deref(),
        };
        let record = if it.kind == EntryKind::File {
            let (mut file, size) = open_scanned(bundle.path(), f)?;
            e.size = size;
            write_entry(&mut sink, &e, &mut file).map_err(|err| {
                if err.kind() == io::ErrorKind::InvalidData {
                    BundleError::Changed {
                        path: bundle.path().to_owned(),
                        reason: format!("{}: {err}", f.abs.display()),
                    }
                } else {
                    write_err(err)
                }
            })?
        } else {
            write_entry(&mut sink, &e, &mut io::empty()).map_err(write_err)?
        };
        expected.push(record);
    }
    let preserved_entries = expected.len();
    expected
        .extend(append_new(&mut sink, bundle.top_bytes(), plan, now_secs()).map_err(write_err)?);
    sink.finish().map_err(write_err)?;
    atomic.verify_and_commit(0o644, Compression::Gzip, &expected)?;
    Ok(AddReport {
        output: target.to_owned(),
        format: BundleFormat::TarGz,
        in_place: false,
        top_dir: bundle.top_dir(),
        preserved_entries,
        replaced,
        added: plan.added(),
    })
}
