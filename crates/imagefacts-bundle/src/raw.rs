//! A tar reader at the level of raw 512-byte blocks.
//!
//! Each logical entry comes with every byte of its header: the extension records before it
//! (GNU long name `L` and long link `K`, PAX `x`) with their data and padding, the header block
//! itself and the old-GNU sparse extension blocks after it. Its data and padding are then
//! streamed as they are. Copying both verbatim reproduces the entry byte for byte, whatever
//! format wrote it.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::entry::EntryKind;
use crate::error::{BundleError, Result};

/// tar's block size.
pub(crate) const BLOCK: usize = 512;
/// Largest extension record (long name, long link, PAX header) accepted.
const MAX_EXTENSION: u64 = 1024 * 1024;
/// Largest sum of an entry's header bytes (every extension record, the header block and old-GNU
/// sparse extension blocks): a stream of records that never reaches its entry is refused here.
const MAX_HEADER_BYTES: usize = 2 * 1024 * 1024;
/// Read buffer for data.
const CHUNK: usize = 128 * 1024;

/// How an archive file is compressed (detected from its first bytes, never from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    /// gzip (magic `1f 8b`).
    Gzip,
    /// A plain tar archive.
    None,
}

/// Detects the compression of the file at `path` from its magic bytes.
pub(crate) fn detect(path: &Path) -> Result<Compression> {
    let mut file = File::open(path).map_err(|e| BundleError::io("open", path, e))?;
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < magic.len() {
        match file.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(BundleError::io("read", path, e)),
        }
    }
    if got == 0 {
        return Err(BundleError::NotABundle {
            path: path.to_owned(),
            reason: "the file is empty".into(),
        });
    }
    Ok(if magic == [0x1f, 0x8b] {
        Compression::Gzip
    } else {
        Compression::None
    })
}

/// Opens the archive at `path` as a raw tar stream, decompressing when it is gzipped.
pub(crate) fn open(path: &Path) -> Result<(RawReader<Box<dyn Read>>, Compression)> {
    let compression = detect(path)?;
    let file = File::open(path).map_err(|e| BundleError::io("open", path, e))?;
    let buffered = BufReader::with_capacity(256 * 1024, file);
    let inner: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(MultiGzDecoder::new(buffered)),
        Compression::None => Box::new(buffered),
    };
    Ok((RawReader::new(inner, path), compression))
}

/// A logical entry: its raw header bytes and the fields they resolve to.
#[derive(Debug, Clone)]
pub(crate) struct RawEntry {
    /// Every header byte: extension records (with data and padding), the header block and
    /// sparse extension blocks; for a global header, its data too.
    pub(crate) header_bytes: Vec<u8>,
    /// What it is.
    pub(crate) kind: EntryKind,
    /// Full name: PAX `GNU.sparse.name` or `path`, else GNU long name, else ustar prefix + name.
    pub(crate) path: Vec<u8>,
    /// Link target of symbolic and hard links: PAX `linkpath`, GNU long link, or the header's.
    pub(crate) link: Option<Vec<u8>>,
    /// Bytes of data after the header (before padding).
    pub(crate) size: u64,
    /// Mode field.
    pub(crate) mode: u32,
    /// PAX `mtime` (whole seconds) or the header's.
    pub(crate) mtime: i64,
    /// PAX `uid` or the header's.
    pub(crate) uid: u64,
    /// PAX `gid` or the header's.
    pub(crate) gid: u64,
}

impl RawEntry {
    /// The entry's name for messages.
    pub(crate) fn name(&self) -> String {
        String::from_utf8_lossy(&self.path).into_owned()
    }
}

/// Extension records seen before a header.
#[derive(Default)]
struct Extensions {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Vec<PaxRecord>,
}

