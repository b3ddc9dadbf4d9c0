//! Platforms (`os/architecture[/variant]`) and how they are matched.
//!
//! Matching normalises the spellings the ecosystem uses (`x86_64` = `amd64`, `aarch64` = `arm64`,
//! `arm64` without a variant = `arm64/v8`, `arm` without a variant = `arm/v7`), as containerd does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An image platform as written in facts.json.
#[derive(
    Debug,
    Clone,
    Default,
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
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, ...).
    pub architecture: String,
    /// Operating system (`linux`, `windows`).
    pub os: String,
    /// CPU variant (`v8`, `v7`), when the image names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Operating system version (Windows images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Required operating system features (Windows images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
}

/// Why a platform string is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {input:?}: expected os/arch[/variant], e.g. linux/arm64/v8")]
pub struct PlatformError {
    /// The rejected input.
    pub input: String,
}

impl Platform {
    /// A platform with just an OS and architecture.
    pub fn new(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.to_owned(),
            architecture: architecture.to_owned(),
            ..Platform::default()
        }
    }

    /// `linux/amd64`, the default platform chosen from a multi-platform image.
    pub fn linux_amd64() -> Platform {
        Platform::new("linux", "amd64")
    }

    /// Whether this is the `unknown/unknown` platform buildkit gives to attestation manifests.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }

    /// The normalised (architecture, variant) pair used for matching.
    fn normalized(&self) -> (String, String, String) {
        let os = self.os.to_ascii_lowercase();
        let arch = self.architecture.to_ascii_lowercase();
        let variant = self
            .variant
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (arch, variant) = match (arch.as_str(), variant.as_str()) {
            ("x86_64" | "x86-64", v) => ("amd64".to_owned(), v.to_owned()),
            ("aarch64" | "arm64", "" | "8" | "v8") => ("arm64".to_owned(), "v8".to_owned()),
            ("aarch64", v) => ("arm64".to_owned(), v.to_owned()),
            ("armhf", _) => ("arm".to_owned(), "v7".to_owned()),
            ("armel", _) => ("arm".to_owned(), "v6".to_owned()),
            ("arm", "" | "7") => ("arm".to_owned(), "v7".to_owned()),
            ("arm", "5" | "6" | "8") => ("arm".to_owned(), format!("v{variant}")),
            ("i386" | "i686" | "x86", v) => ("386".to_owned(), v.to_owned()),
            (a, v) => (a.to_owned(), v.to_owned()),
        };
        (os, arch, variant)
    }

    /// Whether an image built for `self` satisfies a request for `wanted`.
    ///
    /// The OS and normalised architecture must be equal; when `wanted` names no variant any variant
    /// matches, otherwise the normalised variants must be equal.
    pub fn matches(&self, wanted: &Platform) -> bool {
        let (os, arch, variant) = self.normalized();
        let (w_os, w_arch, w_variant) = wanted.normalized();
        os == w_os
            && arch == w_arch
            && (wanted.variant.as_deref().unwrap_or("").is_empty() || variant == w_variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = || PlatformError {
            input: input.to_owned(),
        };
        let parts: Vec<&str> = input.split('/').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        };
        if !(2..=3).contains(&parts.len()) || !parts.iter().all(|p| valid(p)) {
            return Err(err());
        }
        Ok(Platform {
            os: parts[0].to_owned(),
            architecture: parts[1].to_owned(),
            variant: parts.get(2).map(|v| (*v).to_owned()),
            ..Platform::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        for s in [
            "linux/amd64",
            "linux/arm64/v8",
            "windows/amd64",
            "linux/arm/v7",
        ] {
            assert_eq!(p(s).to_string(), s);
        }
        for bad in ["", "linux", "linux/", "/amd64", "a/b/c/d", "linux/am d64"] {
            assert!(bad.parse::<Platform>().is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_normalises() {
        let cases = [
            ("linux/amd64", "linux/amd64", true),
            ("linux/amd64", "linux/x86_64", true),
            ("linux/arm64/v8", "linux/arm64", true),
            ("linux/arm64", "linux/arm64/v8", true),
            ("linux/aarch64", "linux/arm64/v8", true),
            ("linux/arm/v7", "linux/arm", true),
            ("linux/arm/v6", "linux/arm/v7", false),
            ("linux/arm64", "linux/amd64", false),
            ("windows/amd64", "linux/amd64", false),
            ("linux/arm/v7", "linux/arm/v7", true),
        ];
        for (image, wanted, want) in cases {
            assert_eq!(p(image).matches(&p(wanted)), want, "{image} vs {wanted}");
        }
    }

    #[test]
    fn serializes_camel_case() {
        let mut pl = p("windows/amd64");
        pl.os_version = Some("10.0.17763.1".into());
        let v = serde_json::to_value(&pl).unwrap();
        assert_eq!(v["osVersion"], "10.0.17763.1");
        assert!(v.get("variant").is_none());
    }
}
