//! Deterministic OCI image layouts (no docker, no umoci): the same [`ImageSpec`] always gives the same
//! digests.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::{Map, Value, json};

use crate::sha256_digest;

/// `application/vnd.oci.image.index.v1+json`.
pub const MEDIA_TYPE_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.manifest.v1+json`.
pub const MEDIA_TYPE_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const MEDIA_TYPE_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar+gzip`.
pub const MEDIA_TYPE_IMAGE_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// `application/vnd.in-toto+json`: the layer media type of buildkit attestation manifests.
pub const MEDIA_TYPE_IN_TOTO: &str = "application/vnd.in-toto+json";

/// Modification time of every tar entry (2000-01-01T00:00:00Z).
const TAR_MTIME: u64 = 946_684_800;
/// Predicate type of the generated attestations.
const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v0.2";

/// Everything that goes into one single-platform image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSpec {
    /// `os` of the config and platform, e.g. `linux`.
    pub os: String,
    /// `architecture`, e.g. `amd64`, `arm64`.
    pub architecture: String,
    /// `variant`, e.g. `v8` for arm64 or `v7` for arm.
    pub variant: Option<String>,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// `config.Env` (`KEY=value`).
    pub env: Vec<String>,
    /// `config.ExposedPorts` keys, e.g. `80/tcp`.
    pub exposed_ports: Vec<String>,
    /// `config.Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `config.Cmd`.
    pub cmd: Vec<String>,
    /// `config.User` (empty: omitted).
    pub user: String,
    /// `config.Volumes` keys.
    pub volumes: Vec<String>,
    /// `config.WorkingDir` (empty: omitted).
    pub working_dir: String,
    /// `created` of the config and its history entries, RFC 3339 (empty: omitted).
    pub created: String,
    /// Layers, bottom first; each is a list of `(path, content)` files. A path ending in `/` is a
    /// directory; parent directories are added automatically; content starting with `#!` gets mode
    /// 0755, other files 0644.
    pub layers: Vec<Vec<(String, Vec<u8>)>>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
}

impl ImageSpec {
    /// A `linux/<arch>` image with one small layer (holding `/etc/imagefacts-arch` = arch, so each arch
    /// gets different digests), a few labels, `PATH` in env, `Cmd ["/bin/sh"]`, created
    /// `2024-01-02T03:04:05Z`.
    pub fn simple(arch: &str) -> ImageSpec {
        let labels = [
            ("org.opencontainers.image.title", "imagefacts test image"),
            ("org.opencontainers.image.vendor", "imagefacts-testkit"),
            ("org.opencontainers.image.licenses", "Apache-2.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        ImageSpec {
            os: "linux".to_owned(),
            architecture: arch.to_owned(),
            variant: None,
            labels,
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            ],
            cmd: vec!["/bin/sh".to_owned()],
            created: "2024-01-02T03:04:05Z".to_owned(),
            layers: vec![vec![
                (
                    "etc/imagefacts-arch".to_owned(),
                    format!("{arch}\n").into_bytes(),
                ),
                (
                    "etc/os-release".to_owned(),
                    b"ID=imagefacts-test\nNAME=\"imagefacts test\"\n".to_vec(),
                ),
            ]],
            ..ImageSpec::default()
        }
    }

    /// The OCI platform object (`architecture`, `os`, and `variant` if any).
    pub fn platform(&self) -> Value {
        let mut p = Map::new();
        p.insert("architecture".into(), json!(self.architecture));
        p.insert("os".into(), json!(self.os));
        if let Some(v) = &self.variant {
            p.insert("variant".into(), json!(v));
        }
        Value::Object(p)
    }
}

/// One written blob.
#[derive(Debug, Clone)]
struct Blob {
    digest: String,
    size: usize,
}

/// An OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/`), usable as skopeo's
/// `oci:DIR:TAG`.
#[derive(Debug, Clone)]
pub struct OciLayout {
    dir: PathBuf,
}

