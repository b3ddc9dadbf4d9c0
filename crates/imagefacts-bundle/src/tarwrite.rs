//! Writing tar entries: ustar headers, with a PAX extended header before them when a name,
//! link target or number does not fit; gzip or plain output.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use flate2::Compression as Level;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use crate::compare::EntryRecord;
use crate::entry::EntryKind;
use crate::raw::{BLOCK, Compression, padded_len};

/// The output stream of an archive being written: plain or gzipped.
pub(crate) struct TarSink<'a> {
    inner: Sink<'a>,
}

enum Sink<'a> {
    Plain(BufWriter<&'a File>),
    Gzip(GzEncoder<BufWriter<&'a File>>),
}

impl<'a> TarSink<'a> {
    /// Writes to `file`, gzipped (at gzip's default level, like troubleshoot) or not.
    pub(crate) fn new(file: &'a File, compression: Compression) -> Self {
        let buffered = BufWriter::with_capacity(1024 * 1024, file);
        let inner = match compression {
            Compression::Gzip => Sink::Gzip(GzEncoder::new(buffered, Level::default())),
            Compression::None => Sink::Plain(buffered),
        };
        TarSink { inner }
    }

    /// Writes the end-of-archive marker (two zero blocks), ends the gzip stream and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.write_all(&[0u8; 2 * BLOCK])?;
        let mut buffered = match self.inner {
            Sink::Plain(w) => w,
            Sink::Gzip(gz) => gz.finish()?,
        };
        buffered.flush()
    }
}

impl Write for TarSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Sink::Plain(w) => w.write(buf),
            Sink::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Sink::Plain(w) => w.flush(),
            Sink::Gzip(w) => w.flush(),
        }
    }
}

/// An entry to write.
pub(crate) struct NewEntry<'a> {
    /// Full name inside the archive (a directory's without its trailing `/`).
    pub(crate) path: &'a [u8],
    /// File, directory or symbolic link.
    pub(crate) kind: EntryKind,
    /// Permission bits.
    pub(crate) mode: u32,
    /// Seconds since the epoch.
    pub(crate) mtime: i64,
    /// Owner.
    pub(crate) uid: u64,
    /// Group.
    pub(crate) gid: u64,
    /// Data size (files only).
    pub(crate) size: u64,
    /// Target (symbolic links only).
    pub(crate) link: Option<&'a [u8]>,
}

impl<'a> NewEntry<'a> {
    /// A directory owned by root, mode 0755: what imagefacts adds to bundles.
    pub(crate) fn directory(path: &'a [u8], mtime: i64) -> NewEntry<'a> {
        NewEntry {
            path,
            kind: EntryKind::Directory,
            mode: 0o755,
            mtime,
            uid: 0,
            gid: 0,
            size: 0,
            link: None,
        }
    }
}

const NAME: std::ops::Range<usize> = 0..100;
const MODE: std::ops::Range<usize> = 100..108;
const UID: std::ops::Range<usize> = 108..116;
const GID: std::ops::Range<usize> = 116..124;
const SIZE: std::ops::Range<usize> = 124..136;
const MTIME: std::ops::Range<usize> = 136..148;
const CKSUM: std::ops::Range<usize> = 148..156;
const TYPE: usize = 156;
const LINK: std::ops::Range<usize> = 157..257;
const MAGIC: std::ops::Range<usize> = 257..265;
const PREFIX: std::ops::Range<usize> = 345..500;

/// Writes `value` as zero-padded octal filling `field` but its last byte (NUL); `false` when
/// it does not fit.
fn octal(field: &mut [u8], value: u64) -> bool {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return false;
    }
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
    true
}

/// One PAX record `"<len> <key>=<value>\n"`, its length counting itself.
pub(crate) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut len = base + 1;
    while len != base + len.to_string().len() {
        len = base + len.to_string().len();
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// Splits `path` into a ustar (prefix, name) pair, when possible.
fn ustar_split(path: &[u8]) -> Option<(&[u8], &[u8])> {
    if path.len() <= NAME.len() {
        return Some((&[], path));
    }
    path.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| (&path[..i], &path[i + 1..]))
        .find(|(prefix, name)| {
            prefix.len() <= PREFIX.len() && !name.is_empty() && name.len() <= NAME.len()
        })
}

