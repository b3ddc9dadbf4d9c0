//! Image references (`[registry/]repository[:tag][@digest]`), parsed by the distribution
//! reference grammar and normalised the way docker, containerd and the kubelet do.
//!
//! The grammar (from `github.com/distribution/reference`) is:
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | IPv4address | '[' IPv6address ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! remote-name      := path-component ['/' path-component]*
//! path-component   := alpha-numeric [separator alpha-numeric]*
//! alpha-numeric    := /[a-z0-9]+/
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" hex        (sha256 or sha512 only)
//! ```
//!
//! Normalisation follows docker's `ParseNormalizedNamed`: the first path component is a registry
//! only if it contains `.` or `:`, is `localhost`, or contains an uppercase letter; otherwise the
//! registry is `docker.io`. `index.docker.io` and `registry-1.docker.io` become `docker.io`, a
//! single-component Docker Hub repository gets the `library/` prefix, and a reference with
//! neither tag nor digest gets the tag `latest`.
//!
//! The parser is hand-written: it makes one pass over each part and allocates only the parsed
//! result (or the error).
//!
//! ```
//! use imagefacts_model::Reference;
//!
//! let r = Reference::parse("nginx:1.25").unwrap();
//! assert_eq!(r.registry(), "docker.io");
//! assert_eq!(r.repository(), "library/nginx");
//! assert_eq!(r.tag(), Some("1.25"));
//! assert_eq!(r.familiar(), "nginx:1.25");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{Digest, DigestError};

use ReferenceErrorReason as Reason;

/// The registry used when a reference names none.
const DOCKER_HUB: &str = "docker.io";
/// Registry names that are aliases of [`DOCKER_HUB`].
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];
/// Docker Hub's old web host, which credential files (not references) may name.
const DOCKER_HUB_LEGACY_HOST: &str = "registry.hub.docker.com";

/// A registry host as credential and route files name it, canonical: lower-cased, and every
/// name of Docker Hub (`index.docker.io`, `registry-1.docker.io`, `registry.hub.docker.com`)
/// as `docker.io`, the registry references normalise to.
///
/// ```
/// use imagefacts_model::reference::canonical_registry_host;
/// assert_eq!(canonical_registry_host("Index.Docker.io"), "docker.io");
/// assert_eq!(canonical_registry_host("ghcr.io"), "ghcr.io");
/// ```
pub fn canonical_registry_host(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&host.as_str()) || host == DOCKER_HUB_LEGACY_HOST {
        DOCKER_HUB.to_owned()
    } else {
        host
    }
}

/// The namespace of Docker Hub's official images.
const OFFICIAL_PREFIX: &str = "library/";
/// The tag implied when neither tag nor digest is given.
const DEFAULT_TAG: &str = "latest";
/// Longest allowed `registry/repository`.
const MAX_NAME_LEN: usize = 255;
/// Longest allowed tag.
const MAX_TAG_LEN: usize = 128;

/// A parsed, normalised image reference.
///
/// At least one of tag and digest is always present: a reference written without either gets
/// the tag `latest`. When both are given the digest identifies the image and the tag is kept
/// for display.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// The manifest reference to request from a registry: a tag or a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// Fetch the manifest a tag currently points to.
    Tag(&'a str),
    /// Fetch the manifest with exactly this digest.
    Digest(&'a Digest),
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tag(tag) => f.write_str(tag),
            Target::Digest(digest) => fmt::Display::fmt(digest, f),
        }
    }
}

/// Why a string is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid reference {input:?}: {reason}")]
pub struct ReferenceError {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: ReferenceErrorReason,
}

