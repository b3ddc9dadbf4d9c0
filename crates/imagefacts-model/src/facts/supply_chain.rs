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