impl Extensions {
    fn pax(&self, key: &[u8]) -> Option<&[u8]> {
        self.pax
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// Reads raw entries from a tar stream.
pub(crate) struct RawReader<R> {
    inner: R,
    path: PathBuf,
    offset: u64,
    data_left: u64,
    pad_left: u64,
    done: bool,
    buf: Vec<u8>,
}

impl<R: Read> RawReader<R> {
    /// Reads the tar stream `inner`; `path` names it in errors.
    pub(crate) fn new(inner: R, path: &Path) -> Self {
        RawReader {
            inner,
            path: path.to_owned(),
            offset: 0,
            data_left: 0,
            pad_left: 0,
            done: false,
            buf: vec![0; CHUNK],
        }
    }

    fn corrupt(&self, offset: u64, reason: impl Into<String>) -> BundleError {
        BundleError::Corrupt {
            path: self.path.clone(),
            offset,
            reason: reason.into(),
        }
    }

    /// Fills `buf` completely; `Ok(false)` when the stream ended before its first byte.
    fn fill(&mut self, buf: &mut [u8]) -> Result<bool> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => {
                    return Err(self.corrupt(self.offset + got as u64, "truncated archive"));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(self.offset + got as u64, e)),
            }
        }
        self.offset += got as u64;
        Ok(true)
    }

    fn fill_all(&mut self, buf: &mut [u8]) -> Result<()> {
        if buf.is_empty() || self.fill(buf)? {
            Ok(())
        } else {
            Err(self.corrupt(self.offset, "truncated archive"))
        }
    }

    fn read_error(&self, offset: u64, e: io::Error) -> BundleError {
        match e.kind() {
            // What flate2 reports for bad or truncated gzip data.
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput => self.corrupt(offset, e.to_string()),
            _ => BundleError::io("read", self.path.clone(), e),
        }
    }

    /// Refuses an entry whose header bytes would pile up past [`MAX_HEADER_BYTES`].
    fn check_header_bytes(&self, total: u64, at: u64, name: &[u8]) -> Result<()> {
        if total <= MAX_HEADER_BYTES as u64 {
            return Ok(());
        }
        Err(self.corrupt(
            at,
            format!(
                "the headers of entry {:?} exceed {MAX_HEADER_BYTES} bytes (GNU long names, PAX records or sparse maps without end)",
                String::from_utf8_lossy(trim_nul(name))
            ),
        ))
    }

    /// Reads `size` bytes of extension data plus padding, appending all of it to `raw`.
    fn read_padded(&mut self, size: u64, raw: &mut Vec<u8>, name: &[u8]) -> Result<Vec<u8>> {
        if size > MAX_EXTENSION {
            return Err(self.corrupt(
                self.offset,
                format!(
                    "extension record {:?} of {size} bytes (limit {MAX_EXTENSION})",
                    String::from_utf8_lossy(trim_nul(name))
                ),
            ));
        }
        self.check_header_bytes(raw.len() as u64 + padded_len(size), self.offset, name)?;
        let padded = padded_len(size) as usize;
        let start = raw.len();
        raw.resize(start + padded, 0);
        let mut chunk = std::mem::take(raw);
        let res = self.fill_all(&mut chunk[start..]);
        *raw = chunk;
        res?;
        Ok(raw[start..start + size as usize].to_vec())
    }

    /// The next logical entry, `None` at the end-of-archive marker.
    pub(crate) fn next_entry(&mut self) -> Result<Option<RawEntry>> {
        if self.done {
            return Ok(None);
        }
        self.skip_data()?;
        let mut raw = Vec::with_capacity(BLOCK);
        let mut ext = Extensions::default();
        loop {
            let at = self.offset;
            let mut block = [0u8; BLOCK];
            if !self.fill(&mut block)? {
                return Err(self.corrupt(at, "the archive ends without its end-of-archive blocks"));
            }
            if block.iter().all(|b| *b == 0) {
                if !raw.is_empty() {
                    return Err(self.corrupt(at, "extension record not followed by an entry"));
                }
                self.done = true;
                return Ok(None);
            }
            check_checksum(&block).map_err(|reason| self.corrupt(at, reason))?;
            raw.extend_from_slice(&block);
            let name = block[..100].to_vec();
            self.check_header_bytes(raw.len() as u64, at, &name)?;
            let header = tar::Header::from_byte_slice(&block);
            let type_flag = block[156];
            let entry_size = numeric(&block[124..136], "size").map_err(|r| self.corrupt(at, r))?;
            match type_flag {
                b'L' | b'K' | b'x' => {
                    let data = self.read_padded(entry_size, &mut raw, &name)?;
                    match type_flag {
                        b'L' => ext.long_name = Some(trim_nul(&data).to_vec()),
                        b'K' => ext.long_link = Some(trim_nul(&data).to_vec()),
                        _ => ext
                            .pax
                            .extend(parse_pax(&data).map_err(|r| self.corrupt(at, r))?),
                    }
                }
                b'g' => {
                    if raw.len() > BLOCK {
                        return Err(self.corrupt(at, "global header after an extension record"));
                    }
                    let data = self.read_padded(entry_size, &mut raw, &name)?;
                    parse_pax(&data).map_err(|r| self.corrupt(at, r))?;
                    return Ok(Some(self.entry(raw, &block, &ext, 0, at)?));
                }
                b'M' | b'N' => {
                    return Err(BundleError::UnsupportedEntry {
                        path: self.path.clone(),
                        entry: String::from_utf8_lossy(&header.path_bytes()).into_owned(),
                        reason: format!("tar type {:?} is not supported", type_flag as char),
                    });
                }
                _ => {
                    if type_flag == b'S' && block[482] != 0 {
                        // Old GNU sparse map continued in extension blocks.
                        loop {
                            let mut more = [0u8; BLOCK];
                            self.fill_all(&mut more)?;
                            raw.extend_from_slice(&more);
                            self.check_header_bytes(raw.len() as u64, at, &name)?;
                            if more[504] == 0 {
                                break;
                            }
                        }
                    }
                    let entry = self.entry(raw, &block, &ext, entry_size, at)?;
                    self.data_left = entry.size;
                    self.pad_left = padded_len(entry.size) - entry.size;
                    return Ok(Some(entry));
                }
            }
        }
    }

    fn entry(
        &self,
        header_bytes: Vec<u8>,
        block: &[u8; BLOCK],
        ext: &Extensions,
        entry_size: u64,
        at: u64,
    ) -> Result<RawEntry> {
        let header = tar::Header::from_byte_slice(block);
        let type_flag = block[156];
        let field = |range: std::ops::Range<usize>, name: &str| {
            numeric(&block[range], name).map_err(|r| self.corrupt(at, r))
        };
        let pax_num = |key: &str| -> Result<Option<u64>> {
            ext.pax(key.as_bytes())
                .map(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse::<u64>().ok())
                        .ok_or_else(|| self.corrupt(at, format!("bad PAX {key}")))
                })
                .transpose()
        };
        let path = ext
            .pax(b"GNU.sparse.name")
            .or_else(|| ext.pax(b"path"))
            .map(<[u8]>::to_vec)
            .or_else(|| ext.long_name.clone())
            .unwrap_or_else(|| header.path_bytes().into_owned());
        let sparse =
            type_flag == b'S' || ext.pax.iter().any(|(k, _)| k.starts_with(b"GNU.sparse."));
        let mut kind = EntryKind::from_type_flag(type_flag);
        if sparse && type_flag != b'g' {
            kind = EntryKind::SparseFile;
        }
        let link = if matches!(type_flag, b'1' | b'2') {
            Some(
                ext.pax(b"linkpath")
                    .map(<[u8]>::to_vec)
                    .or_else(|| ext.long_link.clone())
                    .or_else(|| header.link_name_bytes().map(|l| l.into_owned()))
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        let size = if EntryKind::header_only(type_flag) {
            if entry_size != 0 {
                return Err(self.corrupt(
                    at,
                    format!(
                        "entry {:?} of type {:?} stores no data but its size is {entry_size}",
                        String::from_utf8_lossy(&path),
                        type_flag as char
                    ),
                ));
            }
            0
        } else if type_flag == b'g' {
            0
        } else {
            pax_num("size")?.unwrap_or(entry_size)
        };
        let mtime = match ext.pax(b"mtime") {
            Some(v) => parse_pax_time(v).ok_or_else(|| self.corrupt(at, "bad PAX mtime"))?,
            None => i64::try_from(field(136..148, "mtime")?).unwrap_or(i64::MAX),
        };
        Ok(RawEntry {
            header_bytes,
            kind,
            path,
            link,
            size,
            mode: u32::try_from(field(100..108, "mode")?)
                .map_err(|_| self.corrupt(at, "mode out of range"))?,
            mtime,
            uid: match pax_num("uid")? {
                Some(v) => v,
                None => field(108..116, "uid")?,
            },
            gid: match pax_num("gid")? {
                Some(v) => v,
                None => field(116..124, "gid")?,
            },
        })
    }

    /// Streams the current entry's data then its padding: `visit(bytes, true)` for data,
    /// `visit(bytes, false)` for padding.
    pub(crate) fn data(&mut self, mut visit: impl FnMut(&[u8], bool) -> Result<()>) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        let res = (|| {
            while self.data_left > 0 || self.pad_left > 0 {
                let is_data = self.data_left > 0;
                let left = if is_data {
                    self.data_left
                } else {
                    self.pad_left
                };
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                self.fill_all(&mut buf[..n])?;
                if is_data {
                    self.data_left -= n as u64;
                } else {
                    self.pad_left -= n as u64;
                }
                visit(&buf[..n], is_data)?;
            }
            Ok(())
        })();
        self.buf = buf;
        res
    }

    /// Reads up to `buf.len()` bytes of the current entry's data: 0 at its end (padding is left
    /// for [`RawReader::skip_data`]).
    pub(crate) fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.data_left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(self.data_left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        loop {
            match self.inner.read(&mut buf[..n]) {
                Ok(0) => return Err(self.corrupt(self.offset, "truncated archive")),
                Ok(k) => {
                    self.offset += k as u64;
                    self.data_left -= k as u64;
                    return Ok(k);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(self.offset, e)),
            }
        }
    }

    /// Skips what is left of the current entry's data.
    pub(crate) fn skip_data(&mut self) -> Result<()> {
        self.data(|_, _| Ok(()))
    }

    /// After the end-of-archive marker: reads the rest of the stream, so that gzip's trailer
    /// (CRC and length) is checked.
    pub(crate) fn finish(mut self) -> Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        loop {
            match self.inner.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.offset += n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(self.offset, e)),
            }
        }
    }
}

