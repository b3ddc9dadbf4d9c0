//! Manifests, indexes and image configs as registries serve them, parsed from bytes.
//!
//! [`parse_manifest`] accepts OCI image indexes and manifests and their Docker v2 schema 2
//! equivalents, recognises schema 1 (reported as unsupported, never converted) and rejects
//! anything else with a typed [`ManifestError`]. [`parse_config`] reads an image config blob.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::digest::Digest;
use crate::media_type::{self, ManifestKind};
use crate::platform::Platform;

/// A content descriptor: what a manifest or index says about another blob.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    #[serde(default)]
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: Digest,
    /// Size in bytes of the referenced content (an int64 in the OCI spec: larger values are
    /// rejected).
    #[serde(default, deserialize_with = "int64_size")]
    pub size: u64,
    /// Platform of a manifest referenced from an index.
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Artifact type of an artifact manifest.
    #[serde(default)]
    pub artifact_type: Option<String>,
}

/// A platform as written in an index descriptor (`os.version` and `os.features` keys).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct DescriptorPlatform {
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// Operating system.
    #[serde(default)]
    pub os: String,
    /// CPU variant.
    #[serde(default)]
    pub variant: Option<String>,
    /// OS version.
    #[serde(default, rename = "os.version")]
    pub os_version: Option<String>,
    /// OS features.
    #[serde(default, rename = "os.features")]
    pub os_features: Option<Vec<String>>,
}

impl From<&DescriptorPlatform> for Platform {
    fn from(p: &DescriptorPlatform) -> Platform {
        Platform {
            architecture: p.architecture.clone(),
            os: p.os.clone(),
            variant: p.variant.clone().filter(|v| !v.is_empty()),
            os_version: p.os_version.clone().filter(|v| !v.is_empty()),
            os_features: p.os_features.clone().unwrap_or_default(),
        }
    }
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    /// The media type: from the document, else from the response's `Content-Type`.
    pub media_type: String,
    /// Always 2.
    pub schema_version: u32,
    /// One descriptor per child manifest.
    pub manifests: Vec<Descriptor>,
    /// Index annotations.
    pub annotations: BTreeMap<String, String>,
    /// Artifact type of an OCI 1.1 index that is an artifact.
    pub artifact_type: Option<String>,
    /// The manifest this index describes (OCI 1.1 `subject`), when it names one (boxed: an
    /// index is kept unboxed in [`Manifest`]).
    pub subject: Option<Box<Descriptor>>,
}

/// A single-platform image manifest (OCI or Docker v2 schema 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageManifest {
    /// The media type: from the document, else from the response's `Content-Type`.
    pub media_type: String,
    /// Always 2.
    pub schema_version: u32,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
    /// Manifest annotations.
    pub annotations: BTreeMap<String, String>,
    /// Artifact type, for artifact manifests.
    pub artifact_type: Option<String>,
    /// The manifest this one describes (OCI 1.1 `subject`: a signature's or SBOM's image), when
    /// it names one.
    pub subject: Option<Descriptor>,
}

/// The largest size the OCI spec (an int64) and upstream troubleshoot's `size` can hold.
pub const MAX_SIZE: u64 = i64::MAX as u64;

/// A descriptor's `size`: a non-negative integer that fits an int64.
fn int64_size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let size = u64::deserialize(d)?;
    if size > MAX_SIZE {
        return Err(serde::de::Error::custom(format!(
            "size {size} does not fit an int64"
        )));
    }
    Ok(size)
}

/// Sums sizes without wrapping: the total saturates at [`MAX_SIZE`].
pub fn sum_sizes(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes
        .into_iter()
        .fold(0u64, u64::saturating_add)
        .min(MAX_SIZE)
}

impl ImageManifest {
    /// What the manifest is when it is an OCI artifact rather than an image: its `artifactType`,
    /// else its config media type when that is not an image config's (the empty config
    /// `application/vnd.oci.empty.v1+json`, a Helm chart's, ...). `None` for an image. A config
    /// without a media type counts as an image config.
    pub fn artifact(&self) -> Option<&str> {
        self.artifact_type
            .as_deref()
            .filter(|t| !t.is_empty())
            .or_else(|| (!self.has_image_config()).then_some(self.config.media_type.as_str()))
    }

    /// Whether the config blob is an image config (OCI or Docker, or unnamed), worth fetching
    /// for the platform and runtime configuration.
    pub fn has_image_config(&self) -> bool {
        self.config.media_type.is_empty() || media_type::is_image_config(&self.config.media_type)
    }

