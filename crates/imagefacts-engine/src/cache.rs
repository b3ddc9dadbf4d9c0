//! The on-disk cache: content-addressed blobs (manifests and configs, verified on every read),
//! tag → digest answers with the time the registry gave them, and the last good facts of each
//! image (for `--fallback cached`).
//!
//! The cache holds what registries served, unredacted (config blobs may carry secrets in their
//! environment): its versioned directory is created `0700` and its files `0600`.
//!
//! Layout under the cache directory (the format version is part of the name, so a format change
//! never reads old data):
//!
//! ```text
//! v1/packs/<name>.pack    manifest and config bytes exactly as served, one run's concatenated
//! v1/packs.json           {"sha256:<hex>": {"pack", "offset", "len", "storedAt"}}
//! v1/blobs/sha256/<hex>   one blob per file (written by earlier versions; still read)
//! v1/tags.json            {"<registry/repo:tag>": {"digest", "storedAt"}}
//! v1/facts.json           {"<digest>|<platform>": ImageFacts}: the last good facts of each image
//! ```
//!
//! A run keeps the blobs it fetched in memory and writes them by [`DiskCache::flush`] into one
//! pack file (and another whenever 32 MiB are pending): creating a file per manifest and config
//! cost more than fetching them. The index files are read once, updated in memory, and written
//! back once at the flush, merged with whatever another run wrote meanwhile; packs no index names
//! any more are removed. Every write goes to a temporary file in the same directory and is renamed
//! into place, so concurrent runs never see half a file; every blob is verified against its
//! digest when read, and a corrupt entry or file is discarded, never trusted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use imagefacts_model::Digest;
use imagefacts_model::facts::ImageFacts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The directory name carrying the cache format version.
pub const CACHE_FORMAT: &str = "v1";

/// Tag entries older than this are dropped when the index is rewritten.
const TAG_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Pending blob bytes that make a pack be written before the flush.
const MAX_PENDING_BYTES: usize = 32 * 1024 * 1024;

/// A pack no index names is removed once it is this old (a younger one may be another run's,
/// written but not yet indexed).
const PACK_GRACE: Duration = Duration::from_secs(600);

/// Where a blob lives in a pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackEntry {
    /// The pack's file name under `packs/`.
    pack: String,
    offset: u64,
    len: u64,
    stored_at: u64,
}

/// Blobs fetched in this run, not yet in a pack.
#[derive(Debug, Default)]
struct Pending {
    blobs: Vec<(Digest, Vec<u8>)>,
    index: std::collections::HashMap<Digest, usize>,
    bytes: usize,
}

/// A cached tag → digest answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedTag {
    /// The digest the tag pointed to.
    pub digest: Digest,
    /// When the registry said so.
    pub stored_at: OffsetDateTime,
    /// Whether that is within the cache's TTL (trusted without asking again).
    pub fresh: bool,
}

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagEntry {
    digest: Digest,
    stored_at: u64,
}

/// An index file: loaded on first use, changed entries kept apart until the flush.
#[derive(Debug)]
struct Index<V> {
    file: PathBuf,
    loaded: Option<BTreeMap<String, V>>,
    changed: BTreeMap<String, V>,
}

impl<V: Clone + Serialize + DeserializeOwned> Index<V> {
    fn new(file: PathBuf) -> Self {
        Index {
            file,
            loaded: None,
            changed: BTreeMap::new(),
        }
    }

    fn get(&mut self, key: &str) -> Option<V> {
        if let Some(v) = self.changed.get(key) {
            return Some(v.clone());
        }
        let file = &self.file;
        self.loaded
            .get_or_insert_with(|| read_index(file))
            .get(key)
            .cloned()
    }
}

/// Reads an index file; a missing or corrupt one is empty (and a corrupt one is removed).
fn read_index<V: DeserializeOwned>(file: &Path) -> BTreeMap<String, V> {
    let Ok(bytes) = std::fs::read(file) else {
        return BTreeMap::new();
    };
    serde_json::from_slice(&bytes).unwrap_or_else(|_| {
        tracing::debug!(path = %file.display(), "discarding corrupt cache index");
        let _ = std::fs::remove_file(file);
        BTreeMap::new()
    })
}

