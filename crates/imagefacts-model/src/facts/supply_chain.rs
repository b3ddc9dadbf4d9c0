//! What an image's supply chain shows: signatures, attestations and SBOMs found beside it
//! (OCI 1.1 referrers, the `sha256-<hex>` tag schema cosign uses, BuildKit attestation manifests
//! in its index), and what an artifact manifest is.

use serde::{Deserialize, Serialize};

use crate::Digest;

/// What was found about one image's supply chain (`--supply-chain`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplyChain {
    /// A signature was found (cosign `.sig`, a notation or cosign signature referrer).
    pub signed: bool,
    /// An attestation was found (cosign `.att`, an in-toto / provenance referrer, a BuildKit
    /// attestation manifest).
    pub attested: bool,
    /// An SBOM was found (cosign `.sbom`, an SPDX / CycloneDX referrer or attestation).
    pub sbom: bool,
    /// How referrers were looked for.
    pub method: SupplyChainMethod,
    /// Everything found, in the order found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<SupplyChainArtifact>,
    /// Why the look was incomplete (e.g. the tag list could not be read), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How referrers were looked for.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum SupplyChainMethod {
    /// The registry answered the OCI 1.1 referrers API.
    ReferrersApi,
    /// The registry has no referrers API: the `sha256-<hex>` tag schema (an index of referrers,
    /// and cosign's `.sig`, `.att`, `.sbom` tags) from the repository's tag list.
    #[default]
    TagSchema,
}

/// One signature, attestation, SBOM or other artifact found for an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplyChainArtifact {
    /// What it is.
    pub kind: ArtifactKind,
    /// Its manifest digest.
    pub digest: Digest,
    /// Its manifest media type.
    pub media_type: String,
    /// Its `artifactType` (or config media type), when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Where it was found: `referrers`, `tag:<tag>`, or `index`.
    pub found: String,
}

/// What a supply-chain artifact is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum ArtifactKind {
    /// A signature.
    Signature,
    /// An attestation (provenance, in-toto statement).
    Attestation,
    /// A software bill of materials.
    Sbom,
    /// Another artifact naming the image as its subject.
    Other,
}

/// cosign's signature artifact type (and its `.sig` manifests' layer type).
pub const COSIGN_SIGNATURE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// Notation (Notary v2) signature artifact type.
pub const NOTATION_SIGNATURE: &str = "application/vnd.cncf.notary.signature";
/// An in-toto statement.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
/// A DSSE envelope (cosign attestations).
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// SPDX in JSON.
pub const SPDX_JSON: &str = "application/spdx+json";
/// CycloneDX in JSON.
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
/// SPDX tag-value.
pub const SPDX_TEXT: &str = "text/spdx";
/// The annotation naming an in-toto layer's predicate type (BuildKit, cosign).
pub const PREDICATE_TYPE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// The annotation naming a sigstore bundle referrer's predicate type (cosign 2.4+).
pub const SIGSTORE_PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// The predicate type sigstore bundles of plain signatures carry.
const SIGSTORE_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

impl ArtifactKind {
    /// What an artifact of `media_type` (an `artifactType`, a config or layer media type;
    /// parameters ignored) is: cosign and notation signatures are [`ArtifactKind::Signature`];
    /// in-toto statements and DSSE envelopes [`ArtifactKind::Attestation`]; SPDX, CycloneDX,
    /// syft and cosign SBOMs [`ArtifactKind::Sbom`]; anything else [`ArtifactKind::Other`].
    pub fn of_media_type(media_type: &str) -> ArtifactKind {
        let t = media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match t.as_str() {
            COSIGN_SIGNATURE
            | NOTATION_SIGNATURE
            | "application/vnd.dev.cosign.simplesigning.v1+json" => ArtifactKind::Signature,
            IN_TOTO | DSSE_ENVELOPE | "application/vnd.dev.cosign.attestation.v1+json" => {
                ArtifactKind::Attestation
            }
            "application/vnd.syft+json" | "application/vnd.dev.cosign.artifact.sbom.v1+json" => {
                ArtifactKind::Sbom
            }
            t if t.starts_with("application/vnd.in-toto") => ArtifactKind::Attestation,
            t if t.contains("spdx") || t.starts_with("application/vnd.cyclonedx") => {
                ArtifactKind::Sbom
            }
            _ => ArtifactKind::Other,
        }
    }