fn block(
    name: &[u8],
    prefix: &[u8],
    type_flag: u8,
    fields: [(std::ops::Range<usize>, u64); 5],
    link: &[u8],
) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[NAME][..name.len()].copy_from_slice(name);
    b[PREFIX][..prefix.len()].copy_from_slice(prefix);
    for (range, value) in fields {
        // Callers pass values that fit, or 0 with a PAX record carrying the real value.
        octal(&mut b[range], value);
    }
    b[TYPE] = type_flag;
    b[LINK][..link.len()].copy_from_slice(link);
    b[MAGIC].copy_from_slice(b"ustar\x0000");
    b[CKSUM].fill(b' ');
    let sum: u64 = b.iter().map(|x| u64::from(*x)).sum();
    let text = format!("{sum:06o}\0 ");
    b[CKSUM].copy_from_slice(text.as_bytes());
    b
}

/// Every header byte of `e`: a PAX extended header when needed, then the ustar header.
pub(crate) fn encode_header(e: &NewEntry<'_>) -> Vec<u8> {
    let mut path = e.path.to_vec();
    if e.kind == EntryKind::Directory {
        path.push(b'/');
    }
    let mut pax = Vec::new();
    let (prefix, name) = match ustar_split(&path) {
        Some(split) => split,
        None => {
            pax.extend(pax_record("path", &path));
            (&[][..], &path[..path.len().min(NAME.len())])
        }
    };
    let link = e.link.unwrap_or_default();
    let link_field = if link.len() > LINK.len() {
        pax.extend(pax_record("linkpath", link));
        &link[..LINK.len()]
    } else {
        link
    };
    let mut number = |key: &str, value: u64, digits: u32| -> u64 {
        if value < 8u64.pow(digits) {
            value
        } else {
            pax.extend(pax_record(key, value.to_string().as_bytes()));
            0
        }
    };
    let uid = number("uid", e.uid, 7);
    let gid = number("gid", e.gid, 7);
    let size = number("size", e.size, 11);
    let mtime = match u64::try_from(e.mtime) {
        Ok(m) if m < 8u64.pow(11) => m,
        _ => {
            pax.extend(pax_record("mtime", e.mtime.to_string().as_bytes()));
            0
        }
    };
    let type_flag = match e.kind {
        EntryKind::Directory => b'5',
        EntryKind::Symlink => b'2',
        _ => b'0',
    };
    let main = block(
        name,
        prefix,
        type_flag,
        [
            (MODE, u64::from(e.mode & 0o7_777_777)),
            (UID, uid),
            (GID, gid),
            (SIZE, size),
            (MTIME, mtime),
        ],
        link_field,
    );
    let mut out = Vec::with_capacity(BLOCK * 3);
    if !pax.is_empty() {
        // Named inside the entry's own directory, so that a reader without PAX support
        // extracts it there rather than beside the bundle.
        let (dir, base) = match path.iter().rposition(|b| *b == b'/') {
            Some(i) if i + 1 < path.len() => (&path[..i], &path[i + 1..]),
            _ => (&[][..], &path[..]),
        };
        let base = &base[..base.len().min(NAME.len())];
        let top = path.split(|b| *b == b'/').next().unwrap_or_default();
        let pax_name = [dir, top, b""]
            .iter()
            .map(|d| {
                let mut n = d.to_vec();
                if !n.is_empty() {
                    n.push(b'/');
                }
                n.extend_from_slice(b"PaxHeaders.0/");
                n.extend_from_slice(base);
                n
            })
            .find(|n| ustar_split(n).is_some())
            .unwrap_or_else(|| b"PaxHeaders.0/entry".to_vec());
        let (pax_prefix, pax_short) =
            ustar_split(&pax_name).unwrap_or((&[][..], b"PaxHeaders.0/entry".as_slice()));
        out.extend_from_slice(&block(
            pax_short,
            pax_prefix,
            b'x',
            [
                (MODE, 0o644),
                (UID, 0),
                (GID, 0),
                (SIZE, pax.len() as u64),
                (MTIME, mtime),
            ],
            b"",
        ));
        let padded = padded_len(pax.len() as u64) as usize;
        pax.resize(padded, 0);
        out.extend_from_slice(&pax);
    }
    out.extend_from_slice(&main);
    out
}

