//! The manifest source: YAML and JSON files as `kubectl apply -f` takes them: multi-document
//! YAML (Helm-rendered output with `# Source:` comments and empty documents included), JSON
//! (one or more values, a `kind: List`, an array), whole directories and standard input.
//!
//! A YAML stream is split into documents at `---` lines (as kubectl does) and each document is
//! parsed on its own, so a malformed one is a [`DiscoveryError`](imagefacts_model::discovery::DiscoveryError) naming the file and document
//! and the documents around it are still read.

use std::io::Read;
use std::path::{Path, PathBuf};

use imagefacts_model::discovery::Discovery;
use serde_json::Value;

use crate::error::{DiscoverError, one_line};
use crate::extract::{Extractor, ObjectOrigin, SourceKind};
use crate::filter::NamespaceFilter;

/// File extensions read when a directory is given.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// Largest manifest file read (256 MiB); a larger one is a discovery error.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Reads manifest files and directories (`-` is standard input) and extracts the images of the
/// objects in the namespaces `filter` selects. Objects without `metadata.namespace` count as in
/// `default`.
///
/// Directories are walked recursively for `*.yaml`, `*.yml` and `*.json` (hidden entries and
/// symbolic links to directories skipped), in name order.
///
/// # Errors
///
/// [`DiscoverError::Read`] when a path given (not one found in a directory) cannot be read.
/// Malformed documents, and files found in a directory that cannot be read, are
/// [`DiscoveryError`](imagefacts_model::discovery::DiscoveryError)s in the result.
pub fn read_manifests(
    paths: &[PathBuf],
    filter: &NamespaceFilter,
) -> Result<Discovery, DiscoverError> {
    Ok(read_manifests_into(paths, Extractor::new(filter))?.finish())
}

/// Extracts the images of the objects in one manifest file's `text`, read as [`read_manifests`]
/// reads a file: JSON (one or more values, a `List`, an array) when `json` is set (a `.json`
/// file) or the text starts like JSON, else multi-document YAML. `name` names the file in
/// discovery errors. For callers holding the text already (and for fuzzing).
///
/// ```
/// use imagefacts_discovery::{NamespaceFilter, read_manifest_text};
///
/// let text = "kind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: nginx}]\n";
/// let d = read_manifest_text("pod.yaml", text, false, &NamespaceFilter::default());
/// assert_eq!(d.images.len(), 1);
/// ```
pub fn read_manifest_text(
    name: &str,
    text: &str,
    json: bool,
    filter: &NamespaceFilter,
) -> Discovery {
    let mut x = Extractor::new(filter);
    add_text(&mut x, name, text, json);
    x.finish()
}

/// Feeds the objects of the manifest files at `paths` to `x`.
pub(crate) fn read_manifests_into(
    paths: &[PathBuf],
    mut x: Extractor,
) -> Result<Extractor, DiscoverError> {
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| DiscoverError::Read {
                    path: path.clone(),
                    source,
                })?;
            add_text(&mut x, "-", &text, false);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|source| DiscoverError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files, &mut x);
            files.sort();
            for file in files {
                add_file(&mut x, &file);
            }
        } else {
            let text = read_text(path).map_err(|source| DiscoverError::Read {
                path: path.clone(),
                source,
            })?;
            add_text(
                &mut x,
                &path.display().to_string(),
                &text,
                is_json_path(path),
            );
        }
    }
    Ok(x)
}

fn is_json_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn read_text(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than the {MAX_FILE_BYTES}-byte limit"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// A file found in a directory: read errors are discovery errors.
fn add_file(x: &mut Extractor, path: &Path) {
    let name = path.display().to_string();
    match read_text(path) {
        Ok(text) => add_text(x, &name, &text, is_json_path(path)),
        Err(e) => x.add_error(origin(&name, None).error(format!("cannot read: {e}"))),
    }
}

fn origin(name: &str, document: Option<usize>) -> ObjectOrigin {
    ObjectOrigin {
        path: Some(name.to_owned()),
        document,
        namespace: Some("default".to_owned()),
        ..ObjectOrigin::new(SourceKind::Manifests)
    }
}

/// Reads every document of one file's text.
fn add_text(x: &mut Extractor, name: &str, text: &str, json: bool) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let looks_json = text.trim_start().starts_with(['{', '[']);
    if json || looks_json {
        match parse_json_stream(text) {
            Ok(values) => {
                let many = values.len() > 1;
                for (i, v) in values.into_iter().enumerate() {
                    x.add(&origin(name, many.then_some(i + 1)), v);
                }
                return;
            }
            // A `.json` file must be JSON; other text that merely starts like JSON may be YAML
            // (a flow mapping followed by more documents).
            Err(e) if json => {
                x.add_error(origin(name, None).error(format!("malformed JSON: {e}")));
                return;
            }
            Err(_) => {}
        }
    }
    for (index, doc) in split_documents(text) {
        match parse_yaml(doc) {
            Ok(Some(v)) => x.add(&origin(name, Some(index)), v),
            Ok(None) => {}
            Err(message) => {
                x.add_error(origin(name, Some(index)).error(format!("malformed YAML: {message}")))
            }
        }
    }
}

