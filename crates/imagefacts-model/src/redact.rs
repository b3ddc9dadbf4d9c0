//! Redaction of secrets that images carry in plain sight: values of environment variables and
//! labels whose names look secret, and credentials inside URLs. The marker is troubleshoot's
//! `***HIDDEN***`.

use crate::facts::{ConfigFacts, ImageFacts};

/// What replaces a secret.
pub const HIDDEN: &str = "***HIDDEN***";

/// Name fragments that mark a secret anywhere in a name (case-insensitive).
const SECRET_FRAGMENTS: [&str; 14] = [
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "credential",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "privatekey",
    "private_key",
    "private-key",
];

/// Whole words (split on non-alphanumerics) that mark a secret (`AUTH`, but not `authors`).
const SECRET_WORDS: [&str; 5] = ["auth", "pwd", "pass", "pw", "dsn"];

/// Whether an environment variable or label name looks like it holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_FRAGMENTS.iter().any(|f| lower.contains(f))
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| SECRET_WORDS.contains(&w))
}

/// Replaces the userinfo of every URL in `text` (`https://user:pw@host` → `https://***HIDDEN***@host`).
/// Returns the new text and how many were replaced.
pub fn redact_urls(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(at) if at > 0 && &authority[..at] != HIDDEN => {
                out.push_str(HIDDEN);
                out.push_str(&authority[at..]);
                count += 1;
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    (out, count)
}

fn redact_value(name: &str, value: &mut String) -> usize {
    if is_secret_name(name) {
        if value.is_empty() || value == HIDDEN {
            return 0;
        }
        *value = HIDDEN.to_owned();
        return 1;
    }
    let (clean, n) = redact_urls(value);
    if n > 0 {
        *value = clean;
    }
    n
}

fn redact_env(env: &mut [String]) -> usize {
    let mut count = 0;
    for entry in env.iter_mut() {
        let Some((name, value)) = entry.split_once('=') else {
            continue;
        };
        let (name, mut value) = (name.to_owned(), value.to_owned());
        let n = redact_value(&name, &mut value);
        if n > 0 {
            *entry = format!("{name}={value}");
            count += n;
        }
    }
    count
}

fn redact_config(config: &mut ConfigFacts) -> usize {
    redact_env(&mut config.env)
        + config
            .entrypoint
            .iter_mut()
            .chain(config.cmd.iter_mut())
            .map(|arg| {
                let (clean, n) = redact_urls(arg);
                *arg = clean;
                n
            })
            .sum::<usize>()
}

fn redact_labels(labels: &mut std::collections::BTreeMap<String, String>) -> usize {
    labels.iter_mut().map(|(k, v)| redact_value(k, v)).sum()
}

fn redact_opt(value: &mut Option<String>) -> usize {
    let Some(v) = value else { return 0 };
    let (clean, n) = redact_urls(v);
    *v = clean;
    n
}

/// Redacts one entry in place and returns how many values were hidden.
pub fn redact_facts(facts: &mut ImageFacts) -> usize {
    let mut n = redact_config(&mut facts.config) + redact_labels(&mut facts.labels);
    for p in &mut facts.platforms {
        n += redact_config(&mut p.config) + redact_labels(&mut p.labels);
    }
    let b = &mut facts.build_info;
    n += redact_opt(&mut b.source)
        + redact_opt(&mut b.revision)
        + redact_opt(&mut b.version)
        + redact_opt(&mut b.created);
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn secret_names() {
        for yes in [
            "DB_PASSWORD",
            "PGPASSWORD",
            "API_TOKEN",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "AWS_ACCESS_KEY_ID",
            "API_KEY",
            "apiKey",
            "private-key",
            "AUTH",
            "BASIC_AUTH",
            "REDIS_PASS",
            "DB_PWD",
            "com.example.credentials",
            "SENTRY_DSN",
        ] {
            assert!(is_secret_name(yes), "{yes}");
        }
        for no in [
            "PATH",
            "HOME",
            "org.opencontainers.image.authors",
            "LANG",
            "PASSENGER_MODE",
            "org.opencontainers.image.source",
            "KEYBOARD",
        ] {
            assert!(!is_secret_name(no), "{no}");
        }
    }

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
        ];
        for (input, want, n) in cases {
            assert_eq!(redact_urls(input), (want.to_owned(), n), "{input}");
        }
    }

    #[test]
    fn facts_are_redacted_everywhere() {
        let mut f = ImageFacts::empty("r", "reg", "repo", OffsetDateTime::UNIX_EPOCH);
        f.config.env = vec![
            "DB_PASSWORD=hunter2".into(),
            "API_TOKEN=abc123".into(),
            "PATH=/usr/bin".into(),
            "MIRROR=https://bob:s3cret@mirror.example/x".into(),
            "EMPTY_TOKEN=".into(),
        ];
        f.labels
            .insert("repo".into(), "https://user:pw@host/x".into());
        f.labels.insert("vault.token".into(), "t0k".into());
        f.build_info.source = Some("https://ci:key@git.example/app".into());
        let n = redact_facts(&mut f);
        assert_eq!(n, 6);
        assert_eq!(
            f.config.env,
            [
                "DB_PASSWORD=***HIDDEN***",
                "API_TOKEN=***HIDDEN***",
                "PATH=/usr/bin",
                "MIRROR=https://***HIDDEN***@mirror.example/x",
                "EMPTY_TOKEN="
            ]
        );
        assert_eq!(f.labels["repo"], "https://***HIDDEN***@host/x");
        assert_eq!(f.labels["vault.token"], HIDDEN);
        let json = serde_json::to_string(&f).unwrap();
        for secret in ["hunter2", "abc123", "s3cret", "pw@", "t0k", "ci:key"] {
            assert!(!json.contains(secret), "{secret} leaked");
        }
        assert_eq!(redact_facts(&mut f), 0, "idempotent");
    }
}
