//! Writing a new support bundle.

use std::io;
use std::path::{Path, PathBuf};

use time::{OffsetDateTime, UtcOffset};

use crate::add::{BundleFile, append_new, output_target, plan};
use crate::atomic::AtomicFile;
use crate::error::{BundleError, Result};
use crate::raw::Compression;
use crate::tarwrite::{NewEntry, TarSink, write_entry};

/// troubleshoot's name for a bundle collected at `now`: `support-bundle-YYYY-MM-DDTHH_MM_SS`
/// (UTC), without extension; also the name of its top directory.
pub fn bundle_name(now: OffsetDateTime) -> String {
    let t = now.to_offset(UtcOffset::UTC);
    format!(
        "support-bundle-{:04}-{:02}-{:02}T{:02}_{:02}_{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Writes a new bundle holding `files` (paths relative to the top directory) and returns its
/// path.
///
/// The archive is gzipped; every entry lives under the top directory
/// [`bundle_name(now)`](bundle_name), which comes first, followed by the directories the files
/// need (mode 0755) and the files (their own mode), all with mtime `now` and owner 0:0. If
/// `output` is an existing directory the archive is `<output>/<bundle_name>.tar.gz`, otherwise
/// `output` is the file written (replaced if it exists). Writing is atomic: a hidden temporary
/// file in the same directory, fsynced, re-read and checked, then renamed; the archive is
/// `0600` (a cluster's resources are for its owner only).
///
/// # Errors
///
/// [`BundleError::InvalidFile`] for a bad file path (empty, absolute, `.`/`..` or empty
/// components, given twice) or mode; [`BundleError::Output`] when the output's directory does not
/// exist; [`BundleError::Io`] when writing fails; [`BundleError::Verification`] when the archive
/// does not read back as written.
pub fn write_new_bundle(
    output: &Path,
    files: &[BundleFile],
    now: OffsetDateTime,
) -> Result<PathBuf> {
    let plan = plan(files)?;
    let name = bundle_name(now);
    let target = output_target(output, &format!("{name}.tar.gz"))?;
    let mtime = now.unix_timestamp();
    let atomic = AtomicFile::create(&target)?;
    let temp = atomic.path().to_owned();
    let write_err = |e: io::Error| BundleError::io("write", &temp, e);
    let mut sink = TarSink::new(atomic.file(), Compression::Gzip);
    let top = NewEntry::directory(name.as_bytes(), mtime);
    let mut expected = vec![write_entry(&mut sink, &top, &mut io::empty()).map_err(write_err)?];
    expected.extend(append_new(&mut sink, name.as_bytes(), &plan, mtime).map_err(write_err)?);
    sink.finish().map_err(write_err)?;
    // It holds a cluster's resources: private to its owner, as a credential file would be.
    atomic.verify_and_commit(0o600, Compression::Gzip, &expected)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn names_are_utc() {
        assert_eq!(
            bundle_name(datetime!(2026-01-02 03:04:05 UTC)),
            "support-bundle-2026-01-02T03_04_05"
        );
        assert_eq!(
            bundle_name(datetime!(2026-01-02 05:04:05 +02:00)),
            "support-bundle-2026-01-02T03_04_05"
        );
    }
}