/// Every JSON value of a text (`kubectl get -o json` prints one; some tools concatenate several).
fn parse_json_stream(text: &str) -> Result<Vec<Value>, serde_json::Error> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect()
}

/// Splits a YAML stream at document separators: a line that is `---` alone, or `---` followed by
/// whitespace (and a comment or content, which stays with the new document). Documents are
/// numbered from 1; text before the first separator is document 1 only when it holds more than
/// comments and blank lines.
pub(crate) fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut offset = 0usize;
    let mut index = 0usize;
    let mut first = true;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator = bare == "---"
            || bare
                .strip_prefix("---")
                .is_some_and(|rest| rest.starts_with([' ', '\t']));
        if is_separator {
            let doc = &text[start..offset];
            if !(first && is_blank(doc)) {
                index += 1;
                docs.push((index, doc));
            }
            first = false;
            // Content after `--- ` on the same line belongs to the new document.
            start = offset + 3;
        }
        offset += line.len();
    }
    let doc = &text[start..];
    if !(first && is_blank(doc)) || docs.is_empty() {
        index += 1;
        docs.push((index, doc));
    }
    docs
}

/// Whether a YAML text holds only blank lines and comments.
fn is_blank(doc: &str) -> bool {
    doc.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    })
}

/// Parses one YAML document; `None` for an empty one.
pub(crate) fn parse_yaml(doc: &str) -> Result<Option<Value>, String> {
    if is_blank(doc) {
        return Ok(None);
    }
    match serde_saphyr::from_str::<Value>(doc) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(one_line(&e.to_string())),
    }
}

/// Collects the manifest files under `dir`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, x: &mut Extractor) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let name = dir.display().to_string();
            x.add_error(origin(&name, None).error(format!("cannot list directory: {e}")));
            return;
        }
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        if file_type.is_dir() {
            walk(&path, out, x);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
            && (file_type.is_file() || path.is_file())
        {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<(usize, String)> {
        split_documents(text)
            .into_iter()
            .map(|(i, d)| (i, d.to_owned()))
            .collect()
    }

    #[test]
    fn splits_like_kubectl() {
        assert_eq!(docs("a: 1\n"), [(1, "a: 1\n".to_owned())]);
        assert_eq!(
            docs("a: 1\n---\nb: 2\n"),
            [(1, "a: 1\n".into()), (2, "\nb: 2\n".into())]
        );
        assert_eq!(docs("---\na: 1\n"), [(1, "\na: 1\n".into())]);
        assert_eq!(
            docs("# Source: chart/templates/a.yaml\n---\na: 1\n---\n---\nb: 2"),
            [
                (1, "\na: 1\n".into()),
                (2, "\n".into()),
                (3, "\nb: 2".into())
            ]
        );
        // `--- ` with content or a comment on the same line.
        assert_eq!(
            docs("a: 1\n--- # next\nb: 2\n--- {c: 3}\n"),
            [
                (1, "a: 1\n".into()),
                (2, " # next\nb: 2\n".into()),
                (3, " {c: 3}\n".into())
            ]
        );
        // Not separators: `----`, `---x`, indented `---`.
        assert_eq!(docs("a: |\n  ---\n----\n---x\n").len(), 1);
        assert_eq!(docs("a: 1\r\n---\r\nb: 2\r\n").len(), 2);
        assert_eq!(docs(""), [(1, String::new())]);
    }

    #[test]
    fn yaml_edge_cases() {
        assert_eq!(parse_yaml("").unwrap(), None);
        assert_eq!(parse_yaml("# only a comment\n\n").unwrap(), None);
        assert_eq!(parse_yaml("~\n").unwrap(), None);
        assert_eq!(parse_yaml("null").unwrap(), None);
        let v = parse_yaml("kind: Pod\nmetadata: {name: p}\n")
            .unwrap()
            .unwrap();
        assert_eq!(v["metadata"]["name"], "p");
        // Anchors and aliases, merge keys.
        let v = parse_yaml("base: &b {image: nginx}\nc:\n  <<: *b\n  name: web\n")
            .unwrap()
            .unwrap();
        assert_eq!(v["c"]["image"], "nginx");
        assert_eq!(v["c"]["name"], "web");
        // Non-string keys become strings (ConfigMaps with numeric keys must not fail).
        let v = parse_yaml("data:\n  80: http\n  true: yes\n")
            .unwrap()
            .unwrap();
        assert!(v["data"].is_object());
        // Block scalars keep their content.
        let v = parse_yaml("cmd: |\n  echo ---\n  exit 0\n")
            .unwrap()
            .unwrap();
        assert_eq!(v["cmd"], "echo ---\nexit 0\n");
        // Malformed.
        for bad in [
            "a: [1, 2\n",
            "a: b: c\n",
            "- a\nb: c\n",
            "a: 'unterminated\n",
        ] {
            let err = parse_yaml(bad).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            bomb.push_str(&format!(
                "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
            prev = c;
        }
        assert!(parse_yaml(&bomb).is_err());
    }
}
