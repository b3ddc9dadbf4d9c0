//! Telling OCI artifacts from images among an index's children, and what an index of artifacts
//! only is.

use imagefacts_model::Platform;
use imagefacts_model::facts::supply_chain::IN_TOTO;
use imagefacts_model::manifest::{Descriptor, ImageIndex};

/// Annotation buildkit puts on attestation children of an index.
pub(crate) const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
/// Annotation naming the manifest an attestation describes.
pub(crate) const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// The [`REFERENCE_TYPE`] of a BuildKit attestation manifest.
pub(crate) const ATTESTATION_MANIFEST: &str = "attestation-manifest";

/// Whether an index child says it is an artifact: an `artifactType` on its descriptor, or
/// BuildKit's reference type annotation.
pub(crate) fn is_artifact_child(d: &Descriptor) -> bool {
    d.annotations.contains_key(REFERENCE_TYPE)
        || d.artifact_type.as_deref().is_some_and(|t| !t.is_empty())
}

/// Whether an index child is not a runnable image: an artifact, or a child without a platform
/// or of `unknown/unknown`. Listed in `attestations`, never among `platforms`.
pub(crate) fn is_attestation(d: &Descriptor) -> bool {
    is_artifact_child(d)
        || d.platform
            .as_ref()
            .is_none_or(|p| Platform::from(p).is_unknown())
}

/// Whether `d` is a BuildKit attestation manifest.
pub(crate) fn is_buildkit_attestation(d: &Descriptor) -> bool {
    d.annotations.get(REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST)
}

/// The `artifactType` an index is reported with when it is an artifact, `None` when it is not
/// one. An index is an artifact when it says so (its own `artifactType`) or when every child is
/// an artifact (an index of referrers, of attestations); an empty index is not. Its type is its
/// own `artifactType`, else the one type all its children share (a BuildKit attestation
/// manifest's being in-toto, the type of its layers), else the index's media type (artifacts of
/// several kinds).
pub(crate) fn index_artifact_type(index: &ImageIndex) -> Option<String> {
    if let Some(t) = index.artifact_type.as_deref().filter(|t| !t.is_empty()) {
        return Some(t.to_owned());
    }
    if index.manifests.is_empty() || !index.manifests.iter().all(is_artifact_child) {
        return None;
    }
    let child_type = |d: &Descriptor| {
        d.artifact_type
            .clone()
            .filter(|t| !t.is_empty())
            .or_else(|| is_buildkit_attestation(d).then(|| IN_TOTO.to_owned()))
    };
    let first = child_type(&index.manifests[0]);
    let common = first.filter(|t| {
        index
            .manifests
            .iter()
            .all(|d| child_type(d).as_ref() == Some(t))
    });
    Some(common.unwrap_or_else(|| index.media_type.clone()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use imagefacts_model::media_type;

    /// An index child for tests.
    pub(crate) fn desc(
        platform: Option<(&str, &str)>,
        annotations: &[(&str, &str)],
        artifact_type: Option<&str>,
    ) -> Descriptor {
        Descriptor {
            media_type: media_type::OCI_MANIFEST.to_owned(),
            digest: imagefacts_model::Digest::sha256_of(b"x"),
            size: 1,
            platform: platform.map(
                |(os, arch)| imagefacts_model::manifest::DescriptorPlatform {
                    os: os.into(),
                    architecture: arch.into(),
                    ..Default::default()
                },
            ),
            annotations: annotations
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            artifact_type: artifact_type.map(str::to_owned),
        }
    }

    fn index(manifests: Vec<Descriptor>, artifact_type: Option<&str>) -> ImageIndex {
        ImageIndex {
            media_type: media_type::OCI_INDEX.to_owned(),
            schema_version: 2,
            manifests,
            annotations: Default::default(),
            artifact_type: artifact_type.map(str::to_owned),
            subject: None,
        }
    }

    #[test]
    fn attestations_are_recognised() {
        assert!(is_attestation(&desc(
            Some(("unknown", "unknown")),
            &[],
            None
        )));
        assert!(is_attestation(&desc(None, &[], None)));
        assert!(is_attestation(&desc(
            Some(("linux", "amd64")),
            &[(REFERENCE_TYPE, ATTESTATION_MANIFEST)],
            None
        )));
        assert!(is_attestation(&desc(
            Some(("linux", "amd64")),
            &[],
            Some("application/spdx+json")
        )));
        assert!(!is_attestation(&desc(Some(("linux", "amd64")), &[], None)));
        assert!(!is_artifact_child(&desc(
            Some(("unknown", "unknown")),
            &[],
            None
        )));
    }

    #[test]
    fn artifact_indexes_and_their_type() {
        let sig = desc(
            None,
            &[],
            Some("application/vnd.dev.cosign.artifact.sig.v1+json"),
        );
        let sbom = desc(None, &[], Some("application/spdx+json"));
        let buildkit = desc(
            Some(("unknown", "unknown")),
            &[(REFERENCE_TYPE, ATTESTATION_MANIFEST)],
            None,
        );
        let image = desc(Some(("linux", "amd64")), &[], None);
        let unknown = desc(Some(("unknown", "unknown")), &[], None);
        assert_eq!(
            index_artifact_type(&index(vec![sig.clone(), sig.clone()], None)).as_deref(),
            Some("application/vnd.dev.cosign.artifact.sig.v1+json")
        );
        assert_eq!(
            index_artifact_type(&index(vec![buildkit], None)).as_deref(),
            Some(IN_TOTO)
        );
        assert_eq!(
            index_artifact_type(&index(vec![sig.clone(), sbom], None)).as_deref(),
            Some(media_type::OCI_INDEX)
        );
        assert_eq!(
            index_artifact_type(&index(vec![image.clone()], Some("application/x"))).as_deref(),
            Some("application/x")
        );
        assert_eq!(index_artifact_type(&index(vec![image, sig], None)), None);
        assert_eq!(index_artifact_type(&index(vec![unknown], None)), None);
        assert_eq!(index_artifact_type(&index(Vec::new(), None)), None);
    }
}
