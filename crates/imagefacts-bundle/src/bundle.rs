//! Opening a bundle (archive or directory), checking it and reading selected files in memory.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::dirbundle::{self, FsItem};
use crate::entry::{EntryInfo, EntryKind};
use crate::error::{BundleError, Result};
use crate::raw::{self, Compression, RawEntry, RawReader};
use crate::safety::{self, Candidate};

/// How a bundle is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleFormat {
    /// A gzipped tar archive (recognised by its magic bytes, whatever its name).
    TarGz,
    /// A plain tar archive.
    Tar,
    /// An extracted bundle: the directory is the bundle's top directory.
    Directory,
}

/// One entry as scanned.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Full name as stored (archives) or `<top>/<relative>` (directories).
    pub(crate) name: Vec<u8>,
    /// Path below the top directory (`b""` for the top directory itself); `None` for entries
    /// without a path.
    pub(crate) relative: Option<Vec<u8>>,
    /// What it is.
    pub(crate) kind: EntryKind,
    /// Data size.
    pub(crate) size: u64,
    /// Mode bits.
    pub(crate) mode: u32,
    /// Modification time.
    pub(crate) mtime: i64,
    /// Link target.
    pub(crate) link: Option<Vec<u8>>,
    /// sha256 of the raw header bytes (archives), to notice a change between two reads.
    pub(crate) header_sha256: [u8; 32],
    /// Where it is on disk (directories).
    pub(crate) fs: Option<FsItem>,
}

/// A file read from a bundle by [`Bundle::read_files`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFile {
    /// Path relative to the top directory (`cluster-resources/pods/default.json`).
    pub path: String,
    /// Its bytes, unless it is over the size cap.
    pub contents: FileContents,
}

/// The contents of a [`ReadFile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContents {
    /// The whole file.
    Bytes(Vec<u8>),
    /// The file is larger than the cap given; it was not read.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The cap.
        limit: u64,
    },
}

pub use imagefacts_model::files::{FileVisitor, NoFiles};

/// The data of the current archive entry as a [`Read`]; the first bundle error is kept.
struct EntryData<'a, R> {
    reader: &'a mut RawReader<R>,
    error: Option<BundleError>,
}

impl<R: Read> Read for EntryData<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.error.is_some() {
            return Err(std::io::Error::other("the bundle could not be read"));
        }
        self.reader.read_data(buf).map_err(|e| {
            let io = std::io::Error::other(e.to_string());
            self.error = Some(e);
            io
        })
    }
}

/// The path of an archive entry below its first component, when the name is plain (no `..`,
/// not absolute); what the safety check will later confirm.
fn relative_name(name: &[u8]) -> Option<String> {
    let parts = safety::components(name).ok()?;
    (parts.len() > 1).then(|| lossy(&parts[1..].join(&b'/')))
}