/// The specific defect of a rejected reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceErrorReason {
    /// The input is the empty string.
    #[error("reference is empty")]
    Empty,
    /// The input contains whitespace (leading, trailing or inside).
    #[error("reference contains whitespace")]
    Whitespace,
    /// The input is 64 lowercase hex characters, which docker reads as an image ID.
    #[error("a 64-character hex string looks like an image ID, not a reference")]
    LooksLikeImageId,
    /// The input is a digest with no repository name in front of it.
    #[error("a digest alone is not a reference; write it as name@digest")]
    DigestWithoutName,
    /// Nothing follows the `@`.
    #[error("digest after '@' is empty")]
    EmptyDigest,
    /// The part after `@` is not a valid sha256 or sha512 digest.
    #[error("{0}")]
    InvalidDigest(DigestError),
    /// Nothing follows the tag's `:`.
    #[error("tag after ':' is empty")]
    EmptyTag,
    /// The tag is longer than 128 characters.
    #[error("tag is {len} characters, at most 128 allowed")]
    TagTooLong {
        /// The tag's length in characters.
        len: usize,
    },
    /// The tag contains a character outside `[A-Za-z0-9_.-]` or starts with `.` or `-`.
    #[error(
        "tag {tag:?} is invalid: it must start with a letter, digit or '_' and contain only \
         letters, digits, '_', '.' and '-'"
    )]
    InvalidTag {
        /// The rejected tag.
        tag: String,
    },
    /// There is no repository name (e.g. `:tag`, `@sha256:…`, `localhost/`).
    #[error("repository name is missing")]
    MissingRepository,
    /// The repository contains an uppercase letter.
    #[error("repository must be lowercase")]
    UppercaseRepository,
    /// The repository has an empty path component (`a//b`, `/a`, `a/`).
    #[error("repository has an empty path component (leading, trailing or doubled '/')")]
    EmptyComponent,
    /// A repository path component breaks the grammar.
    #[error(
        "repository component {component:?} is invalid: it must be lowercase letters and digits, \
         separated by '.', '_', '__' or one or more '-'"
    )]
    InvalidRepository {
        /// The rejected path component.
        component: String,
    },
    /// The registry is not a host name, IPv4 address or bracketed IPv6 address.
    #[error("registry {domain:?} is not a valid host name, IPv4 address or [IPv6] address")]
    InvalidDomain {
        /// The rejected registry (host and port).
        domain: String,
    },
    /// The registry looks like an IPv6 address without the required brackets.
    #[error("registry {domain:?} looks like an IPv6 address, which must be enclosed in brackets")]
    UnbracketedIpv6 {
        /// The rejected registry.
        domain: String,
    },
    /// The registry's port is empty or not a decimal number.
    #[error("port {port:?} is not a number")]
    InvalidPort {
        /// The rejected port.
        port: String,
    },
    /// `registry/repository` is longer than 255 characters.
    #[error("name is {len} characters, at most 255 allowed")]
    NameTooLong {
        /// The length of the normalised `registry/repository`.
        len: usize,
    },
}

impl Reference {
    /// Parses and normalises an image reference such as `nginx`, `ghcr.io/org/app:1.2` or
    /// `localhost:5000/app@sha256:…`.
    ///
    /// # Errors
    ///
    /// Returns [`ReferenceError`] when the input breaks the reference grammar, has an uppercase
    /// repository, a too-long tag or name, an unsupported or malformed digest, or is a bare
    /// image ID or digest.
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        parse_reference(input).map_err(|reason| ReferenceError {
            input: input.to_owned(),
            reason,
        })
    }

    /// The registry host (and port): `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path within the registry: `library/nginx`, `org/app`.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag: as written, `latest` when neither tag nor digest was given, `None` when only a
    /// digest was given.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest the reference is pinned to, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Whether the registry is Docker Hub (`docker.io`).
    pub fn is_docker_hub(&self) -> bool {
        self.registry == DOCKER_HUB
    }

    /// What to ask the registry's manifest endpoint for: the digest when present, else the tag.
    pub fn target(&self) -> Target<'_> {
        match &self.digest {
            Some(digest) => Target::Digest(digest),
            None => Target::Tag(self.tag.as_deref().unwrap_or(DEFAULT_TAG)),
        }
    }

    /// The same image pinned to `digest` (tag kept).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// The same repository with another tag and no digest.
    ///
    /// # Errors
    ///
    /// Returns [`ReferenceError`] (whose input is the would-be `name:tag`) when `tag` is empty,
    /// longer than 128 characters or breaks the tag grammar.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        validate_tag(tag).map_err(|reason| ReferenceError {
            input: format!("{}:{tag}", self.name()),
            reason,
        })?;
        Ok(Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        })
    }

    /// `registry/repository` without tag or digest (`docker.io/library/nginx`).
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The shortest form as docker prints it: `nginx:latest`, `user/app:1`,
    /// `ghcr.io/o/a@sha256:…`.
    ///
    /// Unlike docker, a Docker Hub repository whose first component would be read back as a
    /// registry (`docker.io/example.com/app`) keeps its `docker.io/`, and an official image
    /// whose short form would read as a bare digest (`library/sha256:<64 hex>`) keeps its
    /// `library/`, so the familiar form always parses back to the same reference.
    pub fn familiar(&self) -> String {
        let mut out = String::with_capacity(self.registry.len() + self.repository.len() + 16);
        if let Some(short) = self.familiar_repository() {
            out.push_str(short);
        } else {
            out.push_str(&self.registry);
            out.push('/');
            out.push_str(&self.repository);
        }
        self.push_suffix(&mut out);
        if Digest::parse(&out).is_ok() {
            out.insert_str(0, OFFICIAL_PREFIX);
        }
        out
    }

    /// The Docker Hub repository as it can be written without the registry, if it can.
    fn familiar_repository(&self) -> Option<&str> {
        if !self.is_docker_hub() {
            return None;
        }
        if let Some(official) = self.repository.strip_prefix(OFFICIAL_PREFIX)
            && !official.contains('/')
        {
            return Some(official);
        }
        let first = self.repository.split('/').next().unwrap_or_default();
        (!looks_like_domain(first)).then_some(self.repository.as_str())
    }

    /// Appends `:tag` and `@digest` when present.
    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(&digest.to_string());
        }
    }
}

