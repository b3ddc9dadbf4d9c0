//! Content digests (`sha256:<64 hex>`), as defined by the OCI image specification.
//!
//! Only `sha256` and `sha512` are accepted as algorithms, with lowercase hex of the exact length;
//! this is what registries produce and what a digest-pinned reference may carry.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

/// A digest algorithm supported by imagefacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the algorithm every registry supports.
    Sha256,
    /// SHA-512, allowed by the OCI specification.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as written in a digest (`sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Number of hex characters of an encoded digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

/// A validated content digest such as `sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    /// Shared: one image's digests are cloned into every entry naming it.
    hex: std::sync::Arc<str>,
}

/// Why a string is not a valid digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `algorithm:` prefix.
    #[error("invalid digest {input:?}: missing \"algorithm:\" prefix")]
    MissingAlgorithm {
        /// The rejected input.
        input: String,
    },
    /// An algorithm other than sha256 and sha512.
    #[error("invalid digest {input:?}: unsupported algorithm {algorithm:?}")]
    UnsupportedAlgorithm {
        /// The rejected input.
        input: String,
        /// The algorithm named in it.
        algorithm: String,
    },
    /// The encoded part has the wrong length or is not lowercase hex.
    #[error(
        "invalid digest {input:?}: expected {expected} lowercase hex characters after \"{algorithm}:\""
    )]
    BadEncoding {
        /// The rejected input.
        input: String,
        /// The algorithm named in it.
        algorithm: &'static str,
        /// How many hex characters the algorithm needs.
        expected: usize,
    },
}

impl Digest {
    /// Parses and validates a digest string.
    ///
    /// # Errors
    ///
    /// Returns [`DigestError`] when the algorithm is missing or unsupported, or when the encoded
    /// part is not lowercase hex of the algorithm's length.
    pub fn parse(input: &str) -> Result<Digest, DigestError> {
        let Some((alg, hex)) = input.split_once(':') else {
            return Err(DigestError::MissingAlgorithm {
                input: input.to_owned(),
            });
        };
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(DigestError::UnsupportedAlgorithm {
                    input: input.to_owned(),
                    algorithm: other.to_owned(),
                });
            }
        };
        let valid = hex.len() == algorithm.hex_len()
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(DigestError::BadEncoding {
                input: input.to_owned(),
                algorithm: algorithm.as_str(),
                expected: algorithm.hex_len(),
            });
        }
        Ok(Digest {
            algorithm,
            hex: hex.into(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex::encode(Sha256::digest(bytes)).into(),
        }
    }

    /// The digest of `bytes` computed with this digest's algorithm.
    pub fn compute_like(&self, bytes: &[u8]) -> Digest {
        match self.algorithm {
            Algorithm::Sha256 => Digest::sha256_of(bytes),
            Algorithm::Sha512 => Digest {
                algorithm: Algorithm::Sha512,
                hex: hex::encode(Sha512::digest(bytes)).into(),
            },
        }
    }

    /// Whether `bytes` hash to this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.compute_like(bytes) == *self
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex encoding, without the algorithm prefix.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex characters, as `docker images` shows them.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Digest::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Digest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Digest".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A content digest: `sha256:` and 64 lowercase hex characters (or `sha512:` and 128).",
            "type": "string",
            "pattern": "^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn computes_and_verifies() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(d.to_string(), HELLO);
        assert!(d.matches(b"hello"));
        assert!(!d.matches(b"hello!"));
        assert_eq!(d.short(), "2cf24dba5fb0");
    }

    #[test]
    fn parses_valid() {
        assert_eq!(Digest::parse(HELLO).unwrap(), Digest::sha256_of(b"hello"));
        let sha512 = format!("sha512:{}", "a".repeat(128));
        assert_eq!(
            Digest::parse(&sha512).unwrap().algorithm(),
            Algorithm::Sha512
        );
    }

    #[test]
    fn rejects_invalid() {
        let cases = [
            ("", "missing"),
            ("sha256", "missing"),
            ("md5:abcd", "unsupported algorithm"),
            ("sha256:abc", "64 lowercase hex"),
            (
                &HELLO.to_uppercase().replace("SHA256", "sha256"),
                "64 lowercase hex",
            ),
            (&format!("{HELLO}0"), "64 lowercase hex"),
            (&HELLO.replace("2cf2", "gcf2"), "64 lowercase hex"),
        ];
        for (input, want) in cases {
            let err = Digest::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let d = Digest::sha256_of(b"x");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }
}
