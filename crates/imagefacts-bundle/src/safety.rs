//! The checks that make a bundle safe to read, rewrite and later extract.
//!
//! Every entry must sit under one top directory: no absolute name, no `..` component. Links are
//! resolved the way an extractor would, never followed on disk: a symbolic link's target
//! relative to the link's directory, going through the other symbolic links of the bundle; it
//! may not leave the top directory at any step (an absolute target always leaves). A hard link's
//! target is a name in the archive and obeys the same rules as entry names. No entry may sit
//! below a symbolic link of the bundle (the classic "write through a link" escape), and a link
//! may not share its name with another entry.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::entry::EntryKind;
use crate::error::{BundleError, Result, UnsafeReason};

/// Most symbolic links followed while resolving one target (Linux's limit).
const MAX_HOPS: u32 = 40;

/// What the checks need to know about an entry.
pub(crate) struct Candidate<'a> {
    /// Full name as stored.
    pub(crate) name: &'a [u8],
    /// What it is.
    pub(crate) kind: EntryKind,
    /// Link target, for links.
    pub(crate) link: Option<&'a [u8]>,
}

/// The result of the checks.
#[derive(Debug)]
pub(crate) struct Checked {
    /// The top directory's name.
    pub(crate) top: Vec<u8>,
    /// Per candidate: its path below the top directory, components joined by `/` (empty for
    /// the top directory itself), or `None` for entries without a path (global headers, `./`).
    pub(crate) relative: Vec<Option<Vec<u8>>>,
}