/// The parser proper, returning the bare reason so [`Reference::parse`] adds the input once.
fn parse_reference(input: &str) -> Result<Reference, Reason> {
    if input.is_empty() {
        return Err(Reason::Empty);
    }
    if input.chars().any(char::is_whitespace) {
        return Err(Reason::Whitespace);
    }
    if input.len() == 64 && input.bytes().all(is_lower_hex) {
        return Err(Reason::LooksLikeImageId);
    }
    if Digest::parse(input).is_ok() {
        return Err(Reason::DigestWithoutName);
    }

    // Neither name nor tag may contain '@', so the first one starts the digest.
    let (name_and_tag, digest) = match input.split_once('@') {
        Some((_, "")) => return Err(Reason::EmptyDigest),
        Some((rest, digest)) => (
            rest,
            Some(Digest::parse(digest).map_err(Reason::InvalidDigest)?),
        ),
        None => (input, None),
    };

    // A tag follows the last ':' unless a '/' comes after it (then it was a registry port).
    let (name, tag) = match name_and_tag.rfind(':') {
        Some(i) if !name_and_tag[i..].contains('/') => {
            (&name_and_tag[..i], Some(&name_and_tag[i + 1..]))
        }
        _ => (name_and_tag, None),
    };
    if let Some(tag) = tag {
        validate_tag(tag)?;
    }
    if name.is_empty() {
        return Err(Reason::MissingRepository);
    }

    let (domain, remote) = match name.split_once('/') {
        Some((first, rest)) if looks_like_domain(first) => (Some(first), rest),
        _ => (None, name),
    };
    if remote.is_empty() {
        return Err(Reason::MissingRepository);
    }
    if remote.chars().any(char::is_uppercase) {
        return Err(Reason::UppercaseRepository);
    }
    let registry = match domain {
        None => DOCKER_HUB,
        Some(d) if DOCKER_HUB_ALIASES.contains(&d) => DOCKER_HUB,
        Some(d) => {
            validate_domain(d)?;
            d
        }
    };
    for component in remote.split('/') {
        if component.is_empty() {
            return Err(Reason::EmptyComponent);
        }
        if !is_path_component(component.as_bytes()) {
            return Err(Reason::InvalidRepository {
                component: component.to_owned(),
            });
        }
    }

    let repository = if registry == DOCKER_HUB && !remote.contains('/') {
        format!("{OFFICIAL_PREFIX}{remote}")
    } else {
        remote.to_owned()
    };
    let len = registry.len() + 1 + repository.len();
    if len > MAX_NAME_LEN {
        return Err(Reason::NameTooLong { len });
    }
    let tag = match (tag, &digest) {
        (Some(tag), _) => Some(tag.to_owned()),
        (None, None) => Some(DEFAULT_TAG.to_owned()),
        (None, Some(_)) => None,
    };
    Ok(Reference {
        registry: registry.to_owned(),
        repository,
        tag,
        digest,
    })
}

/// Whether a leading path component names a registry rather than a Docker Hub namespace.
fn looks_like_domain(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.chars().any(char::is_uppercase)
}

fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

/// Checks `tag := [\w][\w.-]{0,127}`.
fn validate_tag(tag: &str) -> Result<(), Reason> {
    if tag.is_empty() {
        return Err(Reason::EmptyTag);
    }
    let len = tag.chars().count();
    if len > MAX_TAG_LEN {
        return Err(Reason::TagTooLong { len });
    }
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut bytes = tag.bytes();
    let valid = bytes.next().is_some_and(word) && bytes.all(|b| word(b) || b == b'.' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(Reason::InvalidTag {
            tag: tag.to_owned(),
        })
    }
}