/// Writes the entry `e` with `data` (exactly `e.size` bytes are expected) and returns its
/// record. `data` yielding fewer or more bytes is an `InvalidData` error.
pub(crate) fn write_entry(
    out: &mut impl Write,
    e: &NewEntry<'_>,
    data: &mut dyn Read,
) -> io::Result<EntryRecord> {
    let header = encode_header(e);
    out.write_all(&header)?;
    let mut hasher = Sha256::new();
    let mut left = e.size;
    let mut buf = vec![0u8; 128 * 1024];
    while left > 0 {
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = data.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "file shrank while being read",
            ));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        left -= n as u64;
    }
    if data.read(&mut buf[..1])? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "file grew while being read",
        ));
    }
    let pad = (padded_len(e.size) - e.size) as usize;
    out.write_all(&[0u8; BLOCK][..pad])?;
    let mut name = e.path.to_vec();
    if e.kind == EntryKind::Directory {
        name.push(b'/');
    }
    Ok(EntryRecord {
        path: String::from_utf8_lossy(&name).into_owned(),
        kind: e.kind,
        mode: e.mode & 0o7_777_777,
        mtime: e.mtime,
        uid: e.uid,
        gid: e.gid,
        link_name: e.link.map(|l| String::from_utf8_lossy(l).into_owned()),
        size: e.size,
        data_sha256: hex::encode(hasher.finalize()),
        header_sha256: hex::encode(Sha256::digest(&header)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw::{RawReader, parse_pax};

    fn roundtrip(e: &NewEntry<'_>, data: &[u8]) -> crate::raw::RawEntry {
        let mut buf = Vec::new();
        write_entry(&mut buf, e, &mut &data[..]).unwrap();
        buf.extend_from_slice(&[0u8; 1024]);
        let mut r = RawReader::new(&buf[..], std::path::Path::new("t"));
        let got = r.next_entry().unwrap().unwrap();
        let mut read = Vec::new();
        r.data(|b, is_data| {
            if is_data {
                read.extend_from_slice(b);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(read, data);
        assert!(r.next_entry().unwrap().is_none());
        // tar's own reader agrees.
        let mut archive = tar::Archive::new(&buf[..]);
        let mut entries = archive.entries().unwrap();
        let entry = entries.next().unwrap().unwrap();
        assert_eq!(&*entry.path_bytes(), got.path.as_slice());
        assert_eq!(entry.header().mode().unwrap(), got.mode);
        got
    }

    fn file<'a>(path: &'a [u8], size: u64) -> NewEntry<'a> {
        NewEntry {
            path,
            kind: EntryKind::File,
            mode: 0o644,
            mtime: 1_767_323_045,
            uid: 0,
            gid: 0,
            size,
            link: None,
        }
    }

    #[test]
    fn short_long_and_odd_entries() {
        let got = roundtrip(&file(b"top/image-facts/facts.json", 3), b"abc");
        assert_eq!(got.path, b"top/image-facts/facts.json");
        assert_eq!(got.mtime, 1_767_323_045);

        let long = format!("top/image-facts/{}/facts.json", "n".repeat(120));
        let got = roundtrip(&file(long.as_bytes(), 0), b"");
        assert_eq!(got.path, long.as_bytes());
        assert_eq!(got.header_bytes.len(), 512, "fits ustar prefix + name");

        let very_long = format!("top/{}", "x".repeat(300));
        let got = roundtrip(&file(very_long.as_bytes(), 1), b"z");
        assert_eq!(got.path, very_long.as_bytes());
        assert!(got.header_bytes.len() > 512, "needs a PAX header");

        let mut odd = file("top/d/caf\u{e9}".as_bytes(), 0);
        odd.mtime = -5;
        odd.uid = 1 << 40;
        let got = roundtrip(&odd, b"");
        assert_eq!((got.mtime, got.uid), (-5, 1 << 40));

        let target = "../".repeat(10) + &"t".repeat(100);
        let link = NewEntry {
            kind: EntryKind::Symlink,
            link: Some(target.as_bytes()),
            ..file(b"top/l", 0)
        };
        let got = roundtrip(&link, b"");
        assert_eq!(got.link.as_deref(), Some(target.as_bytes()));
        let dir = NewEntry {
            kind: EntryKind::Directory,
            mode: 0o755,
            ..file(b"top/image-facts", 0)
        };
        assert_eq!(roundtrip(&dir, b"").path, b"top/image-facts/");
    }

    #[test]
    fn pax_record_lengths() {
        for value in [
            "",
            "x",
            "caf\u{e9}/x.json",
            &"y".repeat(95),
            &"z".repeat(994),
        ] {
            let rec = pax_record("path", value.as_bytes());
            let parsed = parse_pax(&rec).unwrap();
            assert_eq!(parsed, vec![(b"path".to_vec(), value.as_bytes().to_vec())]);
        }
    }

    #[test]
    fn short_data_is_an_error() {
        let mut out = Vec::new();
        let err = write_entry(&mut out, &file(b"top/f", 5), &mut &b"abc"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = write_entry(&mut out, &file(b"top/f", 2), &mut &b"abc"[..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