/// The normal components of `name`, refusing absolute names and `..`.
pub(crate) fn components(name: &[u8]) -> Result<Vec<&[u8]>, UnsafeReason> {
    if name.first() == Some(&b'/') {
        return Err(UnsafeReason::AbsolutePath);
    }
    let mut out = Vec::new();
    for c in name.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(UnsafeReason::ParentComponent),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs every check over the entries of the bundle at `path`.
pub(crate) fn check(path: &Path, entries: &[Candidate<'_>]) -> Result<Checked> {
    let refuse = |c: &Candidate<'_>, reason: UnsafeReason| BundleError::UnsafeEntry {
        path: path.to_owned(),
        entry: lossy(c.name),
        reason,
    };
    let mut top: Option<Vec<u8>> = None;
    let mut comps: Vec<Option<Vec<&[u8]>>> = Vec::with_capacity(entries.len());
    for c in entries {
        if !c.kind.has_path() {
            comps.push(None);
            continue;
        }
        let parts = components(c.name).map_err(|r| refuse(c, r))?;
        let Some(first) = parts.first() else {
            // `./` itself: the extraction directory, harmless as a directory.
            if c.kind == EntryKind::Directory {
                comps.push(None);
                continue;
            }
            return Err(refuse(
                c,
                UnsafeReason::OutsideTopDir {
                    top: top.as_deref().map(lossy).unwrap_or_default(),
                },
            ));
        };
        match &top {
            None => top = Some(first.to_vec()),
            Some(t) if t.as_slice() != *first => {
                return Err(refuse(c, UnsafeReason::SecondTopDir { first: lossy(t) }));
            }
            Some(_) => {}
        }
        if parts.len() == 1 && c.kind != EntryKind::Directory {
            return Err(refuse(c, UnsafeReason::OutsideTopDir { top: lossy(first) }));
        }
        comps.push(Some(parts));
    }
    let Some(top) = top else {
        return Err(BundleError::NotABundle {
            path: path.to_owned(),
            reason: "it holds no entries".into(),
        });
    };

    // Symbolic links by joined path, and names already used.
    let mut symlinks: HashMap<Vec<u8>, &[u8]> = HashMap::new();
    let mut seen: HashMap<Vec<u8>, bool> = HashMap::new();
    for (c, parts) in entries.iter().zip(&comps) {
        let Some(parts) = parts else { continue };
        let key = parts.join(&b'/');
        let is_link = matches!(c.kind, EntryKind::Symlink | EntryKind::HardLink);
        if let Some(was_link) = seen.insert(key.clone(), is_link)
            && (was_link || is_link)
        {
            return Err(refuse(c, UnsafeReason::DuplicateLink));
        }
        if c.kind == EntryKind::Symlink {
            symlinks.insert(key, c.link.unwrap_or_default());
        }
    }

    let through = |parts: &[&[u8]]| -> Option<Vec<u8>> {
        if symlinks.is_empty() {
            return None;
        }
        (2..parts.len())
            .map(|n| parts[..n].join(&b'/'))
            .find(|prefix| symlinks.contains_key(prefix))
    };
    for (c, parts) in entries.iter().zip(&comps) {
        let Some(parts) = parts else { continue };
        if let Some(link) = through(parts) {
            return Err(refuse(
                c,
                UnsafeReason::ThroughSymlink { link: lossy(&link) },
            ));
        }
        match c.kind {
            EntryKind::Symlink => {
                let target = c.link.unwrap_or_default();
                let parent: Vec<Vec<u8>> = parts[..parts.len() - 1]
                    .iter()
                    .map(|p| p.to_vec())
                    .collect();
                let mut hops = 0;
                match resolve(&symlinks, parent, target, &mut hops) {
                    Ok(_) => {}
                    Err(Unresolved::Escapes) => {
                        return Err(refuse(
                            c,
                            UnsafeReason::LinkEscapes {
                                target: lossy(target),
                            },
                        ));
                    }
                    Err(Unresolved::Loop) => {
                        return Err(refuse(
                            c,
                            UnsafeReason::SymlinkLoop {
                                target: lossy(target),
                            },
                        ));
                    }
                }
            }
            EntryKind::HardLink => {
                let target = c.link.unwrap_or_default();
                let escapes = || UnsafeReason::LinkEscapes {
                    target: lossy(target),
                };
                let t = components(target).map_err(|_| refuse(c, escapes()))?;
                if t.len() < 2 || t[0] != top.as_slice() {
                    return Err(refuse(c, escapes()));
                }
                if let Some(link) = through(&t) {
                    return Err(refuse(
                        c,
                        UnsafeReason::ThroughSymlink { link: lossy(&link) },
                    ));
                }
            }
            _ => {}
        }
    }

    let relative = comps
        .into_iter()
        .map(|parts| parts.map(|p| p[1..].join(&b'/')))
        .collect();
    Ok(Checked { top, relative })
}

#[derive(Debug, PartialEq, Eq)]
enum Unresolved {
    Escapes,
    Loop,
}

/// Resolves `target` from the directory `dir` (components from the archive root, the top
/// directory first), substituting the bundle's symbolic links; fails as soon as the path leaves
/// the top directory.
fn resolve(
    symlinks: &HashMap<Vec<u8>, &[u8]>,
    mut dir: Vec<Vec<u8>>,
    target: &[u8],
    hops: &mut u32,
) -> Result<Vec<Vec<u8>>, Unresolved> {
    if target.is_empty() || target[0] == b'/' {
        return Err(Unresolved::Escapes);
    }
    for c in target.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                dir.pop();
                if dir.is_empty() {
                    return Err(Unresolved::Escapes);
                }
            }
            name => {
                dir.push(name.to_vec());
                if let Some(next) = symlinks.get(&dir.join(&b'/')) {
                    *hops += 1;
                    if *hops > MAX_HOPS {
                        return Err(Unresolved::Loop);
                    }
                    dir.pop();
                    dir = resolve(symlinks, dir, next, hops)?;
                }
            }
        }
    }
    Ok(dir)
}

/// Checks a path given for a new file: relative, `/`-separated, only normal components.
pub(crate) fn check_new_path(path: &str) -> Result<Vec<&str>, String> {
    if path.is_empty() {
        return Err("the path is empty".into());
    }
    if path.starts_with('/') {
        return Err("the path is absolute".into());
    }
    if path.contains('\0') {
        return Err("the path holds a NUL byte".into());
    }
    let parts: Vec<&str> = path.split('/').collect();
    for p in &parts {
        match *p {
            "" => return Err("the path has an empty component or a trailing `/`".into()),
            "." | ".." => return Err(format!("the path has a `{p}` component")),
            _ => {}
        }
    }
    Ok(parts)
}

