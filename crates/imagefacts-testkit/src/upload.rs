//! Pushing to a [`RegistryKind::Plain`] registry over HTTP with the distribution API itself
//! (blob uploads, manifest `PUT`s), so the registry validates what it is given: for content
//! skopeo does not copy as is (OCI 1.1 artifacts with `artifactType`, `subject` and the empty
//! config, indexes of referrers). The requests appear in the access log with the user agent
//! `imagefacts-testkit`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use crate::registry::{Registry, RegistryKind};
use crate::sha256_digest;

/// `application/vnd.oci.empty.v1+json`: the config of an OCI 1.1 artifact.
pub const MEDIA_TYPE_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// A manifest pushed with [`Registry::upload_manifest`] or [`Registry::upload_artifact`]: what a
/// descriptor of it (a `subject`, an index entry) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// Its digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its media type.
    pub media_type: String,
}

impl Pushed {
    /// An OCI descriptor of it (`mediaType`, `digest`, `size`).
    pub fn descriptor(&self) -> Value {
        json!({"mediaType": self.media_type, "digest": self.digest, "size": self.size})
    }
}

/// One HTTP/1.1 answer's status, headers (names as sent) and body, as read to the end of a
/// `Connection: close` exchange.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    /// Splits a whole answer into its parts (the body as framed on the wire).
    pub(crate) fn parse(raw: &[u8]) -> anyhow::Result<Answer> {
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .context("an HTTP answer without a header end")?;
        let text = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = text.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .context("an HTTP answer without a status")?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Ok(Answer {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Registry {
    fn plain_only(&self, what: &str) -> anyhow::Result<()> {
        if self.kind() != RegistryKind::Plain {
            bail!("Registry::{what} pushes over plain HTTP: a RegistryKind::Plain registry only");
        }
        Ok(())
    }

    /// Sends one request (`path` below the registry's root) and reads the whole answer.
    fn http(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> anyhow::Result<Answer> {
        let host = self.host();
        let mut stream = TcpStream::connect(&host).with_context(|| format!("connecting {host}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: imagefacts-testkit\r\n\
             Connection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(t) = content_type {
            head.push_str(&format!("Content-Type: {t}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        Answer::parse(&raw)
    }

    /// Uploads `bytes` as a blob of `repository` (`POST` an upload, `PUT` its content with the
    /// digest) and returns its digest. [`RegistryKind::Plain`] only.
    pub fn upload_blob(&self, repository: &str, bytes: &[u8]) -> anyhow::Result<String> {
        self.plain_only("upload_blob")?;
        let digest = sha256_digest(bytes);
        let started = self.http(
            "POST",
            &format!("/v2/{repository}/blobs/uploads/"),
            None,
            b"",
        )?;
        if started.status != 202 {
            bail!(
                "starting an upload to {repository}: HTTP {}: {}",
                started.status,
                String::from_utf8_lossy(&started.body)
            );
        }
        let location = started
            .header("location")
            .context("an upload without a Location")?;
        // distribution answers with an absolute URL; the request goes to its path.
        let path = match location.find("/v2/") {
            Some(i) => &location[i..],
            None => location,
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        let done = self.http(
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            Some("application/octet-stream"),
            bytes,
        )?;
        if done.status != 201 {
            bail!(
                "uploading blob {digest} to {repository}: HTTP {}: {}",
                done.status,
                String::from_utf8_lossy(&done.body)
            );
        }
        Ok(digest)
    }

    /// `PUT`s `bytes` as a manifest of `repository` under `reference` (a tag, or its own
    /// digest), with `media_type`; the blobs and manifests it names must be pushed already.
    /// [`RegistryKind::Plain`] only.
    pub fn upload_manifest(
        &self,
        repository: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> anyhow::Result<Pushed> {
        self.plain_only("upload_manifest")?;
        let put = self.http(
            "PUT",
            &format!("/v2/{repository}/manifests/{reference}"),
            Some(media_type),
            bytes,
        )?;
        if put.status != 201 {
            bail!(
                "putting manifest {repository}:{reference}: HTTP {}: {}",
                put.status,
                String::from_utf8_lossy(&put.body)
            );
        }
        Ok(Pushed {
            digest: sha256_digest(bytes),
            size: bytes.len(),
            media_type: media_type.to_owned(),
        })
    }

    /// Pushes an OCI 1.1 artifact to `repository`: the empty config (`{}`,
    /// [`MEDIA_TYPE_EMPTY`]), one layer of `layer_media_type` holding `layer`, and an image
    /// manifest with `artifactType` and, when given, `subject` (the manifest it describes).
    /// Tagged `tag`, else pushed by digest.
    pub fn upload_artifact(
        &self,
        repository: &str,
        tag: Option<&str>,
        artifact_type: &str,
        layer_media_type: &str,
        layer: &[u8],
        subject: Option<&Pushed>,
    ) -> anyhow::Result<Pushed> {
        let config = self.upload_blob(repository, b"{}")?;
        let layer_digest = self.upload_blob(repository, layer)?;
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": crate::MEDIA_TYPE_IMAGE_MANIFEST,
            "artifactType": artifact_type,
            "config": {"mediaType": MEDIA_TYPE_EMPTY, "digest": config, "size": 2},
            "layers": [{"mediaType": layer_media_type, "digest": layer_digest, "size": layer.len()}],
        });
        if let Some(s) = subject {
            manifest["subject"] = s.descriptor();
        }
        let bytes = serde_json::to_vec(&manifest)?;
        let digest = sha256_digest(&bytes);
        self.upload_manifest(
            repository,
            tag.unwrap_or(&digest),
            crate::MEDIA_TYPE_IMAGE_MANIFEST,
            &bytes,
        )
    }
}
