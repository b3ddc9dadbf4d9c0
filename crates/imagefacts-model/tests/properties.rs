//! Properties of the reference and digest parsers over inputs generated from their grammars:
//! every valid reference parses to its parts and reads back as itself from its display and its
//! familiar form; digests round-trip, and malformed ones are refused for the right reason.

use imagefacts_model::digest::Algorithm;
use imagefacts_model::{Digest, DigestError, Reference};
use proptest::prelude::*;

/// Moderate: the properties run in the normal suite.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// A registry as written: a host (dotted name, `localhost`, IPv4 or bracketed IPv6) with an
/// optional port, always recognisable as a registry (a dot, a port or `localhost`).
fn registry() -> impl Strategy<Value = String> {
    let component = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?";
    let host = prop_oneof![
        prop::collection::vec(component, 2..4).prop_map(|c| c.join(".")),
        Just("localhost".to_owned()),
        (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        "\\[(::1|fe80::[0-9a-f]{1,4}|[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7})\\]",
    ];
    let single = component.prop_map(|c| c.to_owned());
    prop_oneof![
        (host.clone(), prop::option::of(0u32..70000)).prop_map(|(h, port)| match port {
            Some(p) => format!("{h}:{p}"),
            None => h,
        }),
        // A single-label host is a registry only with a port.
        (single, 1u32..70000).prop_map(|(h, p)| format!("{h}:{p}")),
    ]
}

/// `path-component ['/' path-component]*`; the first has no `.`, so that without a registry
/// it is never read as one.
fn repository() -> impl Strategy<Value = String> {
    let first = "[a-z0-9]{1,6}(([_]|__|-{1,3})[a-z0-9]{1,6}){0,2}";
    let rest = "[a-z0-9]{1,6}(([._]|__|-{1,3})[a-z0-9]{1,6}){0,2}";
    (first, prop::collection::vec(rest, 0..3)).prop_map(|(first, rest)| {
        std::iter::once(first)
            .chain(rest)
            .collect::<Vec<_>>()
            .join("/")
    })
}

fn tag() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
}

fn digest() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
        "[0-9a-f]{128}".prop_map(|h| format!("sha512:{h}")),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_reference_of_the_grammar_parses_to_its_parts_and_back(
        registry in prop::option::of(registry()),
        repository in repository(),
        tag in prop::option::of(tag()),
        digest in prop::option::of(digest()),
    ) {
        let mut written = String::new();
        if let Some(registry) = &registry {
            written.push_str(registry);
            written.push('/');
        }
        written.push_str(&repository);
        if let Some(tag) = &tag {
            written.push(':');
            written.push_str(tag);
        }
        if let Some(digest) = &digest {
            written.push('@');
            written.push_str(digest);
        }
        let r = Reference::parse(&written).unwrap();

        let hub = matches!(
            registry.as_deref(),
            None | Some("docker.io" | "index.docker.io" | "registry-1.docker.io")
        );
        prop_assert_eq!(r.registry(), if hub { "docker.io" } else { registry.as_deref().unwrap() });
        if hub && !repository.contains('/') {
            prop_assert_eq!(r.repository(), format!("library/{repository}"));
        } else {
            prop_assert_eq!(r.repository(), repository.as_str());
        }
        let want_tag = tag.as_deref().or(digest.is_none().then_some("latest"));
        prop_assert_eq!(r.tag(), want_tag);
        prop_assert_eq!(r.digest().map(ToString::to_string), digest);

        let shown = r.to_string();
        let again = Reference::parse(&shown).unwrap();
        prop_assert_eq!(&again, &r);
        prop_assert_eq!(again.to_string(), shown, "display is stable");
        prop_assert_eq!(Reference::parse(&r.familiar()).unwrap(), r);
    }

    #[test]
    fn digests_of_the_right_length_round_trip(hex in "[0-9a-f]{64}", long in "[0-9a-f]{128}") {
        for (text, algorithm) in [
            (format!("sha256:{hex}"), Algorithm::Sha256),
            (format!("sha512:{long}"), Algorithm::Sha512),
        ] {
            let d = Digest::parse(&text).unwrap();
            prop_assert_eq!(d.algorithm(), algorithm);
            prop_assert_eq!(d.to_string(), text);
            prop_assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        }
    }

    #[test]
    fn digests_of_another_length_are_refused(
        algorithm in prop_oneof![Just(Algorithm::Sha256), Just(Algorithm::Sha512)],
        hex in "[0-9a-f]{0,200}",
    ) {
        prop_assume!(hex.len() != algorithm.hex_len());
        let text = format!("{}:{hex}", algorithm.as_str());
        prop_assert!(
            matches!(Digest::parse(&text), Err(DigestError::BadEncoding { expected, .. })
                if expected == algorithm.hex_len()),
            "{}", text
        );
    }

    #[test]
    fn uppercase_hex_is_refused(hex in "[0-9a-f]{63}", upper in "[A-F]", at in 0usize..64) {
        let mut hex = hex;
        hex.insert_str(at, &upper);
        let refused = Digest::parse(&format!("sha256:{hex}"));
        prop_assert!(matches!(refused, Err(DigestError::BadEncoding { .. })), "{:?}", refused);
    }

    #[test]
    fn unknown_algorithms_and_missing_ones_are_refused(
        algorithm in "[a-zA-Z0-9+._-]{0,12}",
        hex in "[0-9a-f]{64}",
    ) {
        prop_assume!(algorithm != "sha256" && algorithm != "sha512");
        let refused = Digest::parse(&format!("{algorithm}:{hex}"));
        prop_assert!(
            matches!(&refused, Err(DigestError::UnsupportedAlgorithm { algorithm: a, .. }) if *a == algorithm),
            "{:?}", refused
        );
        let refused = Digest::parse(&format!("{algorithm}{hex}"));
        prop_assert!(matches!(refused, Err(DigestError::MissingAlgorithm { .. })), "{:?}", refused);
    }
}