/// Names of the distinct first components of `paths` (already checked).
pub(crate) fn roots<'a>(paths: impl Iterator<Item = &'a str>) -> HashSet<&'a str> {
    paths.filter_map(|p| p.split('/').next()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand<'a>(name: &'a str, kind: EntryKind, link: Option<&'a str>) -> Candidate<'a> {
        Candidate {
            name: name.as_bytes(),
            kind,
            link: link.map(str::as_bytes),
        }
    }

    fn reason(entries: &[Candidate<'_>]) -> Option<UnsafeReason> {
        match check(Path::new("b.tar"), entries) {
            Ok(_) => None,
            Err(BundleError::UnsafeEntry { reason, .. }) => Some(reason),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    use EntryKind::{Directory as D, File as F, HardLink as H, Symlink as S};

    #[test]
    fn names() {
        let ok = [
            cand("top/", D, None),
            cand("./top/a/b.json", F, None),
            cand("top//c", F, None),
        ];
        let checked = check(Path::new("b"), &ok).unwrap();
        assert_eq!(checked.top, b"top");
        assert_eq!(checked.relative[0].as_deref(), Some(&b""[..]));
        assert_eq!(checked.relative[1].as_deref(), Some(&b"a/b.json"[..]));
        let table: &[(&[Candidate<'_>], UnsafeReason)] = &[
            (&[cand("/etc/evil", F, None)], UnsafeReason::AbsolutePath),
            (
                &[cand("top/../evil", F, None)],
                UnsafeReason::ParentComponent,
            ),
            (&[cand("../evil", F, None)], UnsafeReason::ParentComponent),
            (
                &[cand("top/a", F, None), cand("other/b", F, None)],
                UnsafeReason::SecondTopDir {
                    first: "top".into(),
                },
            ),
            (
                &[cand("evil", F, None)],
                UnsafeReason::OutsideTopDir { top: "evil".into() },
            ),
        ];
        for (entries, want) in table {
            assert_eq!(reason(entries).as_ref(), Some(want));
        }
    }

    #[test]
    fn symlinks() {
        let escapes = |t: &str| UnsafeReason::LinkEscapes { target: t.into() };
        let cases: &[(&[Candidate<'_>], Option<UnsafeReason>)] = &[
            (&[cand("top/a/l", S, Some("../b"))], None),
            (&[cand("top/a/l", S, Some("."))], None),
            (&[cand("top/l", S, Some(".."))], Some(escapes(".."))),
            (
                &[cand("top/a/l", S, Some("../../outside"))],
                Some(escapes("../../outside")),
            ),
            (
                &[cand("top/l", S, Some("/etc/passwd"))],
                Some(escapes("/etc/passwd")),
            ),
            (&[cand("top/l", S, Some(""))], Some(escapes(""))),
            // Going through another link: `a` is the top directory, so `a/..` leaves it.
            (
                &[
                    cand("top/x/y/a", S, Some("../..")),
                    cand("top/x/y/b", S, Some("a/..")),
                ],
                Some(escapes("a/..")),
            ),
            (
                &[cand("top/a", S, Some("b")), cand("top/b", S, Some("a"))],
                Some(UnsafeReason::SymlinkLoop { target: "b".into() }),
            ),
            (
                &[cand("top/d", S, Some("sub")), cand("top/d/x", F, None)],
                Some(UnsafeReason::ThroughSymlink {
                    link: "top/d".into(),
                }),
            ),
            (
                &[cand("top/f", F, None), cand("top/f", S, Some("g"))],
                Some(UnsafeReason::DuplicateLink),
            ),
        ];
        for (entries, want) in cases {
            assert_eq!(
                &reason(entries),
                want,
                "{:?}",
                entries[entries.len() - 1].link
            );
        }
    }

    #[test]
    fn hard_links() {
        let escapes = |t: &str| Some(UnsafeReason::LinkEscapes { target: t.into() });
        assert_eq!(
            reason(&[cand("top/f", F, None), cand("top/h", H, Some("top/f"))]),
            None
        );
        assert_eq!(
            reason(&[cand("top/h", H, Some("/etc/shadow"))]),
            escapes("/etc/shadow")
        );
        assert_eq!(
            reason(&[cand("top/h", H, Some("top/../x"))]),
            escapes("top/../x")
        );
        assert_eq!(
            reason(&[cand("top/h", H, Some("other/x"))]),
            escapes("other/x")
        );
        assert_eq!(
            reason(&[
                cand("top/d", S, Some("e")),
                cand("top/h", H, Some("top/d/x"))
            ]),
            Some(UnsafeReason::ThroughSymlink {
                link: "top/d".into()
            })
        );
    }

    #[test]
    fn new_paths() {
        assert_eq!(check_new_path("image-facts/facts.json").unwrap().len(), 2);
        for bad in ["", "/x", "a//b", "a/", "./a", "a/../b", "a\0b"] {
            assert!(check_new_path(bad).is_err(), "{bad:?}");
        }
    }
}
