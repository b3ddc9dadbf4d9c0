//! The pure data model of imagefacts: image references, content digests, media types, platforms,
//! registry manifests and the `facts.json` types.
//!
//! Nothing in this crate performs I/O; every parser is a function over bytes or strings, so each
//! can be tested table-wise and fuzzed.
//!
//! ```
//! use imagefacts_model::Reference;
//!
//! let r: Reference = "nginx".parse().unwrap();
//! assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
//! ```

pub mod digest;
pub mod discovery;
pub mod facts;
pub mod files;
pub mod fleet;
pub mod manifest;
pub mod media_type;
pub mod platform;
pub mod redact;
pub mod reference;
pub mod text;

pub use digest::{Digest, DigestError};
pub use platform::{Platform, PlatformError};
pub use reference::{ImageRef, Reference, ReferenceError};