/// A support bundle opened for reading: every entry has been checked (see the crate docs), and
/// nothing has been extracted or written.
///
/// ```no_run
/// use imagefacts_bundle::{Bundle, FileContents};
///
/// let bundle = Bundle::open("support-bundle-2026-01-02T03_04_05.tar.gz".as_ref())?;
/// println!("top directory: {}", bundle.top_dir());
/// for file in bundle.read_files(|p| p.starts_with("cluster-resources/pods/"), 64 << 20)? {
///     if let FileContents::Bytes(bytes) = file.contents {
///         println!("{}: {} bytes", file.path, bytes.len());
///     }
/// }
/// # Ok::<(), imagefacts_bundle::BundleError>(())
/// ```
#[derive(Debug)]
pub struct Bundle {
    path: PathBuf,
    format: BundleFormat,
    top_dir: Vec<u8>,
    items: Vec<Item>,
    entries: Vec<EntryInfo>,
    entry_item: Vec<usize>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Bundle {
    /// Opens the bundle at `path`: a `.tar.gz` or plain `.tar` (told apart by their first bytes)
    /// or an extracted directory, which is then the bundle's top directory. An archive is read
    /// once, in memory; a directory is walked without following symbolic links.
    ///
    /// # Errors
    ///
    /// [`BundleError::Io`] when it cannot be read, [`BundleError::NotABundle`] when it is empty
    /// or not a tar stream, [`BundleError::Corrupt`] when the archive is malformed or truncated,
    /// [`BundleError::UnsafeEntry`] for an absolute name, a `..` component, an entry outside the
    /// single top directory, or a link resolving outside it, and
    /// [`BundleError::UnsupportedEntry`] for multi-volume archives and, in directories,
    /// sockets, FIFOs and devices.
    pub fn open(path: &Path) -> Result<Bundle> {
        Bundle::open_with(path, &mut NoFiles)
    }

    /// [`Bundle::open`], offering the regular files to `visitor` as they are read: an archive is
    /// read once for both. Nothing the visitor saw may be used unless this returns `Ok`.
    ///
    /// # Errors
    ///
    /// As [`Bundle::open`].
    pub fn open_with(path: &Path, visitor: &mut dyn FileVisitor) -> Result<Bundle> {
        let meta = fs::metadata(path).map_err(|e| BundleError::io("open", path, e))?;
        if meta.is_dir() {
            let (top, items) = dirbundle::scan(path)?;
            let bundle = Bundle::new(path, BundleFormat::Directory, top, items)?;
            bundle.visit_directory(visitor)?;
            return Ok(bundle);
        }
        let (mut reader, compression) = raw::open(path)?;
        let mut items = Vec::new();
        let mut top: Option<Vec<u8>> = None;
        loop {
            let entry = match reader.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                // Nothing reads as a tar entry: whatever it is, it is no bundle.
                Err(BundleError::Corrupt { .. }) if items.is_empty() => {
                    return Err(BundleError::NotABundle {
                        path: path.to_owned(),
                        reason: match compression {
                            Compression::Gzip => "it is gzipped, but not a tar archive".into(),
                            Compression::None => {
                                "it is neither a tar archive nor a gzipped one".into()
                            }
                        },
                    });
                }
                Err(e) => return Err(e),
            };
            items.push(item_of(&entry));
            if entry.kind != EntryKind::File {
                continue;
            }
            // Only entries under the first top directory seen; the safety check refuses others.
            let first = safety::components(&entry.path)
                .ok()
                .and_then(|p| p.first().map(|f| f.to_vec()));
            if first.is_some() && top.is_none() {
                top.clone_from(&first);
            }
            let Some(rel) = relative_name(&entry.path).filter(|_| first == top) else {
                continue;
            };
            if visitor.wants(&rel, entry.size) {
                let mut data = EntryData {
                    reader: &mut reader,
                    error: None,
                };
                visitor.visit(&rel, entry.size, &mut data);
                if let Some(e) = data.error {
                    return Err(e);
                }
            }
        }
        reader.finish()?;
        let candidates: Vec<Candidate<'_>> = items
            .iter()
            .map(|i| Candidate {
                name: &i.name,
                kind: i.kind,
                link: i.link.as_deref(),
            })
            .collect();
        let checked = safety::check(path, &candidates)?;
        for (item, rel) in items.iter_mut().zip(checked.relative) {
            item.relative = rel;
        }
        let format = match compression {
            Compression::Gzip => BundleFormat::TarGz,
            Compression::None => BundleFormat::Tar,
        };
        Bundle::new(path, format, checked.top, items)
    }

    fn new(path: &Path, format: BundleFormat, top: Vec<u8>, items: Vec<Item>) -> Result<Bundle> {
        let mut entries = Vec::new();
        let mut entry_item = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(rel) = &item.relative else { continue };
            if rel.is_empty() {
                continue;
            }
            entries.push(EntryInfo {
                path: lossy(rel),
                kind: item.kind,
                size: item.size,
                mode: item.mode,
                mtime: item.mtime,
                link_target: item.link.as_deref().map(lossy),
            });
            entry_item.push(i);
        }
        Ok(Bundle {
            path: path.to_owned(),
            format,
            top_dir: top,
            items,
            entries,
            entry_item,
        })
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How it is stored.
    pub fn format(&self) -> BundleFormat {
        self.format
    }

    /// The name of its top directory (`support-bundle-2026-01-02T03_04_05`); for a directory
    /// bundle, the directory's own name.
    pub fn top_dir(&self) -> String {
        lossy(&self.top_dir)
    }

    /// Its entries below the top directory, in archive order (directory walk order: sorted,
    /// parents first).
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    pub(crate) fn top_bytes(&self) -> &[u8] {
        &self.top_dir
    }

    pub(crate) fn items(&self) -> &[Item] {
        &self.items
    }

