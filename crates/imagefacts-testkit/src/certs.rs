//! Test certificates made with the `openssl` CLI: a per-registry CA and server certificate (ECDSA
//! P-256, fast to generate), a separate client CA with one client certificate (for mutual TLS), and a
//! self-signed RSA certificate whose key signs the registry tokens. Private keys are PKCS#8 PEM
//! (`-----BEGIN PRIVATE KEY-----`, what OpenSSL 3 writes), which Go, OpenSSL and rustls all accept.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// Files of a test TLS setup: a CA of its own and a server certificate it signed.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The CA certificate (PEM), also copied as `certs.d/ca.crt`.
    pub ca_crt: PathBuf,
    /// The server certificate (PEM), SAN `IP:127.0.0.1, DNS:localhost`.
    pub server_crt: PathBuf,
    /// The server key (PEM).
    pub server_key: PathBuf,
    /// A directory holding only `ca.crt` (for skopeo `--cert-dir`).
    pub cert_dir: PathBuf,
}

/// Files of the token signer.
#[derive(Debug, Clone)]
pub(crate) struct SignerFiles {
    /// Self-signed RSA certificate (PEM), the registry's `rootcertbundle` and the JWT `x5c`.
    pub(crate) cert: PathBuf,
    /// Its RSA private key (PKCS#8 PEM).
    pub(crate) key: PathBuf,
}

/// Files of a client identity for mutual TLS: a client CA of its own (not the server's CA) and a client
/// certificate it signed.
#[derive(Debug, Clone)]
pub(crate) struct ClientFiles {
    /// The client CA certificate (PEM): the registry's `http.tls.clientcas`.
    pub(crate) ca_crt: PathBuf,
    /// The client certificate (PEM), `extendedKeyUsage=clientAuth` (Go's server requires it).
    pub(crate) cert: PathBuf,
    /// Its private key (ECDSA P-256, PKCS#8 PEM).
    pub(crate) key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "openssl {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Writes a self-signed CA `<name>.crt`/`<name>.key` (EC P-256) named `cn` into `dir`.
fn make_ca(dir: &Path, name: &str, cn: &str) -> anyhow::Result<()> {
    let (key, crt, subj) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("/CN={cn}"),
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "3650",
            "-subj",
            &subj,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )
}

/// Writes `<name>.key` (EC P-256, PKCS#8) and `<name>.crt` for `cn`, signed by the CA `ca`
/// (`<ca>.crt`/`<ca>.key`), with the X.509 extensions `ext` (an openssl extfile body).
fn make_leaf(dir: &Path, name: &str, cn: &str, ca: &str, ext: &str) -> anyhow::Result<()> {
    let (key, csr, crt, extfile) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
        format!("{name}.ext"),
    );
    let (ca_crt, ca_key) = (format!("{ca}.crt"), format!("{ca}.key"));
    let subj = format!("/CN={cn}");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &subj,
        ],
    )?;
    std::fs::write(dir.join(&extfile), ext)?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "3650",
            "-extfile",
            &extfile,
        ],
    )
}

/// Generates a CA and a server certificate for 127.0.0.1/localhost into `dir` (with `openssl`).
///
/// # Errors
///
/// When `openssl` is missing or fails.
pub fn generate_tls(dir: &Path) -> anyhow::Result<TlsFiles> {
    std::fs::create_dir_all(dir)?;
    make_ca(dir, "ca", "imagefacts test CA")?;
    make_leaf(
        dir,
        "server",
        "localhost",
        "ca",
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )?;
    let cert_dir = dir.join("certs.d");
    std::fs::create_dir_all(&cert_dir)?;
    std::fs::copy(dir.join("ca.crt"), cert_dir.join("ca.crt"))?;
    Ok(TlsFiles {
        ca_crt: dir.join("ca.crt"),
        server_crt: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        cert_dir,
    })
}

/// Generates a client CA and a client certificate (CN `imagefacts-test-client`) into `dir`.
pub(crate) fn generate_client_identity(dir: &Path) -> anyhow::Result<ClientFiles> {
    std::fs::create_dir_all(dir)?;
    make_ca(dir, "client-ca", "imagefacts test client CA")?;
    make_leaf(
        dir,
        "client",
        "imagefacts-test-client",
        "client-ca",
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\n\
         extendedKeyUsage=clientAuth\n",
    )?;
    let key = dir.join("client.key");
    let key_pem = std::fs::read_to_string(&key).context("reading client key")?;
    if !key_pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        bail!(
            "openssl did not write the client key as PKCS#8: {}",
            key.display()
        );
    }
    Ok(ClientFiles {
        ca_crt: dir.join("client-ca.crt"),
        cert: dir.join("client.crt"),
        key,
    })
}

/// Generates the token-signing RSA key and its self-signed certificate into `dir`.
pub(crate) fn generate_token_signer(dir: &Path) -> anyhow::Result<SignerFiles> {
    std::fs::create_dir_all(dir)?;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "token-signer.key",
            "-out",
            "token-signer.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=imagefacts test token signer",
        ],
    )?;
    Ok(SignerFiles {
        cert: dir.join("token-signer.crt"),
        key: dir.join("token-signer.key"),
    })
}

/// The base64 (standard alphabet) DER of the first certificate in a PEM file: the PEM body itself.
pub(crate) fn pem_cert_base64_der(pem: &str) -> anyhow::Result<String> {
    let begin = "-----BEGIN CERTIFICATE-----";
    let end = "-----END CERTIFICATE-----";
    let start = pem.find(begin).context("no BEGIN CERTIFICATE in PEM")? + begin.len();
    let stop = pem[start..]
        .find(end)
        .context("no END CERTIFICATE in PEM")?
        + start;
    Ok(pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect())
}
