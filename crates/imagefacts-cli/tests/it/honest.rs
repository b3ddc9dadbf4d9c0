//! An honest cache: a warm cache never answers for the registry unless asked to, and every
//! entry says where its facts came from.

use imagefacts_testkit::{Registry, RegistryKind, push_fixtures};

use crate::support::{imagefacts, write_authfile};

/// A good run fills the cache; the same reference with a wrong password and the same cache is
/// an `auth` error (exit 1), not the cached facts presented as the registry's.
#[test]
fn a_wrong_password_after_a_good_run_is_an_auth_error() {
    let reg = Registry::start(RegistryKind::TlsBasic).unwrap();
    let fx = push_fixtures(&reg).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (user, _) = reg.credentials().unwrap();
    let wrong = write_authfile(dir.path(), &reg.host(), &user, "not-the-password");
    let ca = reg.ca_file().unwrap().display().to_string();
    let cache_dir = cache.path().display().to_string();
    let references = [
        format!("{}/{}", reg.host(), fx.single),
        format!(
            "{}/{}@{}",
            reg.host(),
            fx.single.split(':').next().unwrap(),
            fx.single_digest
        ),
    ];
    let run = |authfile: &str, extra: &[&str]| {
        let mut args = vec![
            "inspect",
            "--ca-file",
            &ca,
            "--authfile",
            authfile,
            "--cache-dir",
            &cache_dir,
        ];
        args.extend_from_slice(extra);
        args.extend(references.iter().map(String::as_str));
        imagefacts(&args)
    };
    let good = reg.authfile().unwrap().display().to_string();
    let first = run(&good, &[]);
    assert_eq!(first.status, 0, "{}", first.stderr);
    let bad = run(&wrong.display().to_string(), &[]);
    assert_eq!(bad.status, 1, "{}", bad.stdout);
    for f in bad.facts() {
        assert_eq!(f["errorDetail"]["kind"], "auth", "{f:#}");
        assert!(f.get("digest").is_none(), "no cached fact presented: {f:#}");
    }
    // Trusting cached tags is the user's choice, and then the entries say the cache answered.
    let trusted = run(&wrong.display().to_string(), &["--cache-ttl", "1h"]);
    let facts = trusted.facts();
    assert_eq!(facts[0]["source"], "cache", "{:#}", facts[0]);
    assert!(facts[0].get("error").is_none());
    // A reference pinned by digest is still confirmed with the registry: auth error.
    assert_eq!(facts[1]["errorDetail"]["kind"], "auth", "{:#}", facts[1]);
    assert_eq!(trusted.status, 1);
}
