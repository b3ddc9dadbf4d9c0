//! Redaction of secrets that images and Kubernetes objects carry in plain sight. The marker is
//! troubleshoot's `***HIDDEN***`.
//!
//! Two ways to find a secret:
//!
//! - **by name**: the value of an environment variable, label, annotation or option whose name
//!   looks secret ([`is_secret_name`]) is hidden whole;
//! - **by value**: inside any other string, [`redact_text`] hides URL userinfo, secret query
//!   parameters, `Authorization` credentials and secret options or assignments
//!   (`-Dx.password=…`, `--token=…`, `API_KEY=…`); [`redact_args`] adds `--token VALUE` split
//!   over two arguments.
//!
//! Every function returns how many values it hid, and hides nothing twice: a second pass over
//! its own output changes nothing and returns 0. Values that are only a variable reference
//! (`$TOKEN`, `${TOKEN}`, `$(TOKEN)`) are references, not secrets, and stay.
//!
//! ```
//! use imagefacts_model::redact::{redact_args, redact_text};
//!
//! let (clean, n) = redact_text("postgres://u:p/w@db:5432/x");
//! assert_eq!((clean.as_str(), n), ("postgres://***HIDDEN***@db:5432/x", 1));
//!
//! let mut args = vec!["--port=8080".to_owned(), "--token".to_owned(), "abc".to_owned()];
//! assert_eq!(redact_args(&mut args), 1);
//! assert_eq!(args, ["--port=8080", "--token", "***HIDDEN***"]);
//! ```

use std::collections::BTreeMap;

mod facts;
mod kube;
mod url;
mod value;

#[cfg(test)]
mod tests;

pub use facts::{redact_facts, redact_facts_file};
pub use kube::redact_kubernetes_object;
pub use url::redact_urls;
pub use value::{redact_args, redact_text};

/// What replaces a secret.
pub const HIDDEN: &str = "***HIDDEN***";

/// Name fragments that mark a secret anywhere in a name (case-insensitive).
const SECRET_FRAGMENTS: [&str; 15] = [
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
    "access-key",
    "privatekey",
    "private_key",
    "private-key",
];

/// Whole words (split on non-alphanumerics) that mark a secret (`AUTH`, but not `authors`).
const SECRET_WORDS: [&str; 5] = ["auth", "pwd", "pass", "pw", "dsn"];

/// Fragments that contain a secret fragment but name no secret (`tokenizer`, `--tokenize`).
const NOT_SECRET_FRAGMENTS: [&str; 1] = ["tokeniz"];

/// Whether an environment variable, label, annotation, option or query parameter name looks
/// like it holds a secret: it contains a fragment such as `password`, `secret`, `token`,
/// `credential`, `api_key` or `private-key`, or a whole word `auth`, `pass`, `pwd`, `pw` or `dsn`
/// (case-insensitive; `AUTH_TYPE` and `REDIS_PASS` are secret, `authors` and `PASSENGER_MODE` are
/// not).
pub fn is_secret_name(name: &str) -> bool {
    let mut lower = name.to_ascii_lowercase();
    for not in NOT_SECRET_FRAGMENTS {
        lower = lower.replace(not, "_");
    }
    SECRET_FRAGMENTS.iter().any(|f| lower.contains(f))
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| SECRET_WORDS.contains(&w))
}

/// Whether `value` holds something to hide: not empty, not already hidden, and not just a
/// variable reference (`$NAME`, `${NAME}`, `$(NAME)`), which names a secret without holding it.
fn needs_hiding(value: &str) -> bool {
    !value.is_empty() && value != HIDDEN && !is_variable_reference(value)
}

fn is_variable_reference(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('$') else {
        return false;
    };
    let name = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| rest.strip_prefix('(').and_then(|r| r.strip_suffix(')')))
        .unwrap_or(rest);
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Redacts one named value in place, by name, else by value: the whole value is hidden when
/// [`is_secret_name`]`(name)`, else [`redact_text`] runs over it. Returns how many values were
/// hidden.
pub fn redact_value(name: &str, value: &mut String) -> usize {
    if is_secret_name(name) {
        if !needs_hiding(value) {
            return 0;
        }
        *value = HIDDEN.to_owned();
        return 1;
    }
    redact_string(value)
}

/// Runs [`redact_text`] over `value` in place; returns how many values were hidden.
fn redact_string(value: &mut String) -> usize {
    let (clean, n) = redact_text(value);
    if n > 0 {
        *value = clean;
    }
    n
}

/// Redacts `KEY=value` environment entries in place with [`redact_value`] (an entry without `=`
/// goes through [`redact_text`] whole). Returns how many values were hidden.
pub fn redact_env(env: &mut [String]) -> usize {
    let mut count = 0;
    for entry in env.iter_mut() {
        let Some((name, value)) = entry.split_once('=') else {
            count += redact_string(entry);
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

/// Redacts a string map (labels, annotations) in place with [`redact_value`] on each entry: by
/// key, else by value. Returns how many values were hidden.
pub fn redact_map(map: &mut BTreeMap<String, String>) -> usize {
    map.iter_mut().map(|(k, v)| redact_value(k, v)).sum()
}
