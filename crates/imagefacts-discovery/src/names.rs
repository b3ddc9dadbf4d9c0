//! Names that become paths or table cells: namespaces and object names are checked against the
//! Kubernetes rules (DNS-1123) before anything uses them, and shown escaped.

use imagefacts_model::text::printable;

/// Checks a namespace name: a DNS-1123 label (lowercase letters, digits and `-`, starting and
/// ending with a letter or digit, at most 63 characters).
pub(crate) fn check_namespace(name: &str) -> Result<(), &'static str> {
    check(name, 63, false).map_err(|()| "not a valid namespace name (DNS-1123 label)")
}

/// Whether `name` is a valid namespace name (a DNS-1123 label): safe to use in a path.
pub fn valid_namespace(name: &str) -> bool {
    check_namespace(name).is_ok()
}

/// Checks an object name: a DNS-1123 subdomain (labels joined by `.`, at most 253 characters).
pub(crate) fn check_subdomain(name: &str) -> Result<(), &'static str> {
    check(name, 253, true).map_err(|()| "not a valid object name (DNS-1123 subdomain)")
}

fn check(name: &str, max: usize, dots: bool) -> Result<(), ()> {
    let b = name.as_bytes();
    let ok_char =
        |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || (dots && c == b'.');
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let fine = !b.is_empty()
        && b.len() <= max
        && b.iter().all(|c| ok_char(*c))
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.");
    if fine { Ok(()) } else { Err(()) }
}

/// A name quoted for a message, control characters escaped.
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", printable(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_1123() {
        for ok in ["shop", "kube-system", "a", "a1-b2", &"x".repeat(63)] {
            assert!(check_namespace(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a/../../b",
            "x/y",
            "Shop",
            "-a",
            "a-",
            "a.b",
            "a b",
            "..",
            &"x".repeat(64),
            "evil\u{1b}[2J",
        ] {
            assert!(check_namespace(bad).is_err(), "{bad:?}");
        }
        for ok in ["web-5d9f8c7b6-abcde", "a.b.c", "db-0", "node-1.example.com"] {
            assert!(check_subdomain(ok).is_ok(), "{ok}");
        }
        for bad in ["a/b", "..", "a..b", "a.-b", "A", "", "x_y"] {
            assert!(check_subdomain(bad).is_err(), "{bad:?}");
        }
        assert_eq!(quoted("a\u{1b}b"), "\"a\\u{1b}b\"");
    }
}
