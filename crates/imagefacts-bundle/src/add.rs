//! Adding files to an existing bundle without changing a byte of what it holds.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::atomic::{AtomicFile, parent_dir};
use crate::bundle::{Bundle, BundleFormat};
use crate::compare::{EntryRecord, archive_records, diff_records, record_entry};
use crate::dirbundle;
use crate::entry::EntryKind;
use crate::error::{BundleError, Result};
use crate::raw::{self, Compression};
use crate::safety;
use crate::tarwrite::{NewEntry, TarSink, write_entry};

/// A file to put in a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Path relative to the bundle's top directory, `/`-separated (`image-facts/facts.json`).
    pub path: String,
    /// Contents.
    pub bytes: Vec<u8>,
    /// Permission bits (`0o644`).
    pub mode: u32,
}

impl BundleFile {
    /// A file with mode `0o644`.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> BundleFile {
        BundleFile {
            path: path.into(),
            bytes: bytes.into(),
            mode: 0o644,
        }
    }
}

/// What [`add_to_bundle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddReport {
    /// The bundle written (the input itself when replaced in place).
    pub output: PathBuf,
    /// How it is stored.
    pub format: BundleFormat,
    /// Whether the input itself was replaced.
    pub in_place: bool,
    /// The bundle's top directory.
    pub top_dir: String,
    /// Entries of the input kept unchanged (for a directory in place: entries left untouched).
    pub preserved_entries: usize,
    /// Entries of the input dropped because `force` replaced them (paths below the top directory).
    pub replaced: Vec<String>,
    /// Files added (paths below the top directory).
    pub added: Vec<String>,
}

/// The files to add, checked, with the directories they need.
pub(crate) struct Plan<'a> {
    pub(crate) files: &'a [BundleFile],
    /// Directories to create, parents first (`image-facts`, `image-facts/x`).
    pub(crate) dirs: Vec<String>,
    /// Distinct first components of the files' paths: what they replace in a bundle.
    pub(crate) roots: HashSet<String>,
}

/// Checks `files` and lists the directories they need.
pub(crate) fn plan(files: &[BundleFile]) -> Result<Plan<'_>> {
    let invalid = |f: &BundleFile, reason: String| BundleError::InvalidFile {
        file: f.path.clone(),
        reason,
    };
    let mut dirs: Vec<String> = Vec::new();
    let mut dir_set = HashSet::new();
    let mut file_set = HashSet::new();
    for f in files {
        let parts = safety::check_new_path(&f.path).map_err(|r| invalid(f, r))?;
        if f.mode > 0o7777 {
            return Err(invalid(
                f,
                format!("mode {:o} is not a permission mode", f.mode),
            ));
        }
        if !file_set.insert(f.path.as_str()) {
            return Err(invalid(f, "it is given twice".into()));
        }
        for n in 1..parts.len() {
            let dir = parts[..n].join("/");
            if dir_set.insert(dir.clone()) {
                dirs.push(dir);
            }
        }
    }
    if let Some(f) = files.iter().find(|f| dir_set.contains(&f.path)) {
        return Err(invalid(
            f,
            "it is also the directory of another file".into(),
        ));
    }
    let roots = safety::roots(files.iter().map(|f| f.path.as_str()))
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(Plan { files, dirs, roots })
}

impl Plan<'_> {
    /// Whether `relative` (a path below the top directory) is replaced by the new files.
    pub(crate) fn replaces(&self, relative: &[u8]) -> bool {
        let first = relative.split(|b| *b == b'/').next().unwrap_or_default();
        !relative.is_empty() && self.roots.iter().any(|r| r.as_bytes() == first)
    }

    /// The added file paths, for reports.
    pub(crate) fn added(&self) -> Vec<String> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }
}

/// Seconds since the epoch, now.
pub(crate) fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Writes the plan's directories (0755) and files under `top`, all with `mtime`, owned by 0:0.
pub(crate) fn append_new(
    out: &mut impl Write,
    top: &[u8],
    plan: &Plan<'_>,
    mtime: i64,
) -> io::Result<Vec<EntryRecord>> {
    let full = |rel: &str| {
        let mut p = top.to_vec();
        p.push(b'/');
        p.extend_from_slice(rel.as_bytes());
        p
    };
    let mut records = Vec::new();
    for dir in &plan.dirs {
        let path = full(dir);
        let e = NewEntry::directory(&path, mtime);
        records.push(write_entry(out, &e, &mut io::empty())?);
    }
    for f in plan.files {
        let path = full(&f.path);
        let e = NewEntry {
            path: &path,
            kind: EntryKind::File,
            mode: f.mode,
            mtime,
            uid: 0,
            gid: 0,
            size: f.bytes.len() as u64,
            link: None,
        };
        records.push(write_entry(out, &e, &mut f.bytes.as_slice())?);
    }
    Ok(records)
}

