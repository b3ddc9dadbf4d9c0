//! URL redaction: what may be printed or stored of a URL.

/// `url` without userinfo and without its query string (which may carry tokens or signatures).
/// Unparseable input is returned with anything before an `@` masked.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url).ok().filter(|u| u.has_host()) {
        Some(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("");
                let _ = u.set_password(None);
            }
            if u.query().is_some() {
                u.set_query(None);
                return format!("{u}?<redacted>");
            }
            u.to_string()
        }
        None => match url.rsplit_once('@') {
            Some((_, rest)) => format!("<redacted>@{rest}"),
            None => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_userinfo_and_query() {
        assert_eq!(
            redact_url("https://user:pw@host/path?X-Amz-Signature=abc"),
            "https://host/path?<redacted>"
        );
        assert_eq!(redact_url("https://host/v2/"), "https://host/v2/");
        assert_eq!(redact_url("user:pw@weird"), "<redacted>@weird");
    }
}
