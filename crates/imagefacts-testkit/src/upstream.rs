//! Upstream troubleshoot's own Go types as the oracle for every image-facts file we write.
//!
//! `go/upstream-decode/main.go` declares upstream's `FactsBundle` field names and Go types and
//! decodes files with `encoding/json`, as a Go consumer of a support bundle would. It is built
//! once (per source version) with Debian's `golang-go` into the temporary directory and run on
//! each file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::Digest as _;

/// The Go program's source.
const SOURCE: &str = include_str!("../go/upstream-decode/main.go");

/// What the Go program read from one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamDecoded {
    /// The file.
    pub file: PathBuf,
    /// `imageFacts` entries decoded.
    pub images: usize,
    /// Entries with a non-empty `error` string.
    pub errors: usize,
    /// Those `error` strings, in order.
    pub messages: Vec<String>,
    /// Entries whose `created` decoded to a non-zero `time.Time`.
    pub created: usize,
}

/// The built decoder, or why it could not be built.
fn decoder() -> Result<&'static Path, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let hash = hex::encode(&sha2::Sha256::digest(SOURCE.as_bytes())[..8]);
            let dir = std::env::temp_dir().join("imagefacts-upstream-decode");
            let bin = dir.join(format!("decode-{hash}"));
            if bin.is_file() {
                return Ok(bin);
            }
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let src_dir = tempfile::tempdir_in(&dir).map_err(|e| e.to_string())?;
            let src = src_dir.path().join("main.go");
            std::fs::write(&src, SOURCE).map_err(|e| e.to_string())?;
            let tmp_bin = src_dir.path().join("decode");
            let out = Command::new("go")
                .arg("build")
                .arg("-o")
                .arg(&tmp_bin)
                .arg(&src)
                .env("GOCACHE", dir.join("gocache"))
                .env("GOPATH", dir.join("gopath"))
                .env("GO111MODULE", "off")
                .env("GOFLAGS", "")
                .output()
                .map_err(|e| {
                    format!(
                        "cannot run `go` ({e}): install Debian's golang-go (scripts/install-deps)"
                    )
                })?;
            if !out.status.success() {
                return Err(format!(
                    "go build failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            // Another process may have raced us to it; either binary is the same program.
            std::fs::rename(&tmp_bin, &bin).map_err(|e| format!("{}: {e}", bin.display()))?;
            Ok(bin)
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// Decodes each file with upstream's Go types. `Err` holds every file that failed and why.
///
/// # Panics
///
/// When the Go decoder cannot be built (no `go` on the machine) or run.
pub fn upstream_decode(files: &[&Path]) -> Result<Vec<UpstreamDecoded>, String> {
    let bin = decoder().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(bin)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut decoded = Vec::new();
    let mut failures = Vec::new();
    for line in stdout.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("decoder printed {line:?}: {e}"));
        let file = PathBuf::from(v["file"].as_str().unwrap_or_default());
        if let Some(e) = v["decodeError"].as_str() {
            failures.push(format!("{}: {e}", file.display()));
            continue;
        }
        let count = |k: &str| v[k].as_u64().unwrap_or_default() as usize;
        decoded.push(UpstreamDecoded {
            images: count("images"),
            errors: count("errors"),
            created: count("created"),
            messages: v["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect(),
            file,
        });
    }
    if decoded.len() + failures.len() != files.len() {
        failures.push(format!(
            "the decoder answered for {} of {} files: {}",
            decoded.len() + failures.len(),
            files.len(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if failures.is_empty() {
        Ok(decoded)
    } else {
        Err(failures.join("\n"))
    }
}

/// Decodes `bytes` (one facts file) with upstream's Go types.
///
/// # Panics
///
/// As [`upstream_decode`].
pub fn upstream_decode_bytes(bytes: &[u8]) -> Result<UpstreamDecoded, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("facts.json");
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    upstream_decode(&[&path]).map(|mut d| d.remove(0))
}
