//! The on-disk cache: content-addressed blobs (manifests and configs, verified on every read),
//! tag → digest entries with a TTL, and the last good facts of each reference (for
//! `--fallback cached`).
//!
//! Layout under the cache directory (the format version is part of the name, so a format change
//! never reads old data):
//!
//! ```text
//! v1/blobs/sha256/<hex>       manifest or config bytes exactly as served
//! v1/tags/<key>.json          {"reference", "digest", "storedAt"}
//! v1/facts/<key>.json         the last successful ImageFacts of a reference
//! ```
//!
//! Writes go to a temporary file in the same directory and are renamed into place, so concurrent
//! runs never see half an entry; a corrupt or mismatching entry is deleted and treated as absent.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imagefacts_model::Digest;
use imagefacts_model::facts::ImageFacts;
use serde::{Deserialize, Serialize};

/// The directory name carrying the cache format version.
pub const CACHE_FORMAT: &str = "v1";

/// Why the cache directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot use cache directory {path}: {source}")]
pub struct CacheError {
    /// The directory.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// A cache directory.
#[derive(Debug, Clone)]
pub struct DiskCache {
    root: PathBuf,
    tag_ttl: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagEntry {
    reference: String,
    digest: Digest,
    stored_at: u64,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A file name for an arbitrary key.
fn key_name(key: &str) -> String {
    Digest::sha256_of(key.as_bytes()).hex()[..32].to_owned()
}

impl DiskCache {
    /// Opens (creating) the cache under `dir`, with tag entries valid for `tag_ttl`.
    ///
    /// # Errors
    ///
    /// [`CacheError`] when the directories cannot be created.
    pub fn open(dir: &Path, tag_ttl: Duration) -> Result<DiskCache, CacheError> {
        let root = dir.join(CACHE_FORMAT);
        for sub in ["blobs/sha256", "tags", "facts"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|source| CacheError { path: p, source })?;
        }
        Ok(DiskCache { root, tag_ttl })
    }

    /// The versioned root (`<dir>/v1`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(digest.hex())
    }

    /// Writes `bytes` atomically to `path`. Failures are logged, never fatal: the cache is an optimisation.
    fn write_atomic(&self, path: &Path, bytes: &[u8]) {
        let result = (|| -> std::io::Result<()> {
            let dir = path.parent().unwrap_or(&self.root);
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
            std::io::Write::write_all(&mut tmp, bytes)?;
            tmp.persist(path).map_err(|e| e.error)?;
            Ok(())
        })();
        if let Err(e) = result {
            tracing::debug!(path = %path.display(), error = %e, "cache write failed");
        }
    }

    fn discard(path: &Path, why: &str) {
        tracing::debug!(path = %path.display(), why, "discarding cache entry");
        let _ = std::fs::remove_file(path);
    }

    /// The bytes stored under `digest`, verified; a mismatching entry is deleted.
    pub fn blob(&self, digest: &Digest) -> Option<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if digest.matches(&bytes) {
            Some(bytes)
        } else {
            Self::discard(&path, "digest mismatch");
            None
        }
    }

    /// Stores verified content under its digest.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) {
        let path = self.blob_path(digest);
        if !path.exists() {
            self.write_atomic(&path, bytes);
        }
    }

    /// The digest `reference` (a canonical `registry/repo:tag`) pointed to, if stored within the TTL.
    pub fn tag(&self, reference: &str) -> Option<Digest> {
        let path = self
            .root
            .join("tags")
            .join(format!("{}.json", key_name(reference)));
        let bytes = std::fs::read(&path).ok()?;
        let Ok(entry) = serde_json::from_slice::<TagEntry>(&bytes) else {
            Self::discard(&path, "malformed tag entry");
            return None;
        };
        if entry.reference != reference {
            return None;
        }
        let age = now_secs().saturating_sub(entry.stored_at);
        (age < self.tag_ttl.as_secs()).then_some(entry.digest)
    }

    /// Records that `reference` points to `digest` now.
    pub fn put_tag(&self, reference: &str, digest: &Digest) {
        let entry = TagEntry {
            reference: reference.to_owned(),
            digest: digest.clone(),
            stored_at: now_secs(),
        };
        let path = self
            .root
            .join("tags")
            .join(format!("{}.json", key_name(reference)));
        if let Ok(bytes) = serde_json::to_vec(&entry) {
            self.write_atomic(&path, &bytes);
        }
    }

    /// The last good facts stored under `key`.
    pub fn facts(&self, key: &str) -> Option<ImageFacts> {
        let path = self
            .root
            .join("facts")
            .join(format!("{}.json", key_name(key)));
        let bytes = std::fs::read(&path).ok()?;
        match serde_json::from_slice::<ImageFacts>(&bytes) {
            Ok(f) => Some(f),
            Err(_) => {
                Self::discard(&path, "malformed facts entry");
                None
            }
        }
    }

    /// Stores good facts under `key`.
    pub fn put_facts(&self, key: &str, facts: &ImageFacts) {
        let path = self
            .root
            .join("facts")
            .join(format!("{}.json", key_name(key)));
        if let Ok(bytes) = serde_json::to_vec(facts) {
            self.write_atomic(&path, &bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn blobs_are_verified_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), Duration::from_secs(60)).unwrap();
        assert!(cache.root().ends_with("v1"));
        let d = Digest::sha256_of(b"content");
        assert_eq!(cache.blob(&d), None);
        cache.put_blob(&d, b"content");
        assert_eq!(cache.blob(&d).as_deref(), Some(&b"content"[..]));
        // Corrupt it: the entry is discarded, never trusted.
        std::fs::write(cache.blob_path(&d), b"tampered").unwrap();
        assert_eq!(cache.blob(&d), None);
        assert!(!cache.blob_path(&d).exists());
        // No temp files are left behind.
        let left: Vec<_> = std::fs::read_dir(cache.root().join("blobs/sha256"))
            .unwrap()
            .collect();
        assert!(left.is_empty());
    }

    #[test]
    fn tags_expire() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::sha256_of(b"m");
        let cache = DiskCache::open(dir.path(), Duration::from_secs(3600)).unwrap();
        cache.put_tag("r/a:1", &d);
        assert_eq!(cache.tag("r/a:1"), Some(d.clone()));
        assert_eq!(cache.tag("r/a:2"), None);
        let expired = DiskCache::open(dir.path(), Duration::ZERO).unwrap();
        assert_eq!(expired.tag("r/a:1"), None);
        // Malformed entries are discarded.
        let path = cache
            .root()
            .join("tags")
            .join(format!("{}.json", key_name("r/a:1")));
        std::fs::write(&path, b"{").unwrap();
        assert_eq!(cache.tag("r/a:1"), None);
        assert!(!path.exists());
    }

    #[test]
    fn facts_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = DiskCache::open(dir.path(), Duration::from_secs(60)).unwrap();
        let f = ImageFacts::empty("a", "r", "a", OffsetDateTime::UNIX_EPOCH);
        cache.put_facts("k", &f);
        assert_eq!(cache.facts("k"), Some(f));
        assert_eq!(cache.facts("other"), None);
    }
}
