//! `WWW-Authenticate` parsing (RFC 7235 challenges), a pure function over the header value.
//!
//! Registries answer `Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`
//! or `Basic realm="Registry Realm"`; one header may carry several challenges, and quoted values
//! may hold commas and escaped quotes.

use std::collections::BTreeMap;

/// The authentication scheme of a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP Basic.
    Basic,
    /// OAuth2-style bearer tokens from a token endpoint (`realm`).
    Bearer,
    /// Any other scheme, lowercased.
    Other(String),
}

/// One challenge: a scheme and its parameters (names lowercased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme.
    pub scheme: Scheme,
    /// Parameters such as `realm`, `service`, `scope`, `error`.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// A parameter's value.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Parses every challenge in a `WWW-Authenticate` value. Malformed trailing input is ignored after
/// the last well-formed challenge; an unparseable value yields an empty list.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip_ws_and_commas();
        let Some(scheme) = p.token() else { break };
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "basic" => Scheme::Basic,
            "bearer" => Scheme::Bearer,
            other => Scheme::Other(other.to_owned()),
        };
        let mut params = BTreeMap::new();
        loop {
            p.skip_ws();
            let save = p.i;
            let Some(name) = p.token() else { break };
            p.skip_ws();
            if !p.eat(b'=') {
                // Not a parameter: the start of the next challenge (or a token68 we ignore).
                p.i = save;
                break;
            }
            p.skip_ws();
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.token().map(str::to_owned)
            };
            let Some(value) = value else { break };
            params.insert(name.to_ascii_lowercase(), value);
            p.skip_ws();
            if !p.eat(b',') {
                break;
            }
        }
        out.push(Challenge { scheme, params });
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    /// An RFC 7230 token (plus `/` so token68-ish values survive).
    fn token(&mut self) -> Option<&'a str> {
        let start = self.i;
        while let Some(b) = self.peek() {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&b);
            if !tchar {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then(|| std::str::from_utf8(&self.s[start..self.i]).unwrap_or(""))
    }

    fn quoted(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_scope_containing_commas() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#;
        let c = parse_challenges(h);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, Scheme::Bearer);
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:library/nginx:pull,push")
        );
    }

    #[test]
    fn several_challenges_and_spacing() {
        let h = r#"Basic realm="Registry Realm", Bearer realm = "https://a/t" , service=reg,error="invalid_token""#;
        let c = parse_challenges(h);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].scheme, Scheme::Basic);
        assert_eq!(c[0].param("realm"), Some("Registry Realm"));
        assert_eq!(c[1].scheme, Scheme::Bearer);
        assert_eq!(c[1].param("service"), Some("reg"));
        assert_eq!(c[1].param("error"), Some("invalid_token"));
    }

    #[test]
    fn escapes_case_and_garbage() {
        let c = parse_challenges(r#"bEaReR Realm="a\"b\\c""#);
        assert_eq!(c[0].scheme, Scheme::Bearer);
        assert_eq!(c[0].param("realm"), Some(r#"a"b\c"#));
        assert!(parse_challenges("").is_empty());
        assert!(parse_challenges("   ,  ").is_empty());
        let c = parse_challenges("Negotiate");
        assert_eq!(c[0].scheme, Scheme::Other("negotiate".into()));
        // An unterminated quote keeps what parsed before it.
        let c = parse_challenges(r#"Bearer service="x",realm="unterminated"#);
        assert_eq!(c[0].param("service"), Some("x"));
        assert_eq!(c[0].param("realm"), None);
    }
}