    /// What an attestation of in-toto predicate type `predicate` is: an SBOM for SPDX and
    /// CycloneDX predicates, a signature for a sigstore bundle's plain signature, else an
    /// attestation (provenance, vulnerability scans, ...).
    pub fn of_predicate_type(predicate: &str) -> ArtifactKind {
        let p = predicate.trim().to_ascii_lowercase();
        if p.contains("spdx.dev") || p.contains("cyclonedx.org") {
            ArtifactKind::Sbom
        } else if p == SIGSTORE_SIGN_PREDICATE {
            ArtifactKind::Signature
        } else {
            ArtifactKind::Attestation
        }
    }

    /// What a descriptor found beside an image is, from its `artifactType` (else its media
    /// type) and the predicate type annotations it carries: a sigstore bundle or in-toto
    /// referrer names its predicate in an annotation, which tells an SBOM attestation from
    /// provenance.
    pub fn of_descriptor(
        artifact_type: Option<&str>,
        media_type: &str,
        annotations: &std::collections::BTreeMap<String, String>,
    ) -> ArtifactKind {
        let by_type = ArtifactKind::of_media_type(artifact_type.unwrap_or(media_type));
        let predicate = annotations
            .get(PREDICATE_TYPE_ANNOTATION)
            .or_else(|| annotations.get(SIGSTORE_PREDICATE_ANNOTATION));
        match (by_type, predicate) {
            (ArtifactKind::Attestation | ArtifactKind::Other, Some(p)) => {
                ArtifactKind::of_predicate_type(p)
            }
            (kind, _) => kind,
        }
    }

    /// What cosign's tag suffix names: `.sig` a signature, `.att` an attestation, `.sbom` an
    /// SBOM.
    pub fn of_cosign_suffix(suffix: &str) -> Option<ArtifactKind> {
        match suffix {
            "sig" => Some(ArtifactKind::Signature),
            "att" => Some(ArtifactKind::Attestation),
            "sbom" => Some(ArtifactKind::Sbom),
            _ => None,
        }
    }
}

/// cosign's tag suffixes, in the order they are looked for.
pub const COSIGN_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// The OCI 1.1 fallback referrers tag of `digest`: `sha256-<hex>` (an index of the referrers,
/// kept by clients on registries without the referrers API). cosign's tags add `.sig`, `.att`
/// or `.sbom` to it.
pub fn referrers_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm().as_str(), digest.hex())
}

/// Whether `tag` is one of the tag schema's (`sha256-<hex>`, optionally with a cosign suffix):
/// a tag naming a digest, not a version.
pub fn is_referrers_tag(tag: &str) -> bool {
    let Some((algorithm, rest)) = tag.split_once('-') else {
        return false;
    };
    let hex = rest.split_once('.').map_or(rest, |(h, _)| h);
    matches!(algorithm, "sha256" | "sha512")
        && hex.len() >= 64
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

impl SupplyChain {
    /// What `artifacts` show, found by `method`: the flags say whether any artifact of each
    /// kind is among them.
    pub fn of(
        method: SupplyChainMethod,
        artifacts: Vec<SupplyChainArtifact>,
        error: Option<String>,
    ) -> SupplyChain {
        let any = |kind| artifacts.iter().any(|a| a.kind == kind);
        SupplyChain {
            signed: any(ArtifactKind::Signature),
            attested: any(ArtifactKind::Attestation),
            sbom: any(ArtifactKind::Sbom),
            method,
            artifacts,
            error,
        }
    }
}

/// Supply-chain totals over a facts file (`summary.supplyChain`), present when any image was
/// looked at with `--supply-chain`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupplyChainSummary {
    /// Entries whose supply chain was looked at (`supplyChain` present).
    pub checked: usize,
    /// Of those, entries with a signature.
    pub signed: usize,
    /// Entries with an attestation.
    pub attested: usize,
    /// Entries with an SBOM.
    pub sbom: usize,
}

