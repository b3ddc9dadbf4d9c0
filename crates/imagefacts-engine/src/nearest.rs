//! The existing tags nearest to a missing one (`nearestTags`).
//!
//! Tags are compared as versions first: each is split into components at `.`, `-`, `_` and `+`,
//! and a candidate is nearer the more leading components it shares with the missing tag. Among
//! candidates sharing as many, at the first component that differs:
//!
//! - both numeric: the smaller the difference, the nearer (a tie goes to the lower version);
//! - the candidate ends there (a shorter version the missing tag extends, often a floating
//!   tag): as near as a sibling one and a half apart, after the adjacent siblings;
//! - the missing tag ends there (the candidate extends it): `1.25.3-alpine` for `1.25.3`;
//! - anything else: last.
//!
//! So for a missing `1.25.3`: `1.25.2`, `1.25.4`, `1.25`, `1.25.1`, `1.25.5`, ..., then `1.24.x`
//! and `1.26.x`.
//!
//! Ties are broken by the edit distance of the whole tags, then alphabetically. The tag
//! schema's `sha256-<hex>` tags are never offered. A candidate sharing no component is
//! offered only within two edits, or a third of the longer tag's length when that is more.

use std::cmp::Reverse;

use imagefacts_model::facts::is_referrers_tag;

/// How many nearest tags an entry lists at most.
pub(crate) const NEAREST_TAGS: usize = 5;

/// The tags of `tags` nearest to `missing`, nearest first, `limit` at most.
pub(crate) fn nearest_tags(missing: &str, tags: &[String], limit: usize) -> Vec<String> {
    let want = components(missing);
    let mut ranked: Vec<_> = tags
        .iter()
        .filter(|t| t.as_str() != missing && !is_referrers_tag(t))
        .filter_map(|t| {
            let have = components(t);
            let shared = want.iter().zip(&have).take_while(|(a, b)| a == b).count();
            let distance = edit_distance(missing, t);
            let longest = missing.chars().count().max(t.chars().count());
            let far = distance > (longest / 3).max(2);
            if shared == 0 && far {
                return None;
            }
            // Numeric siblings rank by twice their difference, so the adjacent ones (2) come
            // before a shorter version (3), which comes before the next siblings (4, 6, ...).
            let (rank, version) = match (want.get(shared), have.get(shared)) {
                (Some(a), Some(b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                    (Ok(a), Ok(b)) => (a.abs_diff(b).saturating_mul(2), b),
                    _ => (u64::MAX, 0),
                },
                (Some(_), None) => (3, 0),
                (None, Some(_)) => (4, 0),
                (None, None) => (0, 0),
            };
            Some(((Reverse(shared), rank, version, distance), t))
        })
        .collect();
    ranked.sort();
    ranked
        .into_iter()
        .take(limit)
        .map(|(_, t)| t.clone())
        .collect()
}

fn components(tag: &str) -> Vec<&str> {
    tag.split(['.', '-', '_', '+']).collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn versions_nearest_first() {
        let have = tags(&[
            "1.24.0", "1.25", "1.25.2", "1.25.4", "1.26.3", "1.25.0", "latest", "2.0",
        ]);
        assert_eq!(
            nearest_tags("1.25.3", &have, 5),
            ["1.25.2", "1.25.4", "1.25", "1.25.0", "1.24.0"]
        );
        assert_eq!(
            nearest_tags("1.0.1", &tags(&["1.0", "1.0.0", "1.1"]), 5),
            ["1.0.0", "1.0", "1.1"]
        );
        assert_eq!(
            nearest_tags(
                "1.25.3",
                &tags(&["1.25.3-alpine", "1.25", "1.25.3-slim"]),
                2
            ),
            ["1.25.3-slim", "1.25.3-alpine"]
        );
    }

    #[test]
    fn names_by_edit_distance_and_unrelated_tags_left_out() {
        let have = tags(&["stable", "main", "latest", "1.0", "v1"]);
        assert_eq!(nearest_tags("lastest", &have, 5), ["latest"]);
        assert_eq!(nearest_tags("mian", &have, 5), ["main"]);
        assert!(nearest_tags("zzzzzz", &have, 5).is_empty());
        let digest = format!("sha256-{}", "a".repeat(64));
        let schema = tags(&[&digest, &format!("{digest}.sig"), "1.0"]);
        assert_eq!(nearest_tags("1.1", &schema, 5), ["1.0"]);
        assert!(nearest_tags("1.0", &tags(&["1.0"]), 5).is_empty());
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("1.25.3", "1.25.2"), 1);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
