//! Pull secrets read from the cluster: docker `config.json` bytes per secret, never printed.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use imagefacts_model::discovery::SecretRef;
use serde_json::{Map, Value};

/// The docker config (`config.json` bytes, `{"auths": {...}}`) of each pull secret read from the
/// cluster, keyed by namespace and name.
///
/// Its `Debug` prints the secret names only; it has no `Serialize`, so its contents never end up
/// in an output file.
///
/// ```
/// use imagefacts_discovery::PullSecrets;
/// use imagefacts_model::discovery::SecretRef;
///
/// let mut s = PullSecrets::default();
/// let r = SecretRef { namespace: "shop".into(), name: "regcred".into(), cluster: None };
/// s.insert(r.clone(), br#"{"auths":{"r.example":{"auth":"c2VjcmV0"}}}"#.to_vec());
/// assert!(s.get(&r).is_some());
/// assert_eq!(format!("{s:?}"), r#"PullSecrets { secrets: ["shop/regcred"] }"#);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PullSecrets {
    entries: BTreeMap<SecretRef, Vec<u8>>,
}

impl PullSecrets {
    /// Records the docker config of a secret (replacing an earlier one of the same name).
    pub fn insert(&mut self, secret: SecretRef, docker_config: Vec<u8>) {
        self.entries.insert(secret, docker_config);
    }

    /// The docker config bytes of `secret`.
    pub fn get(&self, secret: &SecretRef) -> Option<&[u8]> {
        self.entries.get(secret).map(Vec::as_slice)
    }

    /// Every secret with its docker config, sorted by namespace and name.
    pub fn iter(&self) -> impl Iterator<Item = (&SecretRef, &[u8])> {
        self.entries.iter().map(|(k, v)| (k, v.as_slice()))
    }

    /// The secrets of one namespace, sorted by name.
    pub fn in_namespace<'a>(
        &'a self,
        namespace: &'a str,
    ) -> impl Iterator<Item = (&'a SecretRef, &'a [u8])> + 'a {
        self.iter().filter(move |(k, _)| k.namespace == namespace)
    }

    /// How many secrets are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no secret is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for PullSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .entries
            .keys()
            .map(|k| format!("{}/{}", k.namespace, k.name))
            .collect();
        f.debug_struct("PullSecrets")
            .field("secrets", &names)
            .finish()
    }
}

/// A docker config read from a Secret object, and the registries it holds credentials for.
#[derive(PartialEq, Eq)]
pub(crate) struct DockerConfig {
    pub(crate) bytes: Vec<u8>,
    pub(crate) registries: Vec<String>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("registries", &self.registries)
            .finish_non_exhaustive()
    }
}

const DOCKERCONFIGJSON: &str = "kubernetes.io/dockerconfigjson";
const DOCKERCFG: &str = "kubernetes.io/dockercfg";

/// Reads the docker config of a Secret object (as the API returns it, `data` base64-encoded).
///
/// `kubernetes.io/dockerconfigjson` secrets hold `config.json` under `.dockerconfigjson`;
/// `kubernetes.io/dockercfg` secrets hold the legacy `~/.dockercfg` map under `.dockercfg`, which
/// becomes `{"auths": <map>}`. The error says why a secret is not usable, without its content.
pub(crate) fn docker_config(secret: &Value) -> Result<DockerConfig, String> {
    let kind = secret
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("Opaque");
    let key = match kind {
        DOCKERCONFIGJSON => ".dockerconfigjson",
        DOCKERCFG => ".dockercfg",
        other => {
            return Err(format!(
                "secret type is {other:?}, not {DOCKERCONFIGJSON} or {DOCKERCFG}; not used"
            ));
        }
    };
    let encoded = secret
        .get("data")
        .and_then(|d| d.get(key))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{kind} secret has no data.{key}"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| format!("data.{key} is not valid base64"))?;
    let parsed: Value = serde_json::from_slice(&decoded)
        .map_err(|_| format!("data.{key} is not a JSON document"))?;
    let Value::Object(map) = parsed else {
        return Err(format!("data.{key} is not a JSON object"));
    };
    let (auths, bytes) = if kind == DOCKERCFG {
        let mut wrapped = Map::new();
        wrapped.insert("auths".to_owned(), Value::Object(map.clone()));
        let bytes = serde_json::to_vec(&Value::Object(wrapped)).unwrap_or_default();
        (map, bytes)
    } else {
        let auths = map
            .get("auths")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        (auths, decoded)
    };
    Ok(DockerConfig {
        bytes,
        registries: auths.keys().cloned().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn reads_both_docker_secret_types() {
        let config = r#"{"auths":{"registry.example.com":{"auth":"dTpw"}}}"#;
        let s = json!({"type": DOCKERCONFIGJSON, "data": {".dockerconfigjson": b64(config)}});
        let got = docker_config(&s).unwrap();
        assert_eq!(got.bytes, config.as_bytes());
        assert_eq!(got.registries, ["registry.example.com"]);

        let legacy = r#"{"https://index.docker.io/v1/":{"auth":"dTpw","email":"x@y"}}"#;
        let s = json!({"type": DOCKERCFG, "data": {".dockercfg": b64(legacy)}});
        let got = docker_config(&s).unwrap();
        let v: Value = serde_json::from_slice(&got.bytes).unwrap();
        assert_eq!(v["auths"]["https://index.docker.io/v1/"]["auth"], "dTpw");
        assert_eq!(got.registries, ["https://index.docker.io/v1/"]);
    }

    #[test]
    fn unusable_secrets_say_why_without_content() {
        let cases = [
            (
                json!({"type": "Opaque", "data": {"password": b64("hunter2")}}),
                "Opaque",
            ),
            (json!({"data": {}}), "Opaque"),
            (
                json!({"type": DOCKERCONFIGJSON, "data": {}}),
                "no data..dockerconfigjson",
            ),
            (
                json!({"type": DOCKERCONFIGJSON, "data": {".dockerconfigjson": "%%%"}}),
                "base64",
            ),
            (
                json!({"type": DOCKERCONFIGJSON, "data": {".dockerconfigjson": b64("hunter2")}}),
                "JSON",
            ),
            (
                json!({"type": DOCKERCFG, "data": {".dockercfg": b64("[1]")}}),
                "JSON object",
            ),
        ];
        for (secret, want) in cases {
            let err = docker_config(&secret).unwrap_err();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn debug_prints_names_only() {
        let mut s = PullSecrets::default();
        s.insert(
            SecretRef {
                namespace: "a".into(),
                name: "b".into(),
                cluster: None,
            },
            b"{\"auths\":{\"r\":{\"auth\":\"hunter2\"}}}".to_vec(),
        );
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("a/b"));
        assert_eq!(s.in_namespace("a").count(), 1);
        assert_eq!(s.in_namespace("b").count(), 0);
    }
}