    /// Reads the regular files whose path (relative to the top directory) `wanted` accepts,
    /// in archive order. A file stored twice is read once, from its last copy (the one an
    /// extraction would keep); links, sparse files and special files are never read. A file
    /// larger than `max_file_bytes` is returned as [`FileContents::TooLarge`] without being read.
    ///
    /// # Errors
    ///
    /// [`BundleError::Io`] and [`BundleError::Corrupt`] as for [`Bundle::open`], and
    /// [`BundleError::Changed`] when the bundle is no longer what was opened.
    pub fn read_files(
        &self,
        mut wanted: impl FnMut(&str) -> bool,
        max_file_bytes: u64,
    ) -> Result<Vec<ReadFile>> {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (e, &i) in self.entries.iter().zip(&self.entry_item) {
            if e.kind == EntryKind::File {
                last.insert(&e.path, i);
            } else {
                last.remove(e.path.as_str());
            }
        }
        let mut selected: Vec<(usize, &str)> = last
            .into_iter()
            .filter(|(p, _)| wanted(p))
            .map(|(p, i)| (i, p))
            .collect();
        selected.sort_unstable();
        if selected.is_empty() {
            return Ok(Vec::new());
        }
        if self.format == BundleFormat::Directory {
            return selected
                .into_iter()
                .map(|(i, p)| {
                    let fs_item = self.items[i].fs.as_ref().expect("directory items have fs");
                    Ok(ReadFile {
                        path: p.to_owned(),
                        contents: dirbundle::read_file(&self.path, fs_item, max_file_bytes)?,
                    })
                })
                .collect();
        }
        let (mut reader, _) = raw::open(&self.path)?;
        let mut out = Vec::with_capacity(selected.len());
        let mut next = selected.into_iter().peekable();
        let mut index = 0;
        while let Some((want, path)) = next.peek().copied() {
            let entry = self.next_same(&mut reader, index)?;
            if index == want {
                next.next();
                let contents = if entry.size > max_file_bytes {
                    FileContents::TooLarge {
                        size: entry.size,
                        limit: max_file_bytes,
                    }
                } else {
                    let mut bytes = Vec::with_capacity(entry.size as usize);
                    reader.data(|b, is_data| {
                        if is_data {
                            bytes.extend_from_slice(b);
                        }
                        Ok(())
                    })?;
                    FileContents::Bytes(bytes)
                };
                out.push(ReadFile {
                    path: path.to_owned(),
                    contents,
                });
            }
            index += 1;
        }
        Ok(out)
    }

    /// Offers the regular files of a directory bundle to `visitor`, each opened without
    /// following links and checked to be the file scanned.
    fn visit_directory(&self, visitor: &mut dyn FileVisitor) -> Result<()> {
        for (e, &i) in self.entries.iter().zip(&self.entry_item) {
            if e.kind != EntryKind::File || !visitor.wants(&e.path, e.size) {
                continue;
            }
            let fs_item = self.items[i].fs.as_ref().expect("directory items have fs");
            let (file, size) = dirbundle::open_scanned(&self.path, fs_item)?;
            let mut error = None;
            let mut reader = ReadErrors {
                inner: std::io::BufReader::with_capacity(256 * 1024, file),
                path: &fs_item.abs,
                error: &mut error,
            };
            visitor.visit(&e.path, size, &mut reader);
            if let Some(err) = error {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Reads the entry number `index` from `reader` and checks it is the one scanned at open.
    pub(crate) fn next_same<R: Read>(
        &self,
        reader: &mut RawReader<R>,
        index: usize,
    ) -> Result<RawEntry> {
        let changed = |reason: String| BundleError::Changed {
            path: self.path.clone(),
            reason,
        };
        let entry = reader
            .next_entry()?
            .ok_or_else(|| changed(format!("it now ends after {index} entries")))?;
        let expected = self
            .items
            .get(index)
            .ok_or_else(|| changed(format!("it now holds more than {index} entries")))?;
        if Sha256::digest(&entry.header_bytes)[..] != expected.header_sha256[..] {
            return Err(changed(format!(
                "entry {index} ({:?}) differs from the first read",
                entry.name()
            )));
        }
        Ok(entry)
    }
}

/// A file's reader that keeps its first error as a bundle error.
struct ReadErrors<'a, R> {
    inner: R,
    path: &'a Path,
    error: &'a mut Option<BundleError>,
}

impl<R: Read> Read for ReadErrors<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if self.error.is_none() {
                *self.error = Some(BundleError::io(
                    "read",
                    self.path,
                    std::io::Error::new(e.kind(), e.to_string()),
                ));
            }
        })
    }
}

fn item_of(e: &RawEntry) -> Item {
    Item {
        name: e.path.clone(),
        relative: None,
        kind: e.kind,
        size: e.size,
        mode: e.mode,
        mtime: e.mtime,
        link: e.link.clone(),
        header_sha256: Sha256::digest(&e.header_bytes).into(),
        fs: None,
    }
}