/// Re-reads the archive at `path` and checks it holds exactly `expected`, compressed as asked.
pub(crate) fn verify(
    path: &Path,
    compression: Compression,
    expected: &[EntryRecord],
) -> Result<()> {
    let fail = |entry: String, reason: String| BundleError::Verification {
        path: path.to_owned(),
        entry,
        reason,
    };
    if raw::detect(path)? != compression {
        return Err(fail(
            String::new(),
            "the compression is not the one written".into(),
        ));
    }
    let actual = archive_records(path).map_err(|e| fail(String::new(), e.to_string()))?;
    let diff = diff_records(expected, &actual);
    match diff.first_difference() {
        None => Ok(()),
        Some((entry, reason)) => Err(fail(entry, reason)),
    }
}

/// The file an output path names: `output` itself, or `default_name` inside it when it is an
/// existing directory. Its directory must exist.
pub(crate) fn output_target(output: &Path, default_name: &str) -> Result<PathBuf> {
    let target = if output.is_dir() {
        output.join(default_name)
    } else {
        output.to_owned()
    };
    let bad = |reason: &str| BundleError::Output {
        path: target.clone(),
        reason: reason.into(),
    };
    if !parent_dir(&target).is_dir() {
        return Err(bad("its directory does not exist"));
    }
    if target.is_dir() {
        return Err(bad("it is a directory"));
    }
    Ok(target)
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Adds `files` to the bundle at `input`, under its own top directory.
///
/// - A `.tar.gz` or `.tar` input is rewritten entry by entry: every original entry is copied
///   with its raw header bytes (GNU long names, PAX records, modes, mtimes, owners, links) and
///   data unchanged and in order, then the new directories and files are appended, then the
///   end-of-archive blocks; the output is compressed like the input. It goes to a hidden
///   temporary file in the output's directory, which is fsynced, re-read and checked entry by
///   entry (every original entry identical, the new files present) before it is renamed over the
///   output. Without `output` the input itself is replaced that way. If `output` is an existing
///   directory, the file keeps the input's name in it.
/// - A directory input without `output` gets the files written in place: each top-level
///   directory of the new files (`image-facts/`) is built in a hidden temporary directory inside
///   the bundle, fsynced and checked, then renamed into place (atomically exchanged with the
///   existing one under `force`, which is then removed). With `output`, the directory plus the
///   new files is written as a `.tar.gz` to `output` (a file, or an existing directory where it is
///   named `<top directory>.tar.gz`), leaving the directory untouched.
///
/// Whatever fails, and even if the process is killed, the input is left as it was; hidden
/// temporary files may remain after a kill and are removed by the next run writing to the same
/// directory.
///
/// # Errors
///
/// Everything [`Bundle::open`] refuses, before anything is written;
/// [`BundleError::InvalidFile`] for a file path that is empty, absolute, has `.`/`..` or empty
/// components, is given twice, or (for a directory bundle) is not inside a subdirectory;
/// [`BundleError::AlreadyPresent`] when the bundle already holds the new files' top-level
/// directory (`image-facts/`) and `force` is false; [`BundleError::Output`] for an unusable
/// output path; [`BundleError::Io`] when writing fails; [`BundleError::Changed`] when the input
/// changes while it is copied; [`BundleError::Verification`] when the written archive does not
/// read back as expected.
pub fn add_to_bundle(
    input: &Path,
    output: Option<&Path>,
    files: &[BundleFile],
    force: bool,
) -> Result<AddReport> {
    plan(files)?;
    Bundle::open(input)?.add(output, files, force)
}

impl Bundle {
    /// [`add_to_bundle`] on a bundle already opened (and so already checked): the input is read
    /// once more, to be copied, and the output once, to be verified.
    ///
    /// # Errors
    ///
    /// As [`add_to_bundle`].
    pub fn add(
        &self,
        output: Option<&Path>,
        files: &[BundleFile],
        force: bool,
    ) -> Result<AddReport> {
        add_to_opened(self, output, files, force)
    }
}

fn add_to_opened(
    bundle: &Bundle,
    output: Option<&Path>,
    files: &[BundleFile],
    force: bool,
) -> Result<AddReport> {
    let plan = plan(files)?;
    let input = bundle.path();
    let replaced: Vec<String> = bundle
        .items()
        .iter()
        .filter_map(|i| i.relative.as_deref())
        .filter(|r| plan.replaces(r))
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect();
    if let Some(first) = replaced.first()
        && !force
    {
        return Err(BundleError::AlreadyPresent {
            path: input.to_owned(),
            entry: first.clone(),
        });
    }
    // With force, a kept hard link may not point at a dropped entry: it would dangle. (Hard link
    // targets were checked to be below the top directory.)
    for item in bundle.items() {
        let (Some(rel), Some(target)) = (&item.relative, &item.link) else {
            continue;
        };
        let target: Vec<&[u8]> = target
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect();
        let target_rel = target.get(1..).map(|t| t.join(&b'/')).unwrap_or_default();
        if item.kind == EntryKind::HardLink && !plan.replaces(rel) && plan.replaces(&target_rel) {
            return Err(BundleError::UnsupportedEntry {
                path: input.to_owned(),
                entry: String::from_utf8_lossy(&item.name).into_owned(),
                reason: format!(
                    "it is a hard link to {:?}, which would be replaced",
                    String::from_utf8_lossy(&target_rel)
                ),
            });
        }
    }
    if bundle.format() == BundleFormat::Directory {
        return match output {
            None => dirbundle::add_in_place(bundle, &plan, force, replaced),
            Some(o) => {
                let target = output_target(o, &format!("{}.tar.gz", bundle.top_dir()))?;
                dirbundle::pack(bundle, &target, &plan, replaced)
            }
        };
    }
    let default_name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (target, in_place) = match output {
        None => (input.to_owned(), true),
        Some(o) => {
            let target = output_target(o, &default_name)?;
            let same = same_file(input, &target);
            (target, same)
        }
    };
    let compression = match bundle.format() {
        BundleFormat::TarGz => Compression::Gzip,
        _ => Compression::None,
    };
    let atomic = AtomicFile::create(&target)?;
    let temp = atomic.path().to_owned();
    let write_err = |e: io::Error| BundleError::io("write", &temp, e);
    let mut sink = TarSink::new(atomic.file(), compression);
    let (mut reader, _) = raw::open(input)?;
    let mut expected = Vec::with_capacity(bundle.items().len() + files.len() + 1);
    for (i, item) in bundle.items().iter().enumerate() {
        let entry = bundle.next_same(&mut reader, i)?;
        if item.relative.as_deref().is_some_and(|r| plan.replaces(r)) {
            reader.skip_data()?;
            continue;
        }
        sink.write_all(&entry.header_bytes).map_err(write_err)?;
        expected.push(record_entry(&mut reader, &entry, |b| {
            sink.write_all(b).map_err(write_err)
        })?);
    }
    if reader.next_entry()?.is_some() {
        return Err(BundleError::Changed {
            path: input.to_owned(),
            reason: "it now holds more entries".into(),
        });
    }
    reader.finish()?;
    let preserved_entries = expected.len();
    expected
        .extend(append_new(&mut sink, bundle.top_bytes(), &plan, now_secs()).map_err(write_err)?);
    sink.finish().map_err(write_err)?;

    let meta =
        fs::metadata(input).map_err(|e| BundleError::io("read the metadata of", input, e))?;
    if in_place {
        // Keep the owner when run by root on someone else's bundle; otherwise not possible.
        let _ = std::os::unix::fs::fchown(atomic.file(), Some(meta.uid()), Some(meta.gid()));
    }
    atomic.verify_and_commit(meta.mode() & 0o7777, compression, &expected)?;
    Ok(AddReport {
        output: target,
        format: bundle.format(),
        in_place,
        top_dir: bundle.top_dir(),
        preserved_entries,
        replaced,
        added: plan.added(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let files = [
            BundleFile::new("image-facts/facts.json", "{}"),
            BundleFile::new("image-facts/ns/a-facts.json", "{}"),
        ];
        let p = plan(&files).unwrap();
        assert_eq!(p.dirs, ["image-facts", "image-facts/ns"]);
        assert!(p.replaces(b"image-facts"));
        assert!(p.replaces(b"image-facts/old.json"));
        assert!(!p.replaces(b"image-facts-old/x"));
        assert!(!p.replaces(b""));
        let twice = [BundleFile::new("a/b", ""), BundleFile::new("a/b", "")];
        assert!(plan(&twice).is_err());
        let dir_and_file = [BundleFile::new("a/b", ""), BundleFile::new("a/b/c", "")];
        assert!(plan(&dir_and_file).is_err());
        let mut bad_mode = BundleFile::new("a/b", "");
        bad_mode.mode = 0o100644;
        assert!(plan(&[bad_mode]).is_err());
    }

    #[test]
    fn verification_catches_a_difference() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        let files = [BundleFile::new("image-facts/facts.json", "{}")];
        let p = plan(&files).unwrap();
        let file = fs::File::create(&path).unwrap();
        let mut sink = TarSink::new(&file, Compression::None);
        let mut expected = append_new(&mut sink, b"top", &p, 5).unwrap();
        sink.finish().unwrap();
        verify(&path, Compression::None, &expected).unwrap();
        assert!(matches!(
            verify(&path, Compression::Gzip, &expected),
            Err(BundleError::Verification { .. })
        ));
        expected[1].data_sha256 = "0".repeat(64);
        let err = verify(&path, Compression::None, &expected).unwrap_err();
        assert!(
            matches!(&err, BundleError::Verification { entry, .. } if entry == "top/image-facts/facts.json"),
            "{err}"
        );
        expected.pop();
        assert!(
            verify(&path, Compression::None, &expected).is_err(),
            "an extra entry"
        );
    }
}
