//! Seeding a registry by writing straight into its filesystem storage (no HTTP, no access-log lines):
//! much faster than `skopeo copy` when a test needs many repositories.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::layout::OciLayout;
use crate::registry::Registry;

impl Registry {
    /// Copies the image or index tagged `tag` in `layout` (with everything it references) into this
    /// registry's storage as `repo_and_tag` (`name:tag`), the way distribution 2.8 lays it out on disk.
    /// No request reaches the registry, so nothing appears in the access log; media types and digests
    /// stay as in the layout (OCI). Returns the digest the tag points to.
    pub fn seed(
        &self,
        layout: &OciLayout,
        tag: &str,
        repo_and_tag: &str,
    ) -> anyhow::Result<String> {
        let (repo, repo_tag) = repo_and_tag
            .rsplit_once(':')
            .filter(|(r, t)| !r.is_empty() && !t.is_empty() && !t.contains('/'))
            .with_context(|| format!("{repo_and_tag:?} is not NAME:TAG"))?;
        self.seed_tags(layout, tag, repo, &[repo_tag])
    }

    /// Like [`Registry::seed`] for many tags of one repository: the image is copied once and every tag
    /// in `repo_tags` points at it (thousands of references in seconds, for benchmarks).
    pub fn seed_tags(
        &self,
        layout: &OciLayout,
        tag: &str,
        repo: &str,
        repo_tags: &[&str],
    ) -> anyhow::Result<String> {
        let digest = layout
            .tagged_digest(tag)?
            .with_context(|| format!("tag {tag:?} not in {}", layout.dir().display()))?;
        self.seed_digest(layout, &digest, repo, repo_tags)?;
        Ok(digest)
    }

    /// Writes `n` distinct linux/amd64 images into `layout` (each with the label
    /// `imagefacts.test.n=<i>`) and seeds each as `<prefix><i>:<tag>` (`i` zero-padded to four
    /// digits); returns the repositories.
    pub fn seed_distinct(
        &self,
        layout: &OciLayout,
        prefix: &str,
        n: usize,
        tag: &str,
    ) -> anyhow::Result<Vec<String>> {
        (0..n)
            .map(|i| {
                let mut spec = crate::ImageSpec::simple("amd64");
                spec.labels
                    .insert("imagefacts.test.n".into(), i.to_string());
                let digest = layout.write_image(&spec)?;
                let repo = format!("{prefix}{i:04}");
                self.seed_digest(layout, &digest, &repo, &[tag])?;
                Ok(repo)
            })
            .collect()
    }

    /// Like [`Registry::seed_tags`] for the image or index `digest` of `layout`, tagged there or
    /// not (written with [`OciLayout::write_image`], which keeps `index.json` small when a test
    /// writes thousands of images).
    pub fn seed_digest(
        &self,
        layout: &OciLayout,
        digest: &str,
        repo: &str,
        repo_tags: &[&str],
    ) -> anyhow::Result<()> {
        if repo.is_empty() {
            bail!("empty repository name");
        }
        let storage = Storage {
            root: self.data_dir().join("docker").join("registry").join("v2"),
            repo: repo.to_owned(),
        };
        storage.put_manifest(layout, digest, 0)?;
        let hex = hex_of(digest)?;
        for repo_tag in repo_tags {
            if repo_tag.is_empty() || repo_tag.contains(['/', ':']) {
                bail!("{repo_tag:?} is not a tag");
            }
            let tag_dir = storage
                .repo_dir()
                .join("_manifests")
                .join("tags")
                .join(repo_tag);
            write_link(&tag_dir.join("current").join("link"), digest)?;
            write_link(
                &tag_dir.join("index").join("sha256").join(hex).join("link"),
                digest,
            )?;
        }
        Ok(())
    }
}

struct Storage {
    root: PathBuf,
    repo: String,
}

impl Storage {
    fn repo_dir(&self) -> PathBuf {
        self.root.join("repositories").join(&self.repo)
    }

    fn put_blob(&self, layout: &OciLayout, digest: &str) -> anyhow::Result<()> {
        let hex = hex_of(digest)?;
        let dest = self
            .root
            .join("blobs")
            .join("sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data");
        if !dest.exists() {
            std::fs::create_dir_all(dest.parent().context("blob path")?)?;
            let tmp = dest.with_extension("tmp");
            std::fs::copy(layout.blob_path(digest), &tmp)
                .with_context(|| format!("copying blob {digest}"))?;
            std::fs::rename(&tmp, &dest)?;
        }
        Ok(())
    }

    fn put_layer_link(&self, layout: &OciLayout, digest: &str) -> anyhow::Result<()> {
        self.put_blob(layout, digest)?;
        let hex = hex_of(digest)?;
        write_link(
            &self
                .repo_dir()
                .join("_layers")
                .join("sha256")
                .join(hex)
                .join("link"),
            digest,
        )
    }

    fn put_manifest(&self, layout: &OciLayout, digest: &str, depth: usize) -> anyhow::Result<()> {
        if depth > 4 {
            bail!("manifest nesting too deep at {digest}");
        }
        let manifest = layout.read_json(digest)?;
        if let Some(children) = manifest["manifests"].as_array() {
            for child in children {
                let d = child["digest"]
                    .as_str()
                    .context("index entry without digest")?;
                self.put_manifest(layout, d, depth + 1)?;
            }
        }
        let mut blobs: Vec<&Value> = manifest["layers"]
            .as_array()
            .map(|l| l.iter().collect())
            .unwrap_or_default();
        if manifest["config"].is_object() {
            blobs.push(&manifest["config"]);
        }
        for blob in blobs {
            let d = blob["digest"]
                .as_str()
                .context("descriptor without digest")?;
            self.put_layer_link(layout, d)?;
        }
        self.put_blob(layout, digest)?;
        let hex = hex_of(digest)?;
        write_link(
            &self
                .repo_dir()
                .join("_manifests")
                .join("revisions")
                .join("sha256")
                .join(hex)
                .join("link"),
            digest,
        )
    }
}

fn hex_of(digest: &str) -> anyhow::Result<&str> {
    match digest.strip_prefix("sha256:") {
        Some(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(h),
        _ => bail!("unsupported digest {digest:?}"),
    }
}

fn write_link(path: &Path, digest: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(path.parent().context("link path")?)?;
    std::fs::write(path, digest)?;
    Ok(())
}
