//! Writing results: stdout, or a file replaced atomically so a failure never leaves half a file.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

/// Writes `bytes` to `path` atomically, or to stdout when `path` is `None`.
pub(crate) fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    write_output_with(path, |w| w.write_all(bytes).map_err(Into::into))
}

/// Writes what `fill` writes (buffered, never held whole in memory) to `path` atomically (a
/// locked hidden temporary file in the same directory, fsync, rename; what a killed run left is
/// removed: [`imagefacts_bundle::AtomicFile`]), or to stdout when `path` is `None`.
pub(crate) fn write_output_with(
    path: Option<&Path>,
    fill: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let Some(path) = path else {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        fill(&mut out)?;
        out.flush()?;
        return Ok(());
    };
    let file = imagefacts_bundle::AtomicFile::create(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut w = std::io::BufWriter::new(file.file());
    fill(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(w);
    file.commit()
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
