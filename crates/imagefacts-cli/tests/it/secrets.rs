//! Credentials never appear in stdout or stderr, at any log level.

use base64::Engine as _;
use imagefacts_testkit::{Registry, RegistryKind, push_fixtures};

use crate::support::imagefacts_env;

#[test]
fn credentials_never_printed_even_at_debug() {
    for kind in [RegistryKind::TlsBasic, RegistryKind::Token] {
        let reg = Registry::start(kind).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        let (user, password) = reg.credentials().unwrap();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let mut args = vec!["inspect".to_owned()];
        args.extend(reg.imagefacts_args());
        args.push(format!("{}/{}", reg.host(), fx.single));
        args.push(format!("{}/{}", reg.host(), fx.multi_oci));
        args.push(format!("{}/no/such:1", reg.host()));
        for level in ["debug", "trace"] {
            let run = imagefacts_env(&args, &[("RUST_LOG", level)]);
            assert_eq!(run.status, 1, "{kind:?}: {}", run.stderr);
            assert!(!run.stderr.is_empty(), "{level} logging is on");
            for secret in [&password, &basic] {
                assert!(
                    !run.stdout.contains(secret.as_str()),
                    "{kind:?} {level}: secret in stdout"
                );
                assert!(
                    !run.stderr.contains(secret.as_str()),
                    "{kind:?} {level}: secret in stderr"
                );
            }
            // Bearer tokens are secrets too.
            assert!(
                !run.stderr.contains("Bearer ey"),
                "{kind:?} {level}: token in stderr"
            );
        }
    }
}