/// Checks `domain := host [':' port-number]`.
fn validate_domain(domain: &str) -> Result<(), Reason> {
    let invalid = || Reason::InvalidDomain {
        domain: domain.to_owned(),
    };
    let port = if let Some(bracketed) = domain.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']').ok_or_else(invalid)?;
        if address.is_empty() || !address.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(invalid());
        }
        match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(invalid)?),
        }
    } else {
        if domain.bytes().filter(|&b| b == b':').count() > 1 {
            return Err(
                if domain.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    Reason::UnbracketedIpv6 {
                        domain: domain.to_owned(),
                    }
                } else {
                    invalid()
                },
            );
        }
        let (host, port) = match domain.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (domain, None),
        };
        if !host.split('.').all(|c| is_domain_component(c.as_bytes())) {
            return Err(invalid());
        }
        port
    };
    match port {
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Err(Reason::InvalidPort {
                port: port.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// Checks `domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`.
fn is_domain_component(c: &[u8]) -> bool {
    match (c.first(), c.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && c.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        }
        _ => false,
    }
}

/// Checks `path-component := [a-z0-9]+ ([_.]|__|[-]+ [a-z0-9]+)*`.
fn is_path_component(c: &[u8]) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < c.len() && alnum(c[i]) {
            i += 1;
        }
        if i == start {
            return false; // empty alphanumeric run: leading, trailing or doubled separator
        }
        if i == c.len() {
            return true;
        }
        match c[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if c.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while c.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference(\"{self}\")")
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl Serialize for Reference {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Reference::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An image reference as it travels from where it was read to the facts: parsed once, with the
/// spelling it was written in. One that does not parse keeps its spelling and why, so it still
/// shows up (with its pull failures) as an `invalidReference` entry. In JSON it is the spelling.
///
/// ```
/// use imagefacts_model::reference::ImageRef;
///
/// let r = ImageRef::parse("nginx:1.25");
/// assert_eq!(r.as_str(), "nginx:1.25");
/// assert_eq!(r.reference().unwrap().to_string(), "docker.io/library/nginx:1.25");
/// assert!(ImageRef::parse("nginx:").reference().is_err());
/// ```
#[derive(Clone)]
pub struct ImageRef(std::sync::Arc<Parsed>);

/// The spelling and its parse, shared by every clone (a reference travels from discovery through
/// the request into its entry without being copied).
struct Parsed {
    written: String,
    parsed: Result<Reference, ReferenceError>,
}

impl ImageRef {
    fn new(written: String, parsed: Result<Reference, ReferenceError>) -> ImageRef {
        ImageRef(std::sync::Arc::new(Parsed { written, parsed }))
    }

    /// `written`, parsed.
    pub fn parse(written: &str) -> ImageRef {
        ImageRef::new(written.to_owned(), Reference::parse(written))
    }

    /// A parsed reference, spelled in its normalised form.
    pub fn normalised(reference: Reference) -> ImageRef {
        ImageRef::new(reference.to_string(), Ok(reference))
    }

    /// `reference` as it was spelled (`written` must be a spelling of it).
    pub fn spelled(written: String, reference: Reference) -> ImageRef {
        ImageRef::new(written, Ok(reference))
    }

    /// The spelling.
    pub fn as_str(&self) -> &str {
        &self.0.written
    }

    /// The parsed reference, or why the spelling is not one.
    pub fn reference(&self) -> Result<&Reference, &ReferenceError> {
        self.0.parsed.as_ref()
    }

    /// The same reference spelled `written` (another spelling of it).
    pub fn respelled(&self, written: &str) -> ImageRef {
        match &self.0.parsed {
            Ok(r) => ImageRef::spelled(written.to_owned(), r.clone()),
            Err(_) => ImageRef::parse(written),
        }
    }
}

impl PartialEq for ImageRef {
    fn eq(&self, other: &ImageRef) -> bool {
        self.0.written == other.0.written
    }
}

impl Eq for ImageRef {}

impl PartialEq<str> for ImageRef {
    fn eq(&self, other: &str) -> bool {
        self.0.written == other
    }
}

impl PartialEq<&str> for ImageRef {
    fn eq(&self, other: &&str) -> bool {
        self.0.written == *other
    }
}

impl PartialEq<String> for ImageRef {
    fn eq(&self, other: &String) -> bool {
        &self.0.written == other
    }
}

impl std::hash::Hash for ImageRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.written.hash(state);
    }
}

impl PartialOrd for ImageRef {
    fn partial_cmp(&self, other: &ImageRef) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ImageRef {
    fn cmp(&self, other: &ImageRef) -> std::cmp::Ordering {
        self.0.written.cmp(&other.0.written)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.written)
    }
}

impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageRef({:?})", self.0.written)
    }
}

impl Serialize for ImageRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.written)
    }
}

impl<'de> Deserialize<'de> for ImageRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(ImageRef::parse(&s))
    }
}

impl schemars::JsonSchema for ImageRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ImageRef".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string"})
    }
}

#[cfg(test)]
mod tests;
