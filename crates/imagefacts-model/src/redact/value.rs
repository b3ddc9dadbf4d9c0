//! Redaction by value inside free strings and command lines: `Authorization` credentials,
//! secret options and assignments, secret query parameters, and (through [`redact_urls`]) URL
//! userinfo.

use super::{HIDDEN, is_secret_name, needs_hiding, redact_urls};

/// Query parameter names that hold a secret although [`is_secret_name`] does not say so (exact
/// names, case-insensitive), in a query string or anywhere else (Azure SAS `sig`, S3, GCS and
/// CloudFront signatures).
const SIGNATURE_NAMES: [&str; 4] = ["sig", "signature", "x-amz-signature", "x-goog-signature"];

/// Names that hold a secret only as a query parameter (`?key=…`, Google API keys).
const QUERY_ONLY_NAMES: [&str; 1] = ["key"];

/// `Authorization` schemes: after one of these the next word is the credential.
const AUTH_SCHEMES: [&str; 17] = [
    "basic",
    "bearer",
    "digest",
    "negotiate",
    "ntlm",
    "token",
    "aws4-hmac-sha256",
    "hoba",
    "mutual",
    "oauth",
    "scram-sha-1",
    "scram-sha-256",
    "vapid",
    "apikey",
    "jwt",
    "ssws",
    "dpop",
];

/// Hides every secret found by value in `text`:
///
/// - the credential of `Authorization:`, `Proxy-Authorization:`, `authorization=` (the scheme
///   word such as `Bearer` or `Basic` is kept; a header value without a known scheme is hidden
///   whole; a parameter list such as AWS4 `Credential=…, Signature=…` to the end of the line);
/// - the value of an option or assignment whose name [`is_secret_name`] accepts, where it starts
///   a word (at the start, after whitespace, a quote, `=`, `;`, `(` or `,`): Java system
///   properties `-Dspring.datasource.password=…`, `--password=…`, `-token=…`, `--token VALUE`,
///   `DB_PASSWORD=…`, `sig=…`;
/// - the value of a query parameter after `?` or `&` whose name [`is_secret_name`] accepts or is
///   `sig`, `signature`, `key`, `X-Amz-Signature`, `X-Goog-Signature` (`X-Amz-Credential`,
///   `X-Amz-Security-Token`, `access_token`, `api_key`… are accepted by name): the name is kept,
///   the value up to `&`, `#`, whitespace or a quote hidden;
/// - URL userinfo, as [`redact_urls`].
///
/// A quoted value (`--password="a b"`) is hidden inside its quotes. Returns the new text and how
/// many values were hidden; already hidden values and variable references (`$(TOKEN)`) count 0.
pub fn redact_text(text: &str) -> (String, usize) {
    let (a, n1) = redact_auth_headers(text);
    let (b, n2) = redact_options(&a);
    let (c, n3) = redact_urls(&b);
    (c, n1 + n2 + n3)
}

/// Redacts a command line in place: [`redact_text`] on every element, and the whole next element
/// after a long flag without `=` whose name [`is_secret_name`] accepts (`--api-key VALUE`),
/// unless that element is itself an option (starts with `-`). Short flags (`-p`, `-u`) are left
/// alone. Returns how many values were hidden, each once.
pub fn redact_args(args: &mut [String]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < args.len() {
        let (clean, n) = redact_text(&args[i]);
        if n > 0 {
            args[i] = clean;
            count += n;
        }
        let takes_secret = args[i]
            .strip_prefix("--")
            .is_some_and(|name| name.bytes().all(is_name_byte) && is_secret_name(name));
        if takes_secret
            && let Some(next) = args.get_mut(i + 1)
            && !(next.len() > 1 && next.starts_with('-'))
        {
            if needs_hiding(next) {
                *next = HIDDEN.to_owned();
                count += 1;
            }
            i += 1;
        }
        i += 1;
    }
    count
}

/// Text with some byte ranges replaced by [`HIDDEN`], built left to right.
struct Rewriter<'a> {
    text: &'a str,
    out: String,
    copied: usize,
    count: usize,
}

impl<'a> Rewriter<'a> {
    fn new(text: &'a str) -> Rewriter<'a> {
        Rewriter {
            text,
            out: String::new(),
            copied: 0,
            count: 0,
        }
    }

    /// Hides `text[start..end]` if it needs hiding.
    fn hide(&mut self, start: usize, end: usize) {
        if needs_hiding(&self.text[start..end]) {
            self.out.push_str(&self.text[self.copied..start]);
            self.out.push_str(HIDDEN);
            self.copied = end;
            self.count += 1;
        }
    }

    fn finish(mut self) -> (String, usize) {
        if self.count == 0 {
            return (self.text.to_owned(), 0);
        }
        self.out.push_str(&self.text[self.copied..]);
        (self.out, self.count)
    }
}

fn is_quote(b: u8) -> bool {
    matches!(b, b'"' | b'\'' | b'`')
}

/// Whether `b` ends an unquoted word.
fn ends_word(b: u8) -> bool {
    b.is_ascii_whitespace() || is_quote(b)
}

/// The end of the word starting at `i`.
fn word_end(b: &[u8], i: usize) -> usize {
    i + b[i..].iter().take_while(|&&c| !ends_word(c)).count()
}

/// `i` moved past spaces and tabs.
fn skip_blank(b: &[u8], i: usize) -> usize {
    i + b[i..]
        .iter()
        .take_while(|&&c| c == b' ' || c == b'\t')
        .count()
}

fn redact_auth_headers(text: &str) -> (String, usize) {
    const NAME: &str = "authorization";
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let mut w = Rewriter::new(text);
    let mut from = 0;
    while let Some(rel) = lower[from..].find(NAME) {
        let start = from + rel;
        from = start + NAME.len();
        if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_') {
            continue;
        }
        let Some((cs, ce)) = auth_credential(b, from) else {
            continue;
        };
        w.hide(cs, ce);
        from = ce;
    }
    w.finish()
}

