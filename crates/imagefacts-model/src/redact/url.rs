//! URL userinfo: `scheme://userinfo@host` → `scheme://***HIDDEN***@host`, passwords holding `/`,
//! `@`, `:`, `?` or `#` included.
//!
//! The rule, on the text after `://` up to whitespace, a quote, `<`, `>` or the next URL:
//!
//! 1. the *authority* is that text up to its first `/`, `?` or `#`;
//! 2. if the authority holds an `@`, or it looks like `user:password` (a `:` not followed by a
//!    port number, and not an `[IPv6]` host), the userinfo may run on past a `/`, `?` or `#`: it
//!    ends at the **last** `@` before the first `/`, `?` or `#` that follows the **first** `@`;
//! 3. otherwise there is no userinfo: `https://host/path@x` and `https://host:8080/a@b` keep
//!    their `@` (a path, not credentials).
//!
//! So `postgres://u:p/w@db:5432/x?email=a@b` hides `u:p/w`, and `git+ssh://git@github.com:o/r@v1`
//! hides `git`. Undecidable and left alone: an all-digit password with a `/` in it
//! (`u:1234/5@db` reads as host `u`, port 1234).

use super::{HIDDEN, needs_hiding};

/// Replaces the userinfo of every URL in `text` (`https://user:pw@host` →
/// `https://***HIDDEN***@host`, `postgres://u:p/w@db` → `postgres://***HIDDEN***@db`; see the
/// module source for the rule). Returns the new text and how many were replaced.
pub fn redact_urls(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut copied = 0;
    let mut search = 0;
    while let Some(rel) = text[search..].find("://") {
        let start = search + rel + 3;
        let token = &text[start..token_end(text, start)];
        let (userinfo_end, resume) = userinfo_end(token);
        if let Some(at) = userinfo_end
            && at > 0
            && needs_hiding(&token[..at])
        {
            out.push_str(&text[copied..start]);
            out.push_str(HIDDEN);
            copied = start + at;
            count += 1;
        }
        search = start + resume;
    }
    out.push_str(&text[copied..]);
    (out, count)
}

/// Where the URL starting (after its `://`) at `start` ends: at whitespace, a quote, `<`, `>`,
/// or where the scheme of a next URL begins (`postgres://u:p@a,postgres://…`).
fn token_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let mut end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
        .unwrap_or(rest.len());
    if let Some(next) = rest[..end].find("://") {
        let scheme_len = rest[..next]
            .bytes()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
            .count();
        end = next - scheme_len;
    }
    start + end
}

/// In `token` (a URL after its `://`): where its userinfo ends (the index of the `@`), if it
/// has one, and where scanning for the next URL resumes (past the authority).
fn userinfo_end(token: &str) -> (Option<usize>, usize) {
    let is_delimiter = |c: char| matches!(c, '/' | '?' | '#');
    let authority_end = token.find(is_delimiter).unwrap_or(token.len());
    let Some(first_at) = token.find('@') else {
        return (None, authority_end);
    };
    if first_at > authority_end && !looks_like_user_password(&token[..authority_end]) {
        return (None, authority_end);
    }
    let region_end = token[first_at..]
        .find(is_delimiter)
        .map_or(token.len(), |i| first_at + i);
    (token[..region_end].rfind('@'), region_end)
}

/// `user:secret` rather than `host:port` or `[v6]:port`.
fn looks_like_user_password(authority: &str) -> bool {
    if authority.starts_with('[') {
        return false;
    }
    authority
        .split_once(':')
        .is_some_and(|(_, after)| after.is_empty() || !after.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo() {
        let cases = [
            ("https://user:pw@host/x", "https://***HIDDEN***@host/x", 1),
            (
                "git+ssh://git@github.com/o/r",
                "git+ssh://***HIDDEN***@github.com/o/r",
                1,
            ),
            ("https://host/x?a=b@c", "https://host/x?a=b@c", 0),
            (
                "a https://u:p@h b http://h2 c ftp://x@y",
                "a https://***HIDDEN***@h b http://h2 c ftp://***HIDDEN***@y",
                2,
            ),
            ("no url", "no url", 0),
            ("https://***HIDDEN***@h", "https://***HIDDEN***@h", 0),
            ("://@", "://@", 0),
            // Passwords holding `/`, `@`, `:`, `?`, `#`.
            (
                "postgres://u:p/w@db:5432/x",
                "postgres://***HIDDEN***@db:5432/x",
                1,
            ),
            (
                "postgres://u:p/w@db:5432/x?email=a@b.example",
                "postgres://***HIDDEN***@db:5432/x?email=a@b.example",
                1,
            ),
            (
                "redis://:p@s:s@cache:6379",
                "redis://***HIDDEN***@cache:6379",
                1,
            ),
            ("amqp://u:p/w@x@mq/vhost", "amqp://***HIDDEN***@mq/vhost", 1),
            ("https://u:p?w#x@h/p", "https://***HIDDEN***@h/p", 1),
            ("https://u:p:q@h", "https://***HIDDEN***@h", 1),
            // An `@` in the path is not userinfo.
            ("https://host/path@x", "https://host/path@x", 0),
            ("https://host:8080/a@b", "https://host:8080/a@b", 0),
            (
                "https://registry.npmjs.org/@scope/pkg",
                "https://registry.npmjs.org/@scope/pkg",
                0,
            ),
            ("https://[::1]:80/a@b", "https://[::1]:80/a@b", 0),
            (
                "git+https://github.com/o/r@v1.2#egg=x",
                "git+https://github.com/o/r@v1.2#egg=x",
                0,
            ),
            (
                "git+ssh://git@github.com:o/r.git@v1",
                "git+ssh://***HIDDEN***@github.com:o/r.git@v1",
                1,
            ),
            // Two URLs back to back, a URL inside another, quoted.
            (
                "postgres://u:p@a,postgres://v:q@b",
                "postgres://***HIDDEN***@a,postgres://***HIDDEN***@b",
                2,
            ),
            (
                "https://h/login?next=https://u:p@i/x",
                "https://h/login?next=https://***HIDDEN***@i/x",
                1,
            ),
            (
                "url=\"https://u:p@h\" x@y",
                "url=\"https://***HIDDEN***@h\" x@y",
                1,
            ),
            ("https://$(USER)@h", "https://$(USER)@h", 0),
            ("https://hé:pä@hôst/ü", "https://***HIDDEN***@hôst/ü", 1),
        ];
        for (input, want, n) in cases {
            assert_eq!(redact_urls(input), (want.to_owned(), n), "{input}");
            assert_eq!(redact_urls(want), (want.to_owned(), 0), "again: {want}");
        }
    }
}