/// A numeric header field: octal text (NULs and spaces around it ignored, empty meaning 0, as
/// Go and GNU tar read it) or GNU's base-256 binary form.
fn numeric(field: &[u8], name: &str) -> Result<u64, String> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        if field[0] == 0xff {
            return Err(format!("negative {name} field"));
        }
        let mut value: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            value = value
                .checked_mul(256)
                .map(|v| v + u64::from(*b))
                .ok_or_else(|| format!("{name} field out of range"))?;
        }
        return Ok(value);
    }
    let text = std::str::from_utf8(field).map_err(|_| format!("{name} field is not octal"))?;
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| format!("{name} field is not octal: {text:?}"))
}

/// `size` rounded up to whole blocks.
pub(crate) fn padded_len(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64) * BLOCK as u64
}

fn trim_nul(data: &[u8]) -> &[u8] {
    let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    &data[..end]
}

/// Checks a header block's checksum (unsigned sum, or the signed sum some old tars wrote).
fn check_checksum(block: &[u8; BLOCK]) -> Result<(), String> {
    let field = &block[148..156];
    let text =
        std::str::from_utf8(field).map_err(|_| "header checksum is not octal".to_string())?;
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    let stored =
        i64::from_str_radix(text, 8).map_err(|_| "header checksum is not octal".to_string())?;
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    if stored == unsigned || stored == signed {
        Ok(())
    } else {
        Err(format!(
            "header checksum mismatch (stored {stored:o}, computed {unsigned:o})"
        ))
    }
}

