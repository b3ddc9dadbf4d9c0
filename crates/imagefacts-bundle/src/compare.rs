//! Entry-by-entry comparison of archives: what the verification after writing and the tests use.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::entry::EntryKind;
use crate::error::Result;
use crate::raw::{self, RawEntry, RawReader};

/// What identifies an archive entry: its header fields and digests of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRecord {
    /// Full name as stored (PAX or GNU long names applied), lossily decoded; empty for a PAX
    /// global header.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Mode field.
    pub mode: u32,
    /// Modification time (whole seconds).
    pub mtime: i64,
    /// Owner id.
    pub uid: u64,
    /// Group id.
    pub gid: u64,
    /// Link target of links.
    pub link_name: Option<String>,
    /// Data size.
    pub size: u64,
    /// sha256 (hex) of the data.
    pub data_sha256: String,
    /// sha256 (hex) of every header byte: extension records (GNU long names, PAX), the header
    /// block itself and sparse extension blocks. Equal digests mean byte-identical headers.
    pub header_sha256: String,
}

/// Streams the current entry of `reader`, passing every byte (data and padding) to `copy`, and
/// returns its record.
pub(crate) fn record_entry<R: Read>(
    reader: &mut RawReader<R>,
    entry: &RawEntry,
    mut copy: impl FnMut(&[u8]) -> Result<()>,
) -> Result<EntryRecord> {
    let mut hasher = Sha256::new();
    reader.data(|bytes, is_data| {
        if is_data {
            hasher.update(bytes);
        }
        copy(bytes)
    })?;
    Ok(EntryRecord {
        path: entry.name(),
        kind: entry.kind,
        mode: entry.mode,
        mtime: entry.mtime,
        uid: entry.uid,
        gid: entry.gid,
        link_name: entry
            .link
            .as_ref()
            .map(|l| String::from_utf8_lossy(l).into_owned()),
        size: entry.size,
        data_sha256: hex::encode(hasher.finalize()),
        header_sha256: hex::encode(Sha256::digest(&entry.header_bytes)),
    })
}

/// The records of every entry of the archive at `path` (gzipped or not), in archive order.
///
/// No safety check is made: this only reads and hashes.
///
/// # Errors
///
/// [`BundleError::Io`](crate::BundleError::Io) when the file cannot be read,
/// [`BundleError::Corrupt`](crate::BundleError::Corrupt) when it is not a well-formed tar stream
/// (including a bad gzip trailer), [`BundleError::NotABundle`](crate::BundleError::NotABundle)
/// when it is empty.
pub fn archive_records(path: &Path) -> Result<Vec<EntryRecord>> {
    let (mut reader, _) = raw::open(path)?;
    let mut out = Vec::new();
    while let Some(entry) = reader.next_entry()? {
        out.push(record_entry(&mut reader, &entry, |_| Ok(()))?);
    }
    reader.finish()?;
    Ok(out)
}

/// How two lists of entries differ. Entries are matched by path (the n-th entry of a path with
/// the n-th entry of the same path in the other list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveDiff {
    /// Paths only in the first list.
    pub only_in_first: Vec<String>,
    /// Paths only in the second list.
    pub only_in_second: Vec<String>,
    /// Fields that differ between matched entries.
    pub changed: Vec<EntryChange>,
    /// Whether the matched entries come in another relative order in the second list.
    pub reordered: bool,
}

/// One field that differs between two matched entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryChange {
    /// The entry's path.
    pub path: String,
    /// The field (`kind`, `mode`, `mtime`, `uid`, `gid`, `link_name`, `size`, `data_sha256`,
    /// `header_sha256`).
    pub field: &'static str,
    /// The value in the first list.
    pub first: String,
    /// The value in the second list.
    pub second: String,
}

impl ArchiveDiff {
    /// Both lists hold the same entries, identical, in the same order.
    pub fn is_identical(&self) -> bool {
        self.only_in_second.is_empty() && self.is_first_preserved()
    }

    /// Every entry of the first list is in the second, identical, in the same relative order
    /// (the second may hold more).
    pub fn is_first_preserved(&self) -> bool {
        self.only_in_first.is_empty() && self.changed.is_empty() && !self.reordered
    }

