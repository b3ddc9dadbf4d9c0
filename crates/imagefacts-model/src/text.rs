//! Text from outside (bundles, registries) made safe to print: control characters, terminal
//! escape sequences included, are shown escaped, never sent to the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every control character escaped (`\u{1b}`, `\n`, `\t`, …); unchanged (borrowed)
/// when it has none.
///
/// ```
/// use imagefacts_model::text::printable;
///
/// assert_eq!(printable("nginx:1.25"), "nginx:1.25");
/// assert_eq!(printable("evil\u{1b}[2J"), "evil\\u{1b}[2J");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `time` as people read it in text files and tables: RFC 3339 in UTC, to the second.
///
/// ```
/// use imagefacts_model::text::rfc3339_seconds;
/// use time::macros::datetime;
///
/// assert_eq!(
///     rfc3339_seconds(datetime!(2026-12-01 18:04:23.188419832 +00:00)),
///     "2026-12-01T18:04:23Z"
/// );
/// assert_eq!(rfc3339_seconds(datetime!(2026-12-01 20:04:23 +02:00)), "2026-12-01T18:04:23Z");
/// ```
pub fn rfc3339_seconds(time: time::OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| time.to_string())
}

/// An RFC 3339 time written elsewhere (an image's `created`), shown as [`rfc3339_seconds`]
/// does; kept as written when it does not parse.
pub fn rfc3339_text_seconds(text: &str) -> Cow<'_, str> {
    use time::format_description::well_known::Rfc3339;
    match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => Cow::Owned(rfc3339_seconds(t)),
        Err(_) => Cow::Borrowed(text),
    }
}

/// Control characters (C0, DEL, C1) and the bidirectional overrides that reorder what a
/// terminal shows.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_only() {
        assert!(matches!(printable("plain text é"), Cow::Borrowed(_)));
        assert_eq!(printable("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(printable("\u{1b}]0;title\u{7}"), "\\u{1b}]0;title\\u{7}");
        assert_eq!(printable("x\u{9b}y"), "x\\u{9b}y");
        assert_eq!(printable("\u{202e}gnp.exe"), "\\u{202e}gnp.exe");
    }
}