/// A PAX record's key and value.
pub(crate) type PaxRecord = (Vec<u8>, Vec<u8>);

/// Parses PAX records `"<len> <key>=<value>\n"`.
pub(crate) fn parse_pax(mut data: &[u8]) -> Result<Vec<PaxRecord>, String> {
    let mut out = Vec::new();
    // Some writers pad the record area with NULs.
    while !data.is_empty() && data[0] != 0 {
        let space = data
            .iter()
            .position(|b| *b == b' ')
            .ok_or("PAX record without a length")?;
        let len: usize = std::str::from_utf8(&data[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("PAX record with a bad length")?;
        if len <= space + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err("PAX record with a bad length".into());
        }
        let record = &data[space + 1..len - 1];
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or("PAX record without `=`")?;
        out.push((record[..eq].to_vec(), record[eq + 1..].to_vec()));
        data = &data[len..];
    }
    Ok(out)
}

/// Whole seconds of a PAX time (`"1700000000.25"`, `"-5"`).
fn parse_pax_time(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let whole = s.split('.').next()?;
    if whole.is_empty() || whole == "-" {
        return Some(0);
    }
    whole.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_records_parse() {
        let mut data = b"30 mtime=1700000000.123456789\n".to_vec();
        data.extend(crate::tarwrite::pax_record(
            "path",
            "caf\u{e9}/x.json".as_bytes(),
        ));
        let recs = parse_pax(&data).unwrap();
        assert_eq!(recs[0].0, b"mtime");
        assert_eq!(recs[1].1, "café/x.json".as_bytes());
        assert_eq!(parse_pax_time(&recs[0].1), Some(1_700_000_000));
        assert_eq!(parse_pax_time(b"-12.5"), Some(-12));
        assert!(parse_pax(b"99 path=x\n").is_err());
        assert!(parse_pax(b"9 pathx\n").is_err());
    }

    #[test]
    fn numeric_fields() {
        assert_eq!(numeric(b"0000644\0", "mode"), Ok(0o644));
        assert_eq!(numeric(b" 644 \0\0\0", "mode"), Ok(0o644));
        assert_eq!(numeric(b"\0\0\0\0\0\0\0\0", "uid"), Ok(0));
        assert_eq!(
            numeric(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0], "size"),
            Ok(256)
        );
        assert!(numeric(b"12x\0", "uid").is_err());
        assert!(numeric(&[0xff; 12], "mtime").is_err());
    }

    #[test]
    fn padding() {
        assert_eq!(padded_len(0), 0);
        assert_eq!(padded_len(1), 512);
        assert_eq!(padded_len(512), 512);
        assert_eq!(padded_len(513), 1024);
    }
}
