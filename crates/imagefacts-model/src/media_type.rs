//! Media types of manifests and blobs, and the `Accept` list a client must send.

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Docker manifest list (multi-platform).
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// The empty config (`{}`) of an OCI 1.1 artifact manifest: not an image config.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Docker schema 1 manifest (deprecated, unsupported).
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Signed Docker schema 1 manifest (deprecated, unsupported).
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// The manifest media types imagefacts understands, in order of preference.
pub const MANIFEST_ACCEPT: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_V2,
];

/// The value of the `Accept` header for manifest requests: every supported type, so that no
/// registry converts a manifest (to schema 1) or hides an OCI manifest behind a 404.
pub fn manifest_accept_header() -> String {
    MANIFEST_ACCEPT.join(", ")
}

/// What a manifest media type denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// A list of per-platform manifests (OCI index or Docker manifest list).
    Index,
    /// A single image manifest (OCI or Docker v2 schema 2).
    Image,
    /// Docker schema 1, recognised but not supported.
    Schema1,
    /// Anything else.
    Other,
}

/// Classifies a media type (parameters such as `; charset=utf-8` are ignored).
pub fn classify(media_type: &str) -> ManifestKind {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    match essence {
        OCI_INDEX | DOCKER_MANIFEST_LIST => ManifestKind::Index,
        OCI_MANIFEST | DOCKER_MANIFEST_V2 => ManifestKind::Image,
        DOCKER_MANIFEST_V1 | DOCKER_MANIFEST_V1_SIGNED => ManifestKind::Schema1,
        _ => ManifestKind::Other,
    }
}

/// Whether `media_type` (parameters ignored) is an image config's: OCI or Docker. Anything else
/// as a manifest's config (the empty config [`OCI_EMPTY`], a Helm chart's config, ...) makes the
/// manifest an artifact.
pub fn is_image_config(media_type: &str) -> bool {
    matches!(
        media_type.split(';').next().unwrap_or("").trim(),
        OCI_CONFIG | DOCKER_CONFIG
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify(OCI_INDEX), ManifestKind::Index);
        assert_eq!(classify(DOCKER_MANIFEST_LIST), ManifestKind::Index);
        assert_eq!(
            classify("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            ManifestKind::Image
        );
        assert_eq!(classify(DOCKER_MANIFEST_V1_SIGNED), ManifestKind::Schema1);
        assert_eq!(classify("application/json"), ManifestKind::Other);
        assert!(manifest_accept_header().contains(DOCKER_MANIFEST_V2));
        assert!(is_image_config(OCI_CONFIG));
        assert!(is_image_config(
            "application/vnd.docker.container.image.v1+json; x=y"
        ));
        assert!(!is_image_config(OCI_EMPTY));
        assert!(!is_image_config("application/vnd.cncf.helm.config.v1+json"));
    }
}
