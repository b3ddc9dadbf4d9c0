//! Redaction of facts entries: by name where a name goes with the value (env, labels, options
//! on a command line), by value in every other free string a registry, an image or the cluster
//! supplied.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::facts::{ConfigFacts, FactsError, FactsFile, Failure, ImageFacts};
use crate::platform::Platform;

use super::{redact_args, redact_env, redact_map, redact_string};

/// Redacts every entry of `file` ([`redact_facts`]) and the messages of its discovery errors
/// ([`super::redact_text`]); returns how many values were hidden. [`FactsFile::redact`] adds
/// that to `summary.redactions`.
///
/// Labels and configs shared by several entries (one image under many tags) stay shared: each
/// is redacted once, and every entry holding it counts its hidden values.
pub fn redact_facts_file(file: &mut FactsFile) -> usize {
    let mut shared = Shared::default();
    let entries: usize = file
        .image_facts
        .iter_mut()
        .map(|f| redact_entry(f, &mut shared))
        .sum();
    let discovery: usize = file
        .discovery_errors
        .iter_mut()
        .map(|e| redact_string(&mut e.message))
        .sum();
    entries + discovery
}

/// Redacts one entry in place and returns how many values were hidden:
///
/// - by name, else by value: env ([`redact_env`]), entrypoint and cmd ([`redact_args`] over
///   both as one command line), labels ([`redact_map`]), the same for every platform;
/// - by value ([`super::redact_text`]): every other free string (see [`free_text`]): build info,
///   error messages and codes, media and artifact types, platforms, the config's user and
///   working directory, attestation reference types, the supply chain's error, nearest tags
///   and pull-failure messages.
///
/// Left as they are: the identity parsed from the reference (`reference`, `registry`,
/// `repository`, `tag`), digests, times, enums, and what names Kubernetes objects or the
/// credential and endpoint used (`workloads`, `pullSecrets`, `authSource`, `endpoint`...).
pub fn redact_facts(facts: &mut ImageFacts) -> usize {
    redact_entry(facts, &mut Shared::default())
}

fn redact_entry(facts: &mut ImageFacts, shared: &mut Shared) -> usize {
    let mut n = shared.configs.redact(&mut facts.config, redact_config)
        + shared.labels.redact(&mut facts.labels, redact_map);
    for p in &mut facts.platforms {
        n += shared.configs.redact(&mut p.config, redact_config)
            + shared.labels.redact(&mut p.labels, redact_map);
    }
    n + free_text(facts)
        .into_iter()
        .map(redact_string)
        .sum::<usize>()
}

/// The redacted form of each shared part met so far.
#[derive(Default)]
struct Shared {
    configs: Memo<ConfigFacts>,
    labels: Memo<BTreeMap<String, String>>,
}

/// Redacted parts by the address of the original, which the memo keeps alive (so an address is
/// never reused for another part while the memo lives).
struct Memo<T>(HashMap<*const T, (Arc<T>, Arc<T>, usize)>);

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo(HashMap::new())
    }
}

impl<T: Clone> Memo<T> {
    /// Redacts `part` with `redact`, in place when no other entry holds it; else a copy, kept
    /// (and shared with the next holder) only when a value was hidden.
    fn redact(&mut self, part: &mut Arc<T>, redact: fn(&mut T) -> usize) -> usize {
        if let Some(owned) = Arc::get_mut(part) {
            return redact(owned);
        }
        let (_, redacted, n) = self.0.entry(Arc::as_ptr(part)).or_insert_with(|| {
            let mut copy = T::clone(part);
            match redact(&mut copy) {
                0 => (Arc::clone(part), Arc::clone(part), 0),
                n => (Arc::clone(part), Arc::new(copy), n),
            }
        });
        *part = Arc::clone(redacted);
        *n
    }
}

/// Entrypoint and cmd run as one command line (`entrypoint ++ cmd`), so a flag ending the
/// entrypoint takes its value from the cmd; the user and working directory are read by value.
pub(super) fn redact_config(config: &mut ConfigFacts) -> usize {
    let split = config.entrypoint.len();
    let mut line: Vec<String> = config
        .entrypoint
        .iter()
        .chain(config.cmd.iter())
        .cloned()
        .collect();
    let n = redact_args(&mut line);
    if n > 0 {
        config.cmd = line.split_off(split);
        config.entrypoint = line;
    }
    let free: usize = [&mut config.user, &mut config.working_dir]
        .into_iter()
        .map(redact_string)
        .sum();
    redact_env(&mut config.env) + n + free
}

/// The strings of `facts` that carry no name to judge them by and are read by value only.
fn free_text(f: &mut ImageFacts) -> Vec<&mut String> {
    let mut out: Vec<&mut String> = vec![&mut f.media_type];
    out.extend(f.created.as_mut());
    out.extend(platform_text(&mut f.platform));
    out.extend(f.layers.iter_mut().map(|l| &mut l.media_type));
    for p in &mut f.platforms {
        out.extend(platform_text(&mut p.platform));
        out.push(&mut p.media_type);
        out.extend(p.created.as_mut());
        out.extend(p.layers.iter_mut().map(|l| &mut l.media_type));
        out.extend(failure_text(&mut p.error));
    }
    for a in &mut f.attestations {
        out.push(&mut a.media_type);
        out.extend(a.reference_type.as_mut());
    }
    let b = &mut f.build_info;
    out.extend(
        [
            &mut b.source,
            &mut b.revision,
            &mut b.version,
            &mut b.created,
        ]
        .into_iter()
        .flat_map(Option::as_mut),
    );
    out.extend(f.pull_failures.iter_mut().map(|p| &mut p.message));
    out.extend(f.node_platforms.iter_mut().flat_map(platform_text));
    out.extend(f.artifact_type.as_mut());
    if let Some(sc) = &mut f.supply_chain {
        out.extend(sc.error.as_mut());
        for a in &mut sc.artifacts {
            out.push(&mut a.media_type);
            out.extend(a.artifact_type.as_mut());
        }
    }
    out.extend(f.nearest_tags.iter_mut());
    out.extend(failure_text(&mut f.error));
    out.extend(
        f.fallback_reason
            .as_deref_mut()
            .into_iter()
            .flat_map(error_text),
    );
    out
}

fn platform_text(p: &mut Platform) -> impl Iterator<Item = &mut String> {
    [&mut p.architecture, &mut p.os]
        .into_iter()
        .chain(p.variant.as_mut())
        .chain(p.os_version.as_mut())
        .chain(p.os_features.iter_mut())
}

fn failure_text(f: &mut Failure) -> impl Iterator<Item = &mut String> {
    f.0.as_deref_mut().into_iter().flat_map(error_text)
}

fn error_text(e: &mut FactsError) -> impl Iterator<Item = &mut String> {
    std::iter::once(&mut e.message).chain(e.code.as_mut())
}

#[cfg(test)]
mod tests;