impl OciLayout {
    /// Creates (or resets) a layout at `dir`: writes `oci-layout` and an empty `index.json`. Existing
    /// blobs are kept.
    pub fn create(dir: &Path) -> anyhow::Result<OciLayout> {
        std::fs::create_dir_all(dir.join("blobs").join("sha256"))
            .with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let layout = OciLayout {
            dir: dir.to_path_buf(),
        };
        layout.write_index_json(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_IMAGE_INDEX,
            "manifests": [],
        }))?;
        Ok(layout)
    }

    /// The layout directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the blob with `digest` (`sha256:<hex>`).
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join("blobs").join("sha256").join(hex)
    }

    /// Reads the blob with `digest`.
    pub fn read_blob(&self, digest: &str) -> anyhow::Result<Vec<u8>> {
        let path = self.blob_path(digest);
        std::fs::read(&path).with_context(|| format!("reading blob {}", path.display()))
    }

    /// Reads the blob with `digest` as JSON.
    pub fn read_json(&self, digest: &str) -> anyhow::Result<Value> {
        Ok(serde_json::from_slice(&self.read_blob(digest)?)?)
    }

    /// Writes `bytes` as a blob (if not present yet) and returns its digest.
    pub fn write_blob(&self, bytes: &[u8]) -> anyhow::Result<String> {
        Ok(self.put_blob(bytes)?.digest)
    }

    fn put_blob(&self, bytes: &[u8]) -> anyhow::Result<Blob> {
        let digest = sha256_digest(bytes);
        let path = self.blob_path(&digest);
        if !path.exists() {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, &path)?;
        }
        Ok(Blob {
            digest,
            size: bytes.len(),
        })
    }

    fn put_json(&self, value: &Value) -> anyhow::Result<Blob> {
        self.put_blob(&serde_json::to_vec(value)?)
    }

    /// Writes the layers, config and manifest of `spec` without tagging; returns the manifest digest.
    pub fn write_image(&self, spec: &ImageSpec) -> anyhow::Result<String> {
        Ok(self.put_image(spec)?.digest)
    }

    fn put_image(&self, spec: &ImageSpec) -> anyhow::Result<Blob> {
        if spec.os.is_empty() || spec.architecture.is_empty() {
            bail!("ImageSpec needs os and architecture");
        }
        let mut layer_descs = Vec::new();
        let mut diff_ids = Vec::new();
        let mut history = Vec::new();
        for (i, files) in spec.layers.iter().enumerate() {
            let tar = layer_tar(files)?;
            diff_ids.push(json!(sha256_digest(&tar)));
            let gz = gzip(&tar)?;
            let blob = self.put_blob(&gz)?;
            layer_descs.push(json!({
                "mediaType": MEDIA_TYPE_IMAGE_LAYER_GZIP,
                "digest": blob.digest,
                "size": blob.size,
            }));
            let mut h = Map::new();
            if !spec.created.is_empty() {
                h.insert("created".into(), json!(spec.created));
            }
            h.insert(
                "created_by".into(),
                json!(format!("imagefacts-testkit layer {i}")),
            );
            history.push(Value::Object(h));
        }

        let mut cfg = Map::new();
        if !spec.user.is_empty() {
            cfg.insert("User".into(), json!(spec.user));
        }
        if !spec.exposed_ports.is_empty() {
            cfg.insert("ExposedPorts".into(), empty_object_map(&spec.exposed_ports));
        }
        if !spec.env.is_empty() {
            cfg.insert("Env".into(), json!(spec.env));
        }
        if !spec.entrypoint.is_empty() {
            cfg.insert("Entrypoint".into(), json!(spec.entrypoint));
        }
        if !spec.cmd.is_empty() {
            cfg.insert("Cmd".into(), json!(spec.cmd));
        }
        if !spec.volumes.is_empty() {
            cfg.insert("Volumes".into(), empty_object_map(&spec.volumes));
        }
        if !spec.working_dir.is_empty() {
            cfg.insert("WorkingDir".into(), json!(spec.working_dir));
        }
        if !spec.labels.is_empty() {
            cfg.insert("Labels".into(), json!(spec.labels));
        }

        let mut config = Map::new();
        if !spec.created.is_empty() {
            config.insert("created".into(), json!(spec.created));
        }
        config.insert("architecture".into(), json!(spec.architecture));
        config.insert("os".into(), json!(spec.os));
        if let Some(v) = &spec.variant {
            config.insert("variant".into(), json!(v));
        }
        config.insert("config".into(), Value::Object(cfg));
        config.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": diff_ids}),
        );
        config.insert("history".into(), Value::Array(history));
        let config_blob = self.put_json(&Value::Object(config))?;

        let mut manifest = Map::new();
        manifest.insert("schemaVersion".into(), json!(2));
        manifest.insert("mediaType".into(), json!(MEDIA_TYPE_IMAGE_MANIFEST));
        manifest.insert(
            "config".into(),
            json!({
                "mediaType": MEDIA_TYPE_IMAGE_CONFIG,
                "digest": config_blob.digest,
                "size": config_blob.size,
            }),
        );
        manifest.insert("layers".into(), Value::Array(layer_descs));
        if !spec.annotations.is_empty() {
            manifest.insert("annotations".into(), json!(spec.annotations));
        }
        self.put_json(&Value::Object(manifest))
    }

    /// Writes the image of `spec` and tags it `tag` in `index.json` (annotation
    /// `org.opencontainers.image.ref.name`, replacing an earlier entry with the same tag). Returns the
    /// manifest digest.
    pub fn add_image(&self, tag: &str, spec: &ImageSpec) -> anyhow::Result<String> {
        let blob = self.put_image(spec)?;
        self.tag(tag, MEDIA_TYPE_IMAGE_MANIFEST, &blob)?;
        Ok(blob.digest)
    }

    /// Writes one image per spec and an OCI image index over them (with each spec's platform), tagged
    /// `tag`. With `with_attestation`, a buildkit-style attestation manifest is added per image (after
    /// all images, as buildkit does): platform `unknown/unknown`, annotations
    /// `vnd.docker.reference.type: attestation-manifest` and `vnd.docker.reference.digest: <image>`,
    /// one `application/vnd.in-toto+json` layer (an SLSA provenance statement). Returns the index digest.
    pub fn add_index(
        &self,
        tag: &str,
        specs: &[ImageSpec],
        with_attestation: bool,
    ) -> anyhow::Result<String> {
        self.add_index_annotated(tag, specs, with_attestation, &BTreeMap::new())
    }

    /// [`OciLayout::add_index`] with annotations on the index itself.
    pub fn add_index_annotated(
        &self,
        tag: &str,
        specs: &[ImageSpec],
        with_attestation: bool,
        index_annotations: &BTreeMap<String, String>,
    ) -> anyhow::Result<String> {
        let mut descriptors = Vec::new();
        let mut attestations = Vec::new();
        for spec in specs {
            let image = self.put_image(spec)?;
            descriptors.push(json!({
                "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
                "digest": image.digest,
                "size": image.size,
                "platform": spec.platform(),
            }));
            if with_attestation {
                let att = self.put_attestation(tag, spec, &image)?;
                attestations.push(json!({
                    "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
                    "digest": att.digest,
                    "size": att.size,
                    "annotations": {
                        "vnd.docker.reference.digest": image.digest,
                        "vnd.docker.reference.type": "attestation-manifest",
                    },
                    "platform": {"architecture": "unknown", "os": "unknown"},
                }));
            }
        }
        descriptors.extend(attestations);
        let mut index = Map::new();
        index.insert("schemaVersion".into(), json!(2));
        index.insert("mediaType".into(), json!(MEDIA_TYPE_IMAGE_INDEX));
        index.insert("manifests".into(), Value::Array(descriptors));
        if !index_annotations.is_empty() {
            index.insert("annotations".into(), json!(index_annotations));
        }
        let blob = self.put_json(&Value::Object(index))?;
        self.tag(tag, MEDIA_TYPE_IMAGE_INDEX, &blob)?;
        Ok(blob.digest)
    }

    fn put_attestation(&self, tag: &str, spec: &ImageSpec, image: &Blob) -> anyhow::Result<Blob> {
        let mut platform = format!("{}/{}", spec.os, spec.architecture);
        if let Some(v) = &spec.variant {
            platform = format!("{platform}/{v}");
        }
        let hex = image.digest.trim_start_matches("sha256:");
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": PREDICATE_TYPE,
            "subject": [{
                "name": format!("pkg:docker/imagefacts-testkit/{tag}?platform={}", platform.replace('/', "%2F")),
                "digest": {"sha256": hex},
            }],
            "predicate": {
                "builder": {"id": "https://example.invalid/imagefacts-testkit"},
                "buildType": "https://mobyproject.org/buildkit@v1",
                "metadata": {"buildStartedOn": spec.created, "buildFinishedOn": spec.created},
            },
        });
        let layer = self.put_json(&statement)?;
        let config = self.put_json(&json!({
            "architecture": "unknown",
            "os": "unknown",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        }))?;
        self.put_json(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_IMAGE_MANIFEST,
            "config": {"mediaType": MEDIA_TYPE_IMAGE_CONFIG, "digest": config.digest, "size": config.size},
            "layers": [{
                "mediaType": MEDIA_TYPE_IN_TOTO,
                "digest": layer.digest,
                "size": layer.size,
                "annotations": {"in-toto.io/predicate-type": PREDICATE_TYPE},
            }],
        }))
    }

    fn index_json_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    fn write_index_json(&self, index: &Value) -> anyhow::Result<()> {
        std::fs::write(self.index_json_path(), serde_json::to_vec(index)?)?;
        Ok(())
    }

    /// The layout's `index.json`.
    pub fn index_json(&self) -> anyhow::Result<Value> {
        let bytes = std::fs::read(self.index_json_path()).context("reading index.json")?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Writes `manifest` (any bytes: an index or manifest built by the caller) and tags it `tag`
    /// with `media_type`. The blobs it references must be written already ([`OciLayout::write_blob`]).
    /// Returns its digest.
    pub fn add_raw(&self, tag: &str, media_type: &str, manifest: &[u8]) -> anyhow::Result<String> {
        let digest = self.write_blob(manifest)?;
        let blob = Blob {
            digest,
            size: manifest.len(),
        };
        self.tag(tag, media_type, &blob)?;
        Ok(blob.digest)
    }

    /// The digest tagged `tag` in `index.json`, if any.
    pub fn tagged_digest(&self, tag: &str) -> anyhow::Result<Option<String>> {
        let index = self.index_json()?;
        Ok(index["manifests"].as_array().and_then(|ms| {
            ms.iter()
                .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
                .and_then(|m| m["digest"].as_str().map(str::to_owned))
        }))
    }

    fn tag(&self, tag: &str, media_type: &str, blob: &Blob) -> anyhow::Result<()> {
        let mut index = self.index_json()?;
        let manifests = index["manifests"]
            .as_array_mut()
            .context("index.json has no manifests array")?;
        manifests.retain(|m| m["annotations"]["org.opencontainers.image.ref.name"] != tag);
        manifests.push(json!({
            "mediaType": media_type,
            "digest": blob.digest,
            "size": blob.size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        self.write_index_json(&index)
    }
}

fn empty_object_map(keys: &[String]) -> Value {
    Value::Object(keys.iter().map(|k| (k.clone(), json!({}))).collect())
}

/// A deterministic tar: fixed mtime, uid/gid 0, parent directories added before their contents.
fn layer_tar(files: &[(String, Vec<u8>)]) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    let mut dirs_done = BTreeSet::new();
    for (path, content) in files {
        let path = path.trim_start_matches('/');
        let is_dir = path.ends_with('/');
        let clean = path.trim_end_matches('/');
        if clean.is_empty() {
            bail!("empty path in layer");
        }
        // Parent directories.
        let parts: Vec<&str> = clean.split('/').collect();
        let n_parents = if is_dir { parts.len() } else { parts.len() - 1 };
        for i in 1..=n_parents {
            let dir = parts[..i].join("/");
            if dirs_done.insert(dir.clone()) {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                builder.append_data(&mut h, format!("{dir}/"), std::io::empty())?;
            }
        }
        if !is_dir {
            let mode = if content.starts_with(b"#!") {
                0o755
            } else {
                0o644
            };
            let mut h = header(tar::EntryType::Regular, mode, content.len() as u64);
            builder.append_data(&mut h, clean, content.as_slice())?;
        }
    }
    Ok(builder.into_inner()?)
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(TAR_MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// gzip with mtime 0 and no file name, default level.
fn gzip(bytes: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_digests() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let la = OciLayout::create(a.path()).unwrap();
        let lb = OciLayout::create(b.path()).unwrap();
        let spec = ImageSpec::simple("amd64");
        assert_eq!(
            la.add_image("x", &spec).unwrap(),
            lb.add_image("x", &spec).unwrap()
        );
        let specs = [ImageSpec::simple("amd64"), ImageSpec::simple("arm64")];
        let ia = la.add_index("m", &specs, true).unwrap();
        assert_eq!(ia, lb.add_index("m", &specs, true).unwrap());
        let index = la.read_json(&ia).unwrap();
        assert_eq!(index["manifests"].as_array().unwrap().len(), 4);
        assert_eq!(index["manifests"][2]["platform"]["os"], "unknown");
        assert_eq!(la.tagged_digest("m").unwrap().as_deref(), Some(ia.as_str()));
        // Re-tagging replaces.
        la.add_image("x", &ImageSpec::simple("s390x")).unwrap();
        assert_eq!(
            la.index_json().unwrap()["manifests"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn tar_has_parents_and_fixed_metadata() {
        let tar = layer_tar(&[
            ("/a/b/c.txt".into(), b"hi".to_vec()),
            ("a/d/".into(), vec![]),
        ])
        .unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().mtime().unwrap(), TAR_MTIME);
                e.path().unwrap().display().to_string()
            })
            .collect();
        assert_eq!(names, ["a/", "a/b/", "a/b/c.txt", "a/d/"]);
    }
}