impl SupplyChainSummary {
    /// The totals over `chains` (one per entry that has one); `None` when there is none.
    pub fn of<'a>(chains: impl IntoIterator<Item = &'a SupplyChain>) -> Option<SupplyChainSummary> {
        let mut s = SupplyChainSummary::default();
        for c in chains {
            s.checked += 1;
            s.signed += usize::from(c.signed);
            s.attested += usize::from(c.attested);
            s.sbom += usize::from(c.sbom);
        }
        (s.checked > 0).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_media_types_predicates_and_suffixes() {
        use ArtifactKind::*;
        for (t, kind) in [
            (COSIGN_SIGNATURE, Signature),
            (NOTATION_SIGNATURE, Signature),
            (IN_TOTO, Attestation),
            (DSSE_ENVELOPE, Attestation),
            (SPDX_JSON, Sbom),
            (CYCLONEDX_JSON, Sbom),
            (SPDX_TEXT, Sbom),
            ("application/vnd.cyclonedx+xml; charset=utf-8", Sbom),
            ("application/vnd.cncf.helm.config.v1+json", Other),
            ("", Other),
        ] {
            assert_eq!(ArtifactKind::of_media_type(t), kind, "{t}");
        }
        assert_eq!(
            ArtifactKind::of_predicate_type("https://spdx.dev/Document"),
            Sbom
        );
        assert_eq!(
            ArtifactKind::of_predicate_type("https://cyclonedx.org/bom"),
            Sbom
        );
        assert_eq!(
            ArtifactKind::of_predicate_type("https://slsa.dev/provenance/v0.2"),
            Attestation
        );
        let annotated = |k: &str, v: &str| [(k.to_owned(), v.to_owned())].into_iter().collect();
        let bundle = "application/vnd.dev.sigstore.bundle.v0.3+json";
        assert_eq!(
            ArtifactKind::of_descriptor(
                Some(bundle),
                "",
                &annotated(SIGSTORE_PREDICATE_ANNOTATION, SIGSTORE_SIGN_PREDICATE)
            ),
            Signature
        );
        assert_eq!(
            ArtifactKind::of_descriptor(
                Some(IN_TOTO),
                "",
                &annotated(PREDICATE_TYPE_ANNOTATION, "https://spdx.dev/Document")
            ),
            Sbom
        );
        // A signature stays a signature whatever it is annotated with.
        assert_eq!(
            ArtifactKind::of_descriptor(
                Some(COSIGN_SIGNATURE),
                "",
                &annotated(PREDICATE_TYPE_ANNOTATION, "https://spdx.dev/Document")
            ),
            Signature
        );
        assert_eq!(ArtifactKind::of_cosign_suffix("sig"), Some(Signature));
        assert_eq!(ArtifactKind::of_cosign_suffix("att"), Some(Attestation));
        assert_eq!(ArtifactKind::of_cosign_suffix("sbom"), Some(Sbom));
        assert_eq!(ArtifactKind::of_cosign_suffix("x"), None);
    }

    #[test]
    fn tag_schema_tags() {
        let d = Digest::sha256_of(b"x");
        let tag = referrers_tag(&d);
        assert_eq!(tag, format!("sha256-{}", d.hex()));
        assert!(is_referrers_tag(&tag));
        assert!(is_referrers_tag(&format!("{tag}.sig")));
        assert!(!is_referrers_tag("sha256-abc"));
        assert!(!is_referrers_tag("1.25.3"));
        assert!(!is_referrers_tag("latest"));
    }

    #[test]
    fn flags_and_summary() {
        let artifact = |kind| SupplyChainArtifact {
            kind,
            digest: Digest::sha256_of(b"a"),
            media_type: String::new(),
            artifact_type: None,
            found: "index".into(),
        };
        let c = SupplyChain::of(
            SupplyChainMethod::TagSchema,
            vec![
                artifact(ArtifactKind::Signature),
                artifact(ArtifactKind::Other),
            ],
            None,
        );
        assert!(c.signed && !c.attested && !c.sbom);
        let none = SupplyChain::of(SupplyChainMethod::ReferrersApi, Vec::new(), None);
        assert!(!none.signed && !none.attested && !none.sbom);
        assert_eq!(SupplyChainSummary::of([]), None);
        let s = SupplyChainSummary::of([&c, &none]).unwrap();
        assert_eq!((s.checked, s.signed, s.attested, s.sbom), (2, 1, 0, 0));
    }
}
