//! Test harness for imagefacts.
//!
//! Everything here is synchronous and meant for `#[test]` functions that drive the `imagefacts` CLI as a
//! subprocess:
//!
//! - [`Registry`]: a real local `docker-registry` (CNCF distribution 2.8) process in one of four
//!   variants ([`RegistryKind`]): plain HTTP, TLS + htpasswd basic auth, TLS + bearer-token auth served
//!   by an in-process token server (several users, OAuth2 identity tokens, a log of who asked:
//!   [`TokenGrant`]), and TLS requiring a client certificate (mutual TLS). Its access log is parsed
//!   into [`AccessLogEntry`] values.
//!   [`Registry::seed`] writes images straight into its storage (fast, no access-log lines);
//!   [`Registry::upload_artifact`] and [`Registry::upload_manifest`] push OCI 1.1 artifacts and
//!   indexes of referrers to a plain one over HTTP.
//! - [`OciLayout`] / [`ImageSpec`]: deterministic OCI image layouts (images, indexes, buildkit-style
//!   attestation manifests) written without docker or umoci.
//! - skopeo wrappers ([`push`], [`skopeo_inspect`], ...) and a standard fixture set ([`push_fixtures`]).
//! - [`ScriptedServer`]: a scripted in-process HTTP/1.1 server for fault tests (delays, stalled bodies,
//!   wrong `Content-Length`, arbitrary statuses and headers).
//! - [`FaultProxy`]: a proxy in front of a real registry that injects a [`Fault`] where its plan
//!   says (per request, or seeded at a rate for soak tests), recording each one.
//!
//! Every server binds 127.0.0.1 only and stops when its handle is dropped; the registry process also
//! stops when the test process dies (its supervisor shell watches a pipe held by the test process).
//!
//! - [`upstream_decode`]: upstream troubleshoot's Go types (a small Go program) decoding facts files.
//! - [`fuzz_regressions`]: the inputs kept from fuzzing, for the owning crates to replay.
//!
//! External tools needed at run time: `docker-registry`, `skopeo`, `openssl`, `htpasswd`, `go`.

mod archive;
mod bigbundle;
mod browser;
mod bulk;
mod certs;
mod example;
mod fault;
mod fuzz;
mod layout;
mod process;
mod registry;
mod scripted;
mod seed;
mod skopeo;
mod token;
mod troubleshoot;
mod upload;
mod upstream;

pub use archive::{gzip, tar_dir, tar_files};
pub use bigbundle::{BIG_BUNDLE, write_big_bundle};
pub use browser::{Browser, ConsoleEntry, Element, browser_installed};
pub use bulk::bulk_facts;
pub use certs::{TlsFiles, generate_tls};
pub use example::{EXAMPLE_BUNDLE, write_example_bundle};
pub use fault::{Fault, FaultProxy, Injected};
pub use fuzz::fuzz_regressions;
pub use layout::{
    ImageSpec, MEDIA_TYPE_IMAGE_CONFIG, MEDIA_TYPE_IMAGE_INDEX, MEDIA_TYPE_IMAGE_LAYER_GZIP,
    MEDIA_TYPE_IMAGE_MANIFEST, MEDIA_TYPE_IN_TOTO, OciLayout,
};
pub use registry::{AccessLogEntry, Registry, RegistryKind};
pub use scripted::{Reply, Request, ScriptedServer};
pub use skopeo::{
    Fixtures, PushFormat, fixture_multi_specs, fixture_single_spec, push, push_fixtures,
    push_with_digest, skopeo, skopeo_inspect, skopeo_inspect_config,
    skopeo_inspect_config_platform, skopeo_inspect_raw,
};
pub use token::{Grant, TokenGrant};
pub use troubleshoot::{
    FixtureFormat, FixtureImages, TroubleshootLayout, write_troubleshoot_bundle,
};
pub use upload::{MEDIA_TYPE_EMPTY, Pushed};
pub use upstream::{UpstreamDecoded, upstream_decode, upstream_decode_bytes};

use sha2::{Digest, Sha256};

/// `sha256:<hex>` digest of `bytes`, the OCI digest format.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A random-ish lowercase hex string of `len` characters (not cryptographically strong; for passwords
/// and secrets of throw-away test servers).
pub(crate) fn random_hex(len: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = String::new();
    let mut round = 0u64;
    while out.len() < len {
        let mut h = Sha256::new();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        h.update(nanos.to_le_bytes());
        h.update(std::process::id().to_le_bytes());
        h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
        h.update(round.to_le_bytes());
        let local = 0u8;
        h.update((&local as *const u8 as usize).to_le_bytes());
        out.push_str(&hex::encode(h.finalize()));
        round += 1;
    }
    out.truncate(len);
    out
}

/// Returns a free TCP port on 127.0.0.1 (bound then released, so another process may grab it: callers
/// retry on "address already in use").
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The last `max` bytes of a file as lossy UTF-8 (for error messages).
pub(crate) fn file_tail(path: &std::path::Path, max: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(max);
            String::from_utf8_lossy(&bytes[start..]).into_owned()
        }
        Err(e) => format!("<cannot read {}: {e}>", path.display()),
    }
}