    /// Sum of the layer sizes, as upstream troubleshoot reports an image's `size` (saturating
    /// at [`MAX_SIZE`], never wrapping).
    pub fn layers_size(&self) -> u64 {
        sum_sizes(self.layers.iter().map(|l| l.size))
    }
}

/// A parsed manifest document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// A multi-platform index.
    Index(ImageIndex),
    /// A single image.
    Image(Box<ImageManifest>),
}

impl Manifest {
    /// The manifest's media type.
    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Index(i) => &i.media_type,
            Manifest::Image(m) => &m.media_type,
        }
    }

    /// The manifest's schema version.
    pub fn schema_version(&self) -> u32 {
        match self {
            Manifest::Index(i) => i.schema_version,
            Manifest::Image(m) => m.schema_version,
        }
    }
}

/// Why a manifest or config could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed ("manifest", "image config").
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// A Docker schema 1 manifest.
    #[error(
        "Docker schema 1 manifests are not supported (media type {media_type:?}); push the image again with a current client"
    )]
    Schema1 {
        /// The schema 1 media type seen.
        media_type: String,
    },
    /// A media type that is not an image manifest or index.
    #[error("unsupported manifest media type {media_type:?}")]
    UnsupportedMediaType {
        /// The media type seen.
        media_type: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    artifact_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_descriptor")]
    subject: Option<Descriptor>,
}

/// A `subject` that is not a well-formed descriptor is ignored, not a reason to refuse the
/// manifest: what the manifest is does not depend on it.
fn lenient_descriptor<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Descriptor>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

fn malformed(what: &'static str, detail: impl ToString) -> ManifestError {
    ManifestError::Malformed {
        what,
        detail: detail.to_string(),
    }
}

/// Serde accepts a JSON array for a struct; a manifest or config must be an object.
fn require_object(what: &'static str, bytes: &[u8]) -> Result<(), ManifestError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(()),
        _ => Err(malformed(what, "expected a JSON object")),
    }
}

/// Parses a manifest body. `content_type` is the response's `Content-Type`, used when the document
/// carries no `mediaType` of its own.
///
/// # Errors
///
/// [`ManifestError::Schema1`] for Docker schema 1, [`ManifestError::UnsupportedMediaType`] for
/// anything that is neither an index nor an image manifest, [`ManifestError::Malformed`] when the
/// body is not a well-formed manifest.
pub fn parse_manifest(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
    require_object("manifest", bytes)?;
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|e| malformed("manifest", e))?;
    let declared = raw
        .media_type
        .clone()
        .filter(|m| !m.is_empty())
        .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_owned()))
        .filter(|m| !m.is_empty() && media_type::classify(m) != ManifestKind::Other);
    if raw.schema_version == Some(1) {
        return Err(ManifestError::Schema1 {
            media_type: declared.unwrap_or_else(|| media_type::DOCKER_MANIFEST_V1.to_owned()),
        });
    }
    // Without a usable declared type, infer it from the document's shape (OCI allows omitting it).
    let media_type = match declared {
        Some(m) => m,
        None if raw.manifests.is_some() => media_type::OCI_INDEX.to_owned(),
        None if raw.config.is_some() => media_type::OCI_MANIFEST.to_owned(),
        None => {
            return Err(ManifestError::UnsupportedMediaType {
                media_type: raw
                    .media_type
                    .or(content_type.map(str::to_owned))
                    .unwrap_or_default(),
            });
        }
    };
    let schema_version = raw.schema_version.unwrap_or(2);
    if schema_version != 2 {
        return Err(malformed(
            "manifest",
            format!("unknown schemaVersion {schema_version}"),
        ));
    }
    match media_type::classify(&media_type) {
        ManifestKind::Index => Ok(Manifest::Index(ImageIndex {
            media_type,
            schema_version,
            manifests: raw
                .manifests
                .ok_or_else(|| malformed("manifest", "index without \"manifests\""))?,
            annotations: raw.annotations,
            artifact_type: raw.artifact_type,
            subject: raw.subject.map(Box::new),
        })),
        ManifestKind::Image => Ok(Manifest::Image(Box::new(ImageManifest {
            media_type,
            schema_version,
            config: raw
                .config
                .ok_or_else(|| malformed("manifest", "image manifest without \"config\""))?,
            layers: raw.layers.unwrap_or_default(),
            annotations: raw.annotations,
            artifact_type: raw.artifact_type,
            subject: raw.subject,
        }))),
        ManifestKind::Schema1 => Err(ManifestError::Schema1 { media_type }),
        ManifestKind::Other => Err(ManifestError::UnsupportedMediaType { media_type }),
    }
}