/// The credential of an `authorization` header whose name ends at `i`.
fn auth_credential(b: &[u8], mut i: usize) -> Option<(usize, usize)> {
    if matches!(b.get(i), Some(b'"' | b'\'')) {
        i += 1;
    }
    i = skip_blank(b, i);
    if !matches!(b.get(i), Some(b':' | b'=')) {
        return None;
    }
    i = skip_blank(b, i + 1);
    let quote = match b.get(i) {
        Some(&q @ (b'"' | b'\'')) => {
            i += 1;
            Some(q)
        }
        _ => None,
    };
    let first_end = word_end(b, i);
    if first_end == i {
        return None;
    }
    let first = String::from_utf8_lossy(&b[i..first_end]).to_ascii_lowercase();
    if !AUTH_SCHEMES.contains(&first.as_str()) {
        return Some((i, first_end));
    }
    let cs = skip_blank(b, first_end);
    let mut ce = word_end(b, cs);
    if ce == cs {
        return None;
    }
    if is_auth_param(&b[cs..]) {
        ce = param_list_end(b, cs, quote);
    }
    Some((cs, ce))
}

/// Whether a credential starts with `name=value` (an auth-param list) rather than a token68,
/// which may end in `=` padding.
fn is_auth_param(b: &[u8]) -> bool {
    let name = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
        .count();
    name > 0
        && b.get(name) == Some(&b'=')
        && b.get(name + 1)
            .is_some_and(|&c| c != b'=' && !c.is_ascii_whitespace())
}

/// An auth-param list runs to the end of the line, or to the closing quote (one followed by
/// whitespace or the end) when the header value was quoted.
fn param_list_end(b: &[u8], start: usize, quote: Option<u8>) -> usize {
    let line_end = start
        + b[start..]
            .iter()
            .take_while(|&&c| c != b'\n' && c != b'\r')
            .count();
    let Some(q) = quote else {
        return line_end;
    };
    (start..line_end)
        .find(|&j| b[j] == q && b.get(j + 1).is_none_or(|c| c.is_ascii_whitespace()))
        .unwrap_or(line_end)
}

/// Whether an option or assignment may start after `b`.
fn is_word_start(b: u8) -> bool {
    ends_word(b) || matches!(b, b'=' | b';' | b'(' | b',' | b'?' | b'&')
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

fn redact_options(text: &str) -> (String, usize) {
    let b = text.as_bytes();
    let mut w = Rewriter::new(text);
    let mut i = 0;
    while i < b.len() {
        let starts = i == 0 || is_word_start(b[i - 1]);
        let query = i > 0 && matches!(b[i - 1], b'?' | b'&');
        if starts && let Some((true, vs, ve)) = option_at(text, i, query) {
            w.hide(vs, ve);
            i = ve.max(i + 1);
            continue;
        }
        i += 1;
    }
    w.finish()
}

/// The option or assignment starting at `i`, if any: whether its name is secret, and its value's
/// range.
fn option_at(text: &str, i: usize, query: bool) -> Option<(bool, usize, usize)> {
    let b = text.as_bytes();
    let dashes = b[i..].iter().take_while(|&&c| c == b'-').count();
    if dashes > 2 {
        return None;
    }
    // `-Dname=value`: the property name follows the `D`.
    let java = dashes == 1 && b.get(i + 1) == Some(&b'D');
    let name_start = i + dashes + usize::from(java);
    let name_len = b[name_start..]
        .iter()
        .take_while(|&&c| is_name_byte(c))
        .count();
    let first = *b.get(name_start)?;
    if name_len == 0 || !(first.is_ascii_alphanumeric() || first == b'_') {
        return None;
    }
    let name_end = name_start + name_len;
    let name = &text[name_start..name_end];
    let plain = dashes == 0;
    let value_start = match b.get(name_end) {
        Some(b'=') => name_end + 1,
        Some(c) if dashes == 2 && c.is_ascii_whitespace() => {
            let v = name_end
                + b[name_end..]
                    .iter()
                    .take_while(|c| c.is_ascii_whitespace())
                    .count();
            match b.get(v) {
                Some(&c) if c != b'-' => v,
                _ => return None,
            }
        }
        _ => return None,
    };
    let secret = is_secret_name(name)
        || SIGNATURE_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
        || (query
            && plain
            && QUERY_ONLY_NAMES
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name)));
    let (vs, ve) = value_span(b, value_start, query && plain);
    Some((secret, vs, ve))
}

/// The value starting at `start`: inside its quotes when quoted, else up to whitespace or a
/// quote, and up to `&` or `#` in a query string; elsewhere up to an `&` that starts a next
/// parameter (`sig=…&sv=…`).
fn value_span(b: &[u8], start: usize, query: bool) -> (usize, usize) {
    if let Some(&q) = b.get(start).filter(|&&c| is_quote(c))
        && let Some(len) = b[start + 1..].iter().position(|&c| c == q)
    {
        return (start + 1, start + 1 + len);
    }
    let mut end = start;
    while let Some(&c) = b.get(end) {
        let stop = ends_word(c)
            || (query && matches!(c, b'&' | b'#'))
            || (c == b'&' && starts_parameter(&b[end + 1..]));
        if stop {
            break;
        }
        end += 1;
    }
    (start, end)
}

/// Whether `b` starts with `name=`.
fn starts_parameter(b: &[u8]) -> bool {
    let name = b.iter().take_while(|&&c| is_name_byte(c)).count();
    name > 0 && b.get(name) == Some(&b'=')
}

#[cfg(test)]
mod tests;