/// A cache directory.
#[derive(Debug)]
pub struct DiskCache {
    root: PathBuf,
    tag_ttl: Duration,
    tags: Mutex<Index<TagEntry>>,
    facts: Mutex<Index<ImageFacts>>,
    packs: Mutex<Index<PackEntry>>,
    pending: Mutex<Pending>,
    /// Whether loose blobs of earlier versions are there to be read (when not, none is looked for).
    loose: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Creates `dir` and its missing parents, each new one `0700`.
fn private_dirs(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes `dir` `0700` when it is wider.
fn restrict(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes atomically what `fill` writes (buffered), without holding it all in memory first.
fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    let mut w = std::io::BufWriter::new(tmp);
    fill(&mut w)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl DiskCache {
    /// Opens (creating) the cache under `dir`, with tag entries valid for `tag_ttl`.
    ///
    /// # Errors
    ///
    /// [`CacheError`] when the directories cannot be created.
    pub fn open(dir: &Path, tag_ttl: Duration) -> Result<DiskCache, CacheError> {
        let root = dir.join(CACHE_FORMAT);
        let blobs = root.join("blobs/sha256");
        private_dirs(&blobs).map_err(|source| CacheError {
            path: blobs.clone(),
            source,
        })?;
        // Tighten a version directory made before it was private (never the user's own `dir`).
        restrict(&root).map_err(|source| CacheError {
            path: root.clone(),
            source,
        })?;
        let loose = ["sha256", "sha512"].iter().any(|alg| {
            std::fs::read_dir(root.join("blobs").join(alg))
                .is_ok_and(|mut entries| entries.next().is_some())
        });
        Ok(DiskCache {
            loose,
            tags: Mutex::new(Index::new(root.join("tags.json"))),
            facts: Mutex::new(Index::new(root.join("facts.json"))),
            packs: Mutex::new(Index::new(root.join("packs.json"))),
            pending: Mutex::new(Pending::default()),
            root,
            tag_ttl,
        })
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

    fn packs_dir(&self) -> PathBuf {
        self.root.join("packs")
    }

    /// The bytes stored under `digest` (fetched in this run, in a pack, or in a loose file of an
    /// earlier version), verified; a mismatching entry is discarded.
    pub fn blob(&self, digest: &Digest) -> Option<Vec<u8>> {
        {
            let pending = lock(&self.pending);
            if let Some(&i) = pending.index.get(digest) {
                return Some(pending.blobs[i].1.clone());
            }
        }
        // (The index lock is released before the entry is read, and retaken to discard it.)
        let packed = lock(&self.packs).get(&digest.to_string());
        if let Some(entry) = packed {
            match self.read_packed(&entry) {
                Some(bytes) if digest.matches(&bytes) => return Some(bytes),
                _ => {
                    tracing::debug!(pack = %entry.pack, "discarding cache pack entry: unreadable or digest mismatch");
                    let mut packs = lock(&self.packs);
                    packs.changed.remove(&digest.to_string());
                    if let Some(loaded) = packs.loaded.as_mut() {
                        loaded.remove(&digest.to_string());
                    }
                }
            }
        }
        if !self.loose {
            return None;
        }
        let path = self.blob_path(digest);
        let bytes = std::fs::read(&path).ok()?;
        if digest.matches(&bytes) {
            Some(bytes)
        } else {
            tracing::debug!(path = %path.display(), "discarding cache blob: digest mismatch");
            let _ = std::fs::remove_file(&path);
            None
        }
    }

    fn read_packed(&self, entry: &PackEntry) -> Option<Vec<u8>> {
        use std::io::{Read as _, Seek as _};
        // A name from the index is a plain file name, never a path.
        if entry.pack.contains(['/', '\\']) || entry.pack.starts_with('.') {
            return None;
        }
        let mut file = std::fs::File::open(self.packs_dir().join(&entry.pack)).ok()?;
        file.seek(std::io::SeekFrom::Start(entry.offset)).ok()?;
        let len = usize::try_from(entry.len).ok()?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(len).ok()?;
        file.take(entry.len).read_to_end(&mut bytes).ok()?;
        (bytes.len() == len).then_some(bytes)
    }

    /// Whether a blob is stored under `digest` (not read, not verified).
    pub fn has_blob(&self, digest: &Digest) -> bool {
        lock(&self.pending).index.contains_key(digest)
            || lock(&self.packs).get(&digest.to_string()).is_some()
            || (self.loose && self.blob_path(digest).is_file())
    }

    /// Stores verified content under its digest (kept for the next pack). Failures are logged,
    /// never fatal.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) {
        if self.has_blob(digest) {
            return;
        }
        let full = {
            let mut pending = lock(&self.pending);
            if pending.index.contains_key(digest) {
                return;
            }
            let i = pending.blobs.len();
            pending.blobs.push((digest.clone(), bytes.to_vec()));
            pending.index.insert(digest.clone(), i);
            pending.bytes += bytes.len();
            pending.bytes >= MAX_PENDING_BYTES
        };
        if full {
            self.write_pack();
        }
    }

    /// Writes the pending blobs into one new pack and indexes them (in memory; the index file is
    /// written by the flush).
    fn write_pack(&self) {
        let pending = std::mem::take(&mut *lock(&self.pending));
        if pending.blobs.is_empty() {
            return;
        }
        let dir = self.packs_dir();
        static PACKS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "{nanos}-{}-{}.pack",
            std::process::id(),
            PACKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut offsets = Vec::with_capacity(pending.blobs.len());
        let result = private_dirs(&dir).and_then(|()| {
            write_atomic_with(&dir.join(&name), |w| {
                let mut offset = 0u64;
                for (digest, bytes) in &pending.blobs {
                    w.write_all(bytes)?;
                    offsets.push((digest, offset, bytes.len() as u64));
                    offset += bytes.len() as u64;
                }
                Ok(())
            })
        });
        if let Err(e) = result {
            tracing::debug!(path = %dir.display(), error = %e, "cache pack write failed");
            return;
        }
        let stored_at = now_secs();
        let mut packs = lock(&self.packs);
        for (digest, offset, len) in offsets {
            packs.changed.insert(
                digest.to_string(),
                PackEntry {
                    pack: name.clone(),
                    offset,
                    len,
                    stored_at,
                },
            );
        }
    }

    /// When the blob `digest` was stored.
    pub fn blob_time(&self, digest: &Digest) -> Option<OffsetDateTime> {
        if lock(&self.pending).index.contains_key(digest) {
            return Some(OffsetDateTime::now_utc());
        }
        let packed = lock(&self.packs).get(&digest.to_string());
        if let Some(entry) = packed {
            return OffsetDateTime::from_unix_timestamp(i64::try_from(entry.stored_at).ok()?).ok();
        }
        if !self.loose {
            return None;
        }
        let modified = std::fs::metadata(self.blob_path(digest))
            .and_then(|m| m.modified())
            .ok()?;
        Some(OffsetDateTime::from(modified))
    }

    /// The digest `reference` (a canonical `registry/repo:tag`) pointed to when last asked, and
    /// whether that answer is within the TTL.
    pub fn tag(&self, reference: &str) -> Option<CachedTag> {
        let entry = self
            .tags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(reference)?;
        let age = now_secs().saturating_sub(entry.stored_at);
        let stored_at =
            OffsetDateTime::from_unix_timestamp(i64::try_from(entry.stored_at).unwrap_or(i64::MAX))
                .ok()?;
        Some(CachedTag {
            digest: entry.digest,
            stored_at,
            fresh: age < self.tag_ttl.as_secs(),
        })
    }

    /// Records that `reference` points to `digest` now.
    pub fn put_tag(&self, reference: &str, digest: &Digest) {
        let entry = TagEntry {
            digest: digest.clone(),
            stored_at: now_secs(),
        };
        let mut tags = self.tags.lock().unwrap_or_else(|e| e.into_inner());
        tags.changed.insert(reference.to_owned(), entry);
    }

    /// The last good facts stored under `key`.
    pub fn facts(&self, key: &str) -> Option<ImageFacts> {
        self.facts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
    }

    /// Stores good facts under `key`. An entry that differs only in `collectedAt` is left as it
    /// is: rewriting it would tell nothing new.
    pub fn put_facts(&self, key: &str, facts: &ImageFacts) {
        let mut index = self.facts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(mut old) = index.get(key) {
            old.collected_at = facts.collected_at;
            if old == *facts {
                return;
            }
        }
        index.changed.insert(key.to_owned(), facts.clone());
    }

    /// Writes the changed index entries, merged over what is on disk now (another run may have
    /// written meanwhile). Failures are logged, never fatal: the cache is an optimisation.
    pub fn flush(&self) {
        let now = now_secs();
        self.write_pack();
        let dir = self.packs_dir();
        let packs_written = !lock(&self.packs).changed.is_empty();
        // Many entries share a pack: each pack file is looked at once.
        let mut present: std::collections::HashMap<String, bool> = Default::default();
        flush_index(&self.packs, |_, e: &PackEntry| {
            *present
                .entry(e.pack.clone())
                .or_insert_with(|| dir.join(&e.pack).is_file())
        });
        if packs_written {
            self.remove_unindexed_packs();
        }
        flush_index(&self.tags, |_, e: &TagEntry| {
            now.saturating_sub(e.stored_at) < TAG_RETENTION.as_secs()
        });
        // Entries of earlier versions were keyed by reference; only digest keys are read now.
        flush_index(&self.facts, |k, _: &ImageFacts| k.starts_with("sha"));
    }

    /// Removes packs no index entry names (every blob in them was superseded), past the grace
    /// time another run may need between writing a pack and indexing it.
    fn remove_unindexed_packs(&self) {
        let named: std::collections::HashSet<String> = lock(&self.packs)
            .loaded
            .iter()
            .flat_map(|m| m.values().map(|e| e.pack.clone()))
            .collect();
        let Ok(entries) = std::fs::read_dir(self.packs_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > PACK_GRACE);
            if name.ends_with(".pack") && !named.contains(&name) && old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

fn flush_index<V: Clone + Serialize + DeserializeOwned>(
    index: &Mutex<Index<V>>,
    mut keep: impl FnMut(&String, &V) -> bool,
) {
    let mut index = index.lock().unwrap_or_else(|e| e.into_inner());
    if index.changed.is_empty() {
        return;
    }
    let mut merged: BTreeMap<String, V> = read_index(&index.file);
    merged.append(&mut std::mem::take(&mut index.changed));
    merged.retain(|k, v| keep(k, v));
    let result = write_atomic_with(&index.file, |w| {
        serde_json::to_writer(w, &merged).map_err(std::io::Error::other)
    });
    if let Err(e) = result {
        tracing::debug!(path = %index.file.display(), error = %e, "cache write failed");
    }
    index.loaded = Some(merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, ttl: u64) -> DiskCache {
        DiskCache::open(dir, Duration::from_secs(ttl)).unwrap()
    }

    fn packs(cache: &DiskCache) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(cache.packs_dir())
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    #[test]
    fn a_runs_blobs_go_into_one_pack_verified_on_every_read() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path(), 60);
        assert!(cache.root().ends_with("v1"));
        let blobs: Vec<(Digest, Vec<u8>)> = (0..3)
            .map(|i| {
                let b = format!("content {i}").into_bytes();
                (Digest::sha256_of(&b), b)
            })
            .collect();
        assert_eq!(cache.blob(&blobs[0].0), None);
        for (d, b) in &blobs {
            cache.put_blob(d, b);
            cache.put_blob(d, b);
        }
        // Readable before the flush; nothing written yet.
        assert_eq!(cache.blob(&blobs[1].0).as_deref(), Some(&blobs[1].1[..]));
        assert!(packs(&cache).is_empty());
        cache.flush();
        let written = packs(&cache);
        assert_eq!(written.len(), 1, "one pack for the run: {written:?}");
        let again = open(dir.path(), 60);
        for (d, b) in &blobs {
            assert!(again.has_blob(d));
            assert_eq!(again.blob(d).as_deref(), Some(&b[..]));
            assert!(again.blob_time(d).is_some());
        }
        // Tampered with: the entry is discarded, never trusted.
        let mut bytes = std::fs::read(&written[0]).unwrap();
        bytes[0] ^= 0xff;
        std::fs::write(&written[0], &bytes).unwrap();
        let third = open(dir.path(), 60);
        assert_eq!(third.blob(&blobs[0].0), None);
        assert!(!third.has_blob(&blobs[0].0));
        assert_eq!(third.blob(&blobs[1].0).as_deref(), Some(&blobs[1].1[..]));
        let names: Vec<_> = std::fs::read_dir(cache.packs_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names.iter().all(|n| n.ends_with(".pack")),
            "no temp files are left behind: {names:?}"
        );
    }

    #[test]
    fn loose_blobs_of_earlier_versions_are_still_read_and_verified() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::sha256_of(b"loose");
        let empty = open(dir.path(), 60);
        std::fs::write(empty.blob_path(&d), b"loose").unwrap();
        assert!(
            !empty.has_blob(&d),
            "an empty loose directory is never looked in"
        );
        let cache = open(dir.path(), 60);
        assert!(cache.has_blob(&d));
        assert_eq!(cache.blob(&d).as_deref(), Some(&b"loose"[..]));
        std::fs::write(cache.blob_path(&d), b"tampered").unwrap();
        assert_eq!(cache.blob(&d), None);
        assert!(!cache.blob_path(&d).exists());
    }

    #[test]
    fn packs_no_index_names_are_removed_after_the_grace_time() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path(), 60);
        private_dirs(&cache.packs_dir()).unwrap();
        let orphan = cache.packs_dir().join("1-1-0.pack");
        let young = cache.packs_dir().join("2-1-0.pack");
        for p in [&orphan, &young] {
            std::fs::write(p, b"stale").unwrap();
        }
        let old = SystemTime::now() - PACK_GRACE - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&orphan)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let d = Digest::sha256_of(b"kept");
        cache.put_blob(&d, b"kept");
        cache.flush();
        let left = packs(&cache);
        assert!(!left.contains(&orphan), "{left:?}");
        assert!(left.contains(&young), "another run may still index it");
        assert_eq!(left.len(), 2);
        assert_eq!(open(dir.path(), 60).blob(&d).as_deref(), Some(&b"kept"[..]));
    }

    #[test]
    fn tags_persist_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::sha256_of(b"m");
        let cache = open(dir.path(), 3600);
        cache.put_tag("r/a:1", &d);
        let digest = |c: &DiskCache, r: &str| c.tag(r).map(|t| t.digest);
        assert_eq!(
            digest(&cache, "r/a:1"),
            Some(d.clone()),
            "visible before the flush"
        );
        cache.flush();
        let again = open(dir.path(), 3600).tag("r/a:1").unwrap();
        assert!(again.fresh);
        assert_eq!(again.digest, d);
        let age = OffsetDateTime::now_utc() - again.stored_at;
        assert!(age.whole_seconds() < 60, "{age}");
        assert_eq!(digest(&open(dir.path(), 3600), "r/a:2"), None);
        let stale = open(dir.path(), 0).tag("r/a:1").unwrap();
        assert!(!stale.fresh, "past the TTL");
        assert_eq!(stale.digest, d, "still known, for --offline");
        // A corrupt index is discarded.
        std::fs::write(cache.root().join("tags.json"), b"{").unwrap();
        assert_eq!(open(dir.path(), 3600).tag("r/a:1"), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_cache_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let cache_dir = dir.path().join("new");
        let cache = open(&cache_dir, 60);
        assert_eq!(mode(&cache_dir), 0o700);
        assert_eq!(mode(cache.root()), 0o700);
        assert_eq!(mode(&cache.root().join("blobs/sha256")), 0o700);
        let d = Digest::sha256_of(b"secret config");
        cache.put_blob(&d, b"secret config");
        cache.flush();
        assert_eq!(mode(&cache.packs_dir()), 0o700);
        for pack in packs(&cache) {
            assert_eq!(mode(&pack), 0o600);
        }
        assert!(cache.blob_time(&d).is_some());
        // A version directory left wide by an older run is tightened; the user's own directory
        // is not touched.
        let shared = dir.path().join("shared");
        std::fs::create_dir_all(shared.join(CACHE_FORMAT)).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(
            shared.join(CACHE_FORMAT),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let cache = open(&shared, 60);
        assert_eq!(mode(cache.root()), 0o700);
        assert_eq!(mode(&shared), 0o755);
        assert!(!cache.root().join("tags.json").exists());
    }

    #[test]
    fn concurrent_runs_merge_their_entries() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (open(dir.path(), 3600), open(dir.path(), 3600));
        let (d1, d2) = (Digest::sha256_of(b"1"), Digest::sha256_of(b"2"));
        a.put_tag("r/a:1", &d1);
        b.put_tag("r/b:1", &d2);
        a.flush();
        b.flush();
        let c = open(dir.path(), 3600);
        assert_eq!(c.tag("r/a:1").map(|t| t.digest), Some(d1));
        assert_eq!(c.tag("r/b:1").map(|t| t.digest), Some(d2));
    }

    #[test]
    fn facts_round_trip_and_unchanged_facts_are_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = open(dir.path(), 60);
        let f = ImageFacts::empty(
            imagefacts_model::ImageRef::parse("a"),
            "r",
            "a",
            OffsetDateTime::UNIX_EPOCH,
        );
        cache.put_facts("sha256:k|", &f);
        cache.flush();
        let again = open(dir.path(), 60);
        assert_eq!(again.facts("sha256:k|"), Some(f.clone()));
        assert_eq!(again.facts("other"), None);
        let mut later = f.clone();
        later.collected_at = OffsetDateTime::now_utc();
        again.put_facts("sha256:k|", &later);
        assert!(again.facts.lock().unwrap().changed.is_empty());
        assert_eq!(
            again.facts("sha256:k|").unwrap().collected_at,
            OffsetDateTime::UNIX_EPOCH
        );
    }
}