/// An image config blob (`application/vnd.oci.image.config.v1+json` or the Docker equivalent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ImageConfig {
    /// The platform the config declares (same keys as an index descriptor's platform).
    #[serde(flatten)]
    pub platform: DescriptorPlatform,
    /// Creation time (RFC 3339), as written.
    #[serde(default)]
    pub created: Option<String>,
    /// Author.
    #[serde(default)]
    pub author: Option<String>,
    /// The runtime configuration.
    #[serde(default)]
    pub config: Option<ContainerConfig>,
}

impl ImageConfig {
    /// The platform the config declares.
    pub fn platform(&self) -> Platform {
        Platform::from(&self.platform)
    }
}

/// The `config` section of an image config (Docker's PascalCase keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// User (name or uid[:gid]).
    #[serde(default)]
    pub user: Option<String>,
    /// Exposed ports (`"80/tcp": {}`).
    #[serde(default)]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// Environment (`KEY=value`).
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// Entrypoint.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// Default arguments.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// Volumes (`"/data": {}`).
    #[serde(default)]
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    /// Working directory.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Stop signal.
    #[serde(default)]
    pub stop_signal: Option<String>,
}

/// Parses an image config blob.
///
/// # Errors
///
/// [`ManifestError::Malformed`] when the body is not a JSON image config.
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfig, ManifestError> {
    require_object("image config", bytes)?;
    serde_json::from_slice(bytes).map_err(|e| malformed("image config", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        Digest::sha256_of(&[n]).to_string()
    }

    #[test]
    fn parses_oci_index_with_platforms() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[
            {{"mediaType":"{}","digest":"{}","size":10,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}},
            {{"mediaType":"{}","digest":"{}","size":11,"platform":{{"architecture":"amd64","os":"windows","os.version":"10.0"}}}}]}}"#,
            media_type::OCI_INDEX,
            media_type::OCI_MANIFEST,
            d(1),
            media_type::OCI_MANIFEST,
            d(2)
        );
        let Manifest::Index(i) = parse_manifest(body.as_bytes(), None).unwrap() else {
            panic!("not an index")
        };
        assert_eq!(i.manifests.len(), 2);
        let p: Platform = i.manifests[1].platform.as_ref().unwrap().into();
        assert_eq!(p.os_version.as_deref(), Some("10.0"));
        assert_eq!(p.to_string(), "windows/amd64");
    }

    #[test]
    fn media_type_from_content_type_or_shape() {
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{}","digest":"{}","size":3}},"layers":[{{"digest":"{}","size":5}},{{"digest":"{}","size":7}}]}}"#,
            media_type::DOCKER_CONFIG,
            d(1),
            d(2),
            d(3)
        );
        let m = parse_manifest(body.as_bytes(), Some(media_type::DOCKER_MANIFEST_V2)).unwrap();
        assert_eq!(m.media_type(), media_type::DOCKER_MANIFEST_V2);
        let Manifest::Image(img) = parse_manifest(body.as_bytes(), None).unwrap() else {
            panic!()
        };
        assert_eq!(img.media_type, media_type::OCI_MANIFEST);
        assert_eq!(img.layers_size(), 12);
    }

    #[test]
    fn hostile_sizes_neither_wrap_nor_overflow_int64() {
        let half = 1u64 << 62;
        let layer = |size: u64| {
            format!(
                r#"{{"digest":"{}","size":{size}}}"#,
                Digest::sha256_of(size.to_string().as_bytes())
            )
        };
        let doc = |a: u64, b: u64| {
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"digest":"{}","size":3}},"layers":[{},{}]}}"#,
                media_type::OCI_MANIFEST,
                Digest::sha256_of(b"c"),
                layer(a),
                layer(b)
            )
        };
        // Two layers of 2^63 bytes: each is more than an int64 holds, so the manifest is malformed.
        let err = parse_manifest(doc(1 << 63, 1 << 63).as_bytes(), None).unwrap_err();
        assert!(err.to_string().contains("int64"), "{err}");
        // Each fits but the sum does not: it saturates instead of wrapping to a small number.
        let Manifest::Image(img) = parse_manifest(doc(MAX_SIZE, half).as_bytes(), None).unwrap()
        else {
            panic!("an image manifest")
        };
        assert_eq!(img.layers_size(), MAX_SIZE);
        assert_eq!(sum_sizes([u64::MAX, u64::MAX]), MAX_SIZE);
        assert_eq!(sum_sizes([1, 2]), 3);
    }

    #[test]
    fn rejects_schema1_unknown_and_garbage() {
        let s1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert!(matches!(
            parse_manifest(s1, Some(media_type::DOCKER_MANIFEST_V1_SIGNED)),
            Err(ManifestError::Schema1 { .. })
        ));
        assert!(matches!(
            parse_manifest(s1, None),
            Err(ManifestError::Schema1 { .. })
        ));
        let other = br#"{"schemaVersion":2,"mediaType":"application/vnd.example+json"}"#;
        assert!(matches!(
            parse_manifest(other, None),
            Err(ManifestError::UnsupportedMediaType { .. })
        ));
        assert!(matches!(
            parse_manifest(b"<html>", None),
            Err(ManifestError::Malformed { .. })
        ));
        let bad_digest = br#"{"schemaVersion":2,"manifests":[{"digest":"sha256:zz","size":1}]}"#;
        assert!(matches!(
            parse_manifest(bad_digest, None),
            Err(ManifestError::Malformed { .. })
        ));
    }

    #[test]
    fn artifacts_are_told_from_images() {
        let doc = |config_type: &str, artifact_type: Option<&str>| {
            let mut m = serde_json::json!({
                "schemaVersion": 2, "mediaType": media_type::OCI_MANIFEST,
                "config": {"mediaType": config_type, "digest": d(1), "size": 2},
                "layers": [{"mediaType": "application/spdx+json", "digest": d(2), "size": 3}],
                "subject": {"mediaType": media_type::OCI_MANIFEST, "digest": d(3), "size": 4},
            });
            if let Some(t) = artifact_type {
                m["artifactType"] = t.into();
            }
            let Manifest::Image(m) = parse_manifest(m.to_string().as_bytes(), None).unwrap() else {
                panic!("an image manifest")
            };
            m
        };
        let spdx = doc(media_type::OCI_EMPTY, Some("application/spdx+json"));
        assert_eq!(spdx.artifact(), Some("application/spdx+json"));
        assert!(!spdx.has_image_config());
        assert_eq!(spdx.subject.as_ref().unwrap().digest.to_string(), d(3));
        let helm = doc("application/vnd.cncf.helm.config.v1+json", None);
        assert_eq!(
            helm.artifact(),
            Some("application/vnd.cncf.helm.config.v1+json")
        );
        let image = doc(media_type::OCI_CONFIG, None);
        assert_eq!(image.artifact(), None);
        assert!(image.has_image_config());
        // An image config beside an artifactType: an artifact whose config is still worth reading.
        let typed = doc(media_type::OCI_CONFIG, Some("application/vnd.example"));
        assert_eq!(typed.artifact(), Some("application/vnd.example"));
        assert!(typed.has_image_config());
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","artifactType":"application/vnd.example","manifests":[],"subject":{{"digest":"{}","size":1}}}}"#,
            media_type::OCI_INDEX,
            d(4)
        );
        let Manifest::Index(i) = parse_manifest(index.as_bytes(), None).unwrap() else {
            panic!("an index")
        };
        assert_eq!(i.artifact_type.as_deref(), Some("application/vnd.example"));
        assert_eq!(i.subject.unwrap().digest.to_string(), d(4));
    }

    #[test]
    fn parses_config_with_nulls() {
        let body = br#"{"architecture":"amd64","os":"linux","os.features":null,"variant":"","created":"2024-01-02T03:04:05Z",
            "config":{"User":"1000","ExposedPorts":{"80/tcp":{}},"Env":["A=b"],"Entrypoint":null,
            "Cmd":["run"],"Volumes":null,"WorkingDir":"/app","Labels":{"k":"v"}}}"#;
        let c = parse_config(body).unwrap();
        assert_eq!(c.platform().to_string(), "linux/amd64");
        let cc = c.config.unwrap();
        assert_eq!(cc.user.as_deref(), Some("1000"));
        assert_eq!(cc.entrypoint, None);
        assert_eq!(cc.labels.unwrap()["k"], "v");
        assert!(parse_config(b"[]").is_err());
    }
}