    /// A one-line description of the first difference, if any.
    pub fn first_difference(&self) -> Option<(String, String)> {
        if let Some(p) = self.only_in_first.first() {
            return Some((p.clone(), "missing".into()));
        }
        if let Some(c) = self.changed.first() {
            return Some((
                c.path.clone(),
                format!("{} differs: {} vs {}", c.field, c.first, c.second),
            ));
        }
        if let Some(p) = self.only_in_second.first() {
            return Some((p.clone(), "unexpected entry".into()));
        }
        self.reordered
            .then(|| (String::new(), "entries are in another order".into()))
    }
}

/// Compares two lists of records entry by entry.
pub fn diff_records(first: &[EntryRecord], second: &[EntryRecord]) -> ArchiveDiff {
    let mut index: HashMap<(&str, usize), usize> = HashMap::new();
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (i, r) in second.iter().enumerate() {
        let n = count.entry(&r.path).or_default();
        index.insert((&r.path, *n), i);
        *n += 1;
    }
    let mut diff = ArchiveDiff::default();
    let mut matched = vec![false; second.len()];
    let mut last: Option<usize> = None;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for a in first {
        let n = seen.entry(&a.path).or_default();
        let key = (a.path.as_str(), *n);
        *n += 1;
        let Some(&j) = index.get(&key) else {
            diff.only_in_first.push(a.path.clone());
            continue;
        };
        matched[j] = true;
        if last.is_some_and(|l| j < l) {
            diff.reordered = true;
        }
        last = Some(j);
        let b = &second[j];
        let mut field = |name: &'static str, x: String, y: String| {
            if x != y {
                diff.changed.push(EntryChange {
                    path: a.path.clone(),
                    field: name,
                    first: x,
                    second: y,
                });
            }
        };
        field("kind", a.kind.as_str().into(), b.kind.as_str().into());
        field("mode", format!("{:o}", a.mode), format!("{:o}", b.mode));
        field("mtime", a.mtime.to_string(), b.mtime.to_string());
        field("uid", a.uid.to_string(), b.uid.to_string());
        field("gid", a.gid.to_string(), b.gid.to_string());
        field(
            "link_name",
            format!("{:?}", a.link_name),
            format!("{:?}", b.link_name),
        );
        field("size", a.size.to_string(), b.size.to_string());
        field("data_sha256", a.data_sha256.clone(), b.data_sha256.clone());
        field(
            "header_sha256",
            a.header_sha256.clone(),
            b.header_sha256.clone(),
        );
    }
    diff.only_in_second = second
        .iter()
        .zip(&matched)
        .filter(|(_, m)| !**m)
        .map(|(r, _)| r.path.clone())
        .collect();
    diff
}

/// Reads two archives and compares them entry by entry (see [`diff_records`]).
///
/// # Errors
///
/// As [`archive_records`], for either archive.
pub fn compare_archives(first: &Path, second: &Path) -> Result<ArchiveDiff> {
    Ok(diff_records(
        &archive_records(first)?,
        &archive_records(second)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str, data: &str) -> EntryRecord {
        EntryRecord {
            path: path.into(),
            kind: EntryKind::File,
            mode: 0o644,
            mtime: 1,
            uid: 0,
            gid: 0,
            link_name: None,
            size: 1,
            data_sha256: data.into(),
            header_sha256: "h".into(),
        }
    }

    #[test]
    fn differences() {
        let a = vec![rec("t/a", "1"), rec("t/b", "2")];
        assert!(diff_records(&a, &a).is_identical());
        let mut more = a.clone();
        more.push(rec("t/c", "3"));
        let d = diff_records(&a, &more);
        assert!(d.is_first_preserved() && !d.is_identical());
        assert_eq!(d.only_in_second, ["t/c"]);
        let swapped = vec![a[1].clone(), a[0].clone()];
        assert!(diff_records(&a, &swapped).reordered);
        let mut changed = a.clone();
        changed[1].mode = 0o600;
        let d = diff_records(&a, &changed);
        assert_eq!(d.changed[0].field, "mode");
        assert!(!d.is_first_preserved());
        let d = diff_records(&a, &a[..1]);
        assert_eq!(d.only_in_first, ["t/b"]);
    }
}
