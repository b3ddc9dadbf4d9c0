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
    /// registry (`docker.io/example.com/app`) keeps its `docker.io/`, so the familiar form
    /// always parses back to the same reference.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sha256 of `hello`, as a literal usable in `concat!`.
    macro_rules! d {
        () => {
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        };
    }
    const HEX64: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn digest() -> Digest {
        Digest::parse(d!()).unwrap()
    }

    fn parse(input: &str) -> Reference {
        Reference::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
    }

    /// `(input, canonical Display)` for inputs that must parse.
    fn valid_rows() -> Vec<(String, String)> {
        let fixed: &[(&str, &str)] = &[
            // Docker Hub normalisation.
            ("nginx", "docker.io/library/nginx:latest"),
            ("nginx:1.25", "docker.io/library/nginx:1.25"),
            ("nginx:latest", "docker.io/library/nginx:latest"),
            ("library/nginx", "docker.io/library/nginx:latest"),
            ("docker.io/nginx", "docker.io/library/nginx:latest"),
            (
                "docker.io/library/nginx:latest",
                "docker.io/library/nginx:latest",
            ),
            (
                "index.docker.io/library/nginx",
                "docker.io/library/nginx:latest",
            ),
            ("index.docker.io/nginx", "docker.io/library/nginx:latest"),
            ("index.docker.io/user/app", "docker.io/user/app:latest"),
            ("registry-1.docker.io/nginx:1", "docker.io/library/nginx:1"),
            ("user/app", "docker.io/user/app:latest"),
            ("user/app:1", "docker.io/user/app:1"),
            ("docker.io/user/app:v2", "docker.io/user/app:v2"),
            ("a-1/b", "docker.io/a-1/b:latest"),
            ("docker.io/localhost/x", "docker.io/localhost/x:latest"),
            ("docker.io/foo.bar/x", "docker.io/foo.bar/x:latest"),
            // Other registries.
            ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
            ("gcr.io/x/y", "gcr.io/x/y:latest"),
            ("k8s.gcr.io/pause:3.9", "k8s.gcr.io/pause:3.9"),
            ("quay.io/a/b/c/d", "quay.io/a/b/c/d:latest"),
            (
                "sub.domain.example.com/a",
                "sub.domain.example.com/a:latest",
            ),
            ("xn--nda.example/a", "xn--nda.example/a:latest"),
            (
                "my-registry.local:5000/team/app:2024.01.01-rc.1",
                "my-registry.local:5000/team/app:2024.01.01-rc.1",
            ),
            ("Foo/bar", "Foo/bar:latest"),
            ("FOO.io/bar", "FOO.io/bar:latest"),
            ("localhost/app", "localhost/app:latest"),
            // Ports, IPs and port-like edge cases.
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("localhost:5000", "docker.io/library/localhost:5000"),
            ("localhost", "docker.io/library/localhost:latest"),
            ("example.com:443/a", "example.com:443/a:latest"),
            ("example.com:0/a:1", "example.com:0/a:1"),
            ("a:1/b", "a:1/b:latest"),
            ("registry:5000/a/b/c:tag", "registry:5000/a/b/c:tag"),
            ("127.0.0.1:5000/a/b", "127.0.0.1:5000/a/b:latest"),
            ("127.0.0.1/a", "127.0.0.1/a:latest"),
            ("1.2.3.4.5/x", "1.2.3.4.5/x:latest"),
            ("[::1]:5000/app", "[::1]:5000/app:latest"),
            ("[::1]/app", "[::1]/app:latest"),
            ("[::1]:5000/app:v1", "[::1]:5000/app:v1"),
            ("[2001:db8::1]/x:y", "[2001:db8::1]/x:y"),
            ("[2001:DB8::1]:443/x", "[2001:DB8::1]:443/x:latest"),
            // Digests.
            (
                concat!("app@", d!()),
                concat!("docker.io/library/app@", d!()),
            ),
            (
                concat!("app:tag@", d!()),
                concat!("docker.io/library/app:tag@", d!()),
            ),
            (concat!("ghcr.io/o/a@", d!()), concat!("ghcr.io/o/a@", d!())),
            (
                concat!("localhost:5000/a@", d!()),
                concat!("localhost:5000/a@", d!()),
            ),
            (
                concat!("localhost:5000/app:v1@", d!()),
                concat!("localhost:5000/app:v1@", d!()),
            ),
            (
                concat!("registry.k8s.io/pause:3.9@", d!()),
                concat!("registry.k8s.io/pause:3.9@", d!()),
            ),
            // Path-component separators and odd-but-valid names.
            ("foo__bar", "docker.io/library/foo__bar:latest"),
            ("foo-----bar", "docker.io/library/foo-----bar:latest"),
            ("a.b_c", "docker.io/library/a.b_c:latest"),
            ("a-b__c-d/f_g.h", "docker.io/a-b__c-d/f_g.h:latest"),
            ("a", "docker.io/library/a:latest"),
            ("0", "docker.io/library/0:latest"),
            ("abc123", "docker.io/library/abc123:latest"),
            ("sha256:abc", "docker.io/library/sha256:abc"),
            // Tags.
            (
                "nginx:LATEST_Tag-1.0",
                "docker.io/library/nginx:LATEST_Tag-1.0",
            ),
            ("nginx:_x", "docker.io/library/nginx:_x"),
            ("nginx:1", "docker.io/library/nginx:1"),
        ];
        let mut rows: Vec<(String, String)> = fixed
            .iter()
            .map(|&(i, c)| (i.to_owned(), c.to_owned()))
            .collect();
        let tag128 = "t".repeat(128);
        rows.push((
            format!("nginx:{tag128}"),
            format!("docker.io/library/nginx:{tag128}"),
        ));
        let hex63 = &HEX64[..63];
        rows.push((
            hex63.to_owned(),
            format!("docker.io/library/{hex63}:latest"),
        ));
        // "docker.io/library/" is 18 characters: 18 + 237 = 255.
        let long = "a".repeat(237);
        rows.push((long.clone(), format!("docker.io/library/{long}:latest")));
        let sha512 = format!("sha512:{}", "a".repeat(128));
        rows.push((
            format!("app@{sha512}"),
            format!("docker.io/library/app@{sha512}"),
        ));
        rows
    }

    /// `(input, substring of the error message)` for inputs that must be rejected.
    fn invalid_rows() -> Vec<(String, String)> {
        let fixed: &[(&str, &str)] = &[
            ("", "reference is empty"),
            ("Nginx", "repository must be lowercase"),
            ("UPPER:tag", "repository must be lowercase"),
            ("foo/Bar", "repository must be lowercase"),
            ("registry:5000/Upper", "repository must be lowercase"),
            ("nginx:", "tag after ':' is empty"),
            (":", "tag after ':' is empty"),
            (":tag", "repository name is missing"),
            (concat!("@", d!()), "repository name is missing"),
            ("localhost/", "repository name is missing"),
            ("docker.io/", "repository name is missing"),
            ("nginx@", "digest after '@' is empty"),
            ("@", "digest after '@' is empty"),
            ("nginx@sha256:abc", "expected 64 lowercase hex characters"),
            (
                "nginx@md5:d41d8cd98f00b204e9800998ecf8427e",
                "unsupported algorithm \"md5\"",
            ),
            ("nginx@sha256", "missing \"algorithm:\" prefix"),
            (
                concat!("nginx@", d!(), "@x"),
                "expected 64 lowercase hex characters",
            ),
            ("-nginx", "repository component \"-nginx\" is invalid"),
            ("nginx-", "repository component \"nginx-\" is invalid"),
            ("a..b", "repository component \"a..b\" is invalid"),
            ("a___b", "repository component \"a___b\" is invalid"),
            ("a_.b", "repository component \"a_.b\" is invalid"),
            ("a-_b", "repository component \"a-_b\" is invalid"),
            ("café", "repository component \"café\" is invalid"),
            (
                "nginx:tag:x",
                "repository component \"nginx:tag\" is invalid",
            ),
            ("a//b", "empty path component"),
            ("a/", "empty path component"),
            ("a/b/", "empty path component"),
            ("/a", "empty path component"),
            ("/", "empty path component"),
            (" nginx", "reference contains whitespace"),
            ("nginx ", "reference contains whitespace"),
            ("\tnginx", "reference contains whitespace"),
            ("ng inx", "reference contains whitespace"),
            (HEX64, "looks like an image ID"),
            (d!(), "a digest alone is not a reference"),
            ("::1/x", "must be enclosed in brackets"),
            ("2001:db8::1/x", "must be enclosed in brackets"),
            ("host:port/x", "port \"port\" is not a number"),
            ("host:/x", "port \"\" is not a number"),
            ("example.com:99x/a", "port \"99x\" is not a number"),
            ("[::1]:/x", "port \"\" is not a number"),
            ("h:p:q/x", "registry \"h:p:q\" is not a valid host"),
            ("-bad.com/x", "registry \"-bad.com\" is not a valid host"),
            ("bad-.com/x", "registry \"bad-.com\" is not a valid host"),
            ("a..com/x", "registry \"a..com\" is not a valid host"),
            (
                "a-b.c__d-e/f",
                "registry \"a-b.c__d-e\" is not a valid host",
            ),
            (
                "under_score.com/x",
                "registry \"under_score.com\" is not a valid host",
            ),
            ("[::1/x", "registry \"[::1\" is not a valid host"),
            ("[::g]/x", "registry \"[::g]\" is not a valid host"),
            ("[]:5000/x", "registry \"[]:5000\" is not a valid host"),
            ("[::1]x/a", "registry \"[::1]x\" is not a valid host"),
            ("nginx:-tag", "tag \"-tag\" is invalid"),
            ("nginx:.x", "tag \".x\" is invalid"),
            ("nginx:é", "tag \"é\" is invalid"),
            ("nginx:a+b", "tag \"a+b\" is invalid"),
        ];
        let mut rows: Vec<(String, String)> = fixed
            .iter()
            .map(|&(i, e)| (i.to_owned(), e.to_owned()))
            .collect();
        rows.push((
            format!("nginx:{}", "t".repeat(129)),
            "tag is 129 characters, at most 128 allowed".to_owned(),
        ));
        rows.push((
            "a".repeat(238),
            "name is 256 characters, at most 255 allowed".to_owned(),
        ));
        rows.push((
            format!("ghcr.io/{}", ["abcdefghij"; 25].join("/")),
            "name is 282 characters, at most 255 allowed".to_owned(),
        ));
        rows
    }

    #[test]
    fn valid_references_parse_to_canonical_form() {
        let rows = valid_rows();
        assert!(rows.len() >= 45, "only {} valid rows", rows.len());
        for (input, canonical) in &rows {
            let r = parse(input);
            assert_eq!(r.to_string(), *canonical, "{input:?}");
            assert_eq!(parse(&r.to_string()), r, "display round trip of {input:?}");
            assert_eq!(parse(&r.familiar()), r, "familiar round trip of {input:?}");
            assert_eq!(input.parse::<Reference>().unwrap(), r);
            assert_eq!(r.name(), format!("{}/{}", r.registry(), r.repository()));
            assert!(r.tag().is_some() || r.digest().is_some(), "{input:?}");
        }
    }

    #[test]
    fn invalid_references_are_rejected_with_reason() {
        let rows = invalid_rows();
        assert!(rows.len() >= 25, "only {} invalid rows", rows.len());
        for (input, want) in &rows {
            let err = match Reference::parse(input) {
                Ok(r) => panic!("{input:?} should be rejected, parsed as {r}"),
                Err(e) => e,
            };
            assert_eq!(err.input, *input);
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("invalid reference {input:?}: ")),
                "{message}"
            );
            assert!(message.contains(want.as_str()), "{input:?}: {message}");
        }
    }

    #[test]
    fn fields_are_split_and_normalised() {
        let r = parse("nginx");
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/nginx");
        assert_eq!(r.tag(), Some("latest"));
        assert_eq!(r.digest(), None);
        assert!(r.is_docker_hub());

        let r = parse("[::1]:5000/team/app:v1");
        assert_eq!(r.registry(), "[::1]:5000");
        assert_eq!(r.repository(), "team/app");
        assert_eq!(r.tag(), Some("v1"));
        assert!(!r.is_docker_hub());

        let r = parse(concat!("localhost:5000/app@", d!()));
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "app");
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), Some(&digest()));

        let r = parse(concat!("registry-1.docker.io/nginx:1.25@", d!()));
        assert_eq!(r.registry(), "docker.io");
        assert_eq!(r.repository(), "library/nginx");
        assert_eq!(r.tag(), Some("1.25"));
        assert_eq!(r.digest(), Some(&digest()));
        assert_eq!(r.name(), "docker.io/library/nginx");

        let r = parse("Foo/bar");
        assert_eq!((r.registry(), r.repository()), ("Foo", "bar"));
        let r = parse("localhost:5000");
        assert_eq!(
            (r.repository(), r.tag()),
            ("library/localhost", Some("5000"))
        );
    }

    #[test]
    fn error_reasons_and_messages() {
        let err = Reference::parse("Nginx").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid reference \"Nginx\": repository must be lowercase"
        );
        assert_eq!(err.reason, Reason::UppercaseRepository);
        let reason = |s: &str| Reference::parse(s).unwrap_err().reason;
        assert_eq!(reason(""), Reason::Empty);
        assert_eq!(reason("nginx:"), Reason::EmptyTag);
        assert_eq!(reason(HEX64), Reason::LooksLikeImageId);
        assert_eq!(reason(d!()), Reason::DigestWithoutName);
        assert_eq!(reason(" a"), Reason::Whitespace);
        assert_eq!(reason("a//b"), Reason::EmptyComponent);
        assert_eq!(
            reason("::1/x"),
            Reason::UnbracketedIpv6 {
                domain: "::1".into()
            }
        );
        assert_eq!(reason("h:x/y"), Reason::InvalidPort { port: "x".into() });
        assert_eq!(
            reason(&format!("a:{}", "b".repeat(200))),
            Reason::TagTooLong { len: 200 }
        );
        assert!(matches!(
            reason("a@sha256:00"),
            Reason::InvalidDigest(DigestError::BadEncoding { .. })
        ));
        assert_eq!(
            Reference::parse("a@sha256:00").unwrap_err().to_string(),
            "invalid reference \"a@sha256:00\": invalid digest \"sha256:00\": expected 64 lowercase \
             hex characters after \"sha256:\""
        );
    }

    #[test]
    fn familiar_form() {
        let rows = [
            ("nginx", "nginx:latest"),
            ("docker.io/library/nginx:1.25", "nginx:1.25"),
            ("index.docker.io/library/nginx:1", "nginx:1"),
            ("user/app:1", "user/app:1"),
            ("docker.io/library/a/b", "library/a/b:latest"),
            ("docker.io/localhost/x", "docker.io/localhost/x:latest"),
            ("docker.io/foo.bar/x", "docker.io/foo.bar/x:latest"),
            ("localhost:5000/app", "localhost:5000/app:latest"),
            ("ghcr.io/org/app:1.2", "ghcr.io/org/app:1.2"),
            (concat!("ghcr.io/o/a@", d!()), concat!("ghcr.io/o/a@", d!())),
            (concat!("app:tag@", d!()), concat!("app:tag@", d!())),
            (
                concat!("docker.io/library/app@", d!()),
                concat!("app@", d!()),
            ),
        ];
        for (input, want) in rows {
            assert_eq!(parse(input).familiar(), want, "{input:?}");
        }
    }

    #[test]
    fn target_prefers_digest() {
        let r = parse("nginx");
        assert_eq!(r.target(), Target::Tag("latest"));
        assert_eq!(r.target().to_string(), "latest");
        assert_eq!(parse("nginx:1.25").target(), Target::Tag("1.25"));
        let d = digest();
        assert_eq!(parse(concat!("app@", d!())).target(), Target::Digest(&d));
        let both = parse(concat!("app:tag@", d!()));
        assert_eq!(both.target(), Target::Digest(&d));
        assert_eq!(both.target().to_string(), d!());
    }

    #[test]
    fn with_digest_and_with_tag() {
        let pinned = parse("nginx:1.25").with_digest(digest());
        assert_eq!(pinned.tag(), Some("1.25"));
        assert_eq!(pinned.digest(), Some(&digest()));
        assert_eq!(pinned.target(), Target::Digest(&digest()));
        assert_eq!(
            pinned.to_string(),
            concat!("docker.io/library/nginx:1.25@", d!())
        );
        assert_eq!(pinned, parse(concat!("nginx:1.25@", d!())));

        let retagged = pinned.with_tag("1.26").unwrap();
        assert_eq!(retagged.to_string(), "docker.io/library/nginx:1.26");
        assert_eq!(retagged.digest(), None);
        assert_eq!(retagged.target(), Target::Tag("1.26"));
        assert_eq!(
            parse(concat!("app@", d!())).with_tag("v2").unwrap(),
            parse("app:v2")
        );

        let err = pinned.with_tag("-bad").unwrap_err();
        assert_eq!(err.input, "docker.io/library/nginx:-bad");
        assert!(matches!(err.reason, Reason::InvalidTag { .. }));
        assert_eq!(pinned.with_tag("").unwrap_err().reason, Reason::EmptyTag);
        let long = "x".repeat(129);
        assert_eq!(
            pinned.with_tag(&long).unwrap_err().reason,
            Reason::TagTooLong { len: 129 }
        );
    }

    #[test]
    fn serde_round_trip() {
        for (input, _) in valid_rows() {
            let r = parse(&input);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
        }
        assert_eq!(
            serde_json::from_str::<Reference>("\"nginx\"")
                .unwrap()
                .to_string(),
            "docker.io/library/nginx:latest"
        );
        let err = serde_json::from_str::<Reference>("\"Nginx\"").unwrap_err();
        assert!(
            err.to_string().contains("repository must be lowercase"),
            "{err}"
        );
        assert!(serde_json::from_str::<Reference>("42").is_err());
    }

    #[test]
    fn debug_and_ordering() {
        assert_eq!(
            format!("{:?}", parse("nginx")),
            "Reference(\"docker.io/library/nginx:latest\")"
        );
        let mut refs = [parse("ghcr.io/a/b"), parse("nginx:2"), parse("nginx:1")];
        refs.sort();
        let sorted: Vec<String> = refs.iter().map(Reference::familiar).collect();
        assert_eq!(sorted, ["nginx:1", "nginx:2", "ghcr.io/a/b:latest"]);
    }
}
