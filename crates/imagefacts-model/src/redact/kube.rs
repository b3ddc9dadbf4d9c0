//! Redaction of Kubernetes objects written into a support bundle (troubleshoot redacts what it
//! writes by default).

use serde_json::{Map, Value};

use super::{HIDDEN, is_secret_name, needs_hiding, redact_args, redact_text, redact_value};

/// The annotation `kubectl apply` leaves: a full copy of the object as applied, secrets included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The container lists of a pod spec.
const CONTAINER_LISTS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

/// The container fields that hold a handler (`exec.command`, `httpGet.httpHeaders`).
const HANDLERS: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];

/// How deep templates may nest (`spec.jobTemplate.spec.template.spec` is 2).
const MAX_TEMPLATE_DEPTH: usize = 4;

/// Redacts a Kubernetes object in place and returns how many values were hidden or removed.
///
/// Works on any object (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
/// ReplicationController, ServiceAccount, Node, Namespace, Secret, custom resources), on a list
/// (`{"items": [...]}`, recursively; items of a `SecretList` without their own `kind` are
/// Secrets) and on a plain array of objects:
///
/// - in every pod spec found (`spec` holding container lists, `spec.template.spec`,
///   `spec.jobTemplate.spec.template.spec`), for each container of `containers`,
///   `initContainers` and `ephemeralContainers`: `env[].value` is hidden when `env[].name` looks
///   secret, else goes through [`redact_text`]; `command` and `args` go through [`redact_args`]
///   as one command line; `env[].valueFrom` and `envFrom` (references) stay; probe and lifecycle
///   handlers get the same treatment (`exec.command` as a command line, `httpGet.httpHeaders`
///   values by header name, `Authorization` included, else by value, `httpGet.path` by value);
/// - wherever `metadata` is (the object, pod templates, job templates): the annotation
///   `kubectl.kubernetes.io/last-applied-configuration` is removed (counts 1), other annotation
///   and label values are redacted by name, else by value ([`redact_value`]);
/// - a Secret (`kind: Secret`, or without `kind` but with a string `type`, `data` or
///   `stringData`, and no `spec`) loses `data` and `stringData` (counts each key).
///
/// Images, ports, names and every field of an unexpected type are left as they are; nothing
/// panics. Redacting twice hides nothing the second time.
pub fn redact_kubernetes_object(object: &mut Value) -> usize {
    redact_any(object, None)
}

fn redact_any(value: &mut Value, kind_hint: Option<&str>) -> usize {
    match value {
        Value::Array(items) => items.iter_mut().map(|v| redact_any(v, kind_hint)).sum(),
        Value::Object(obj) => redact_object(obj, kind_hint),
        _ => 0,
    }
}

fn redact_object(obj: &mut Map<String, Value>, kind_hint: Option<&str>) -> usize {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| kind_hint.map(str::to_owned));
    let mut n = 0;
    if let Some(Value::Array(items)) = obj.get_mut("items") {
        let item_kind = kind
            .as_deref()
            .and_then(|k| k.strip_suffix("List"))
            .filter(|k| !k.is_empty());
        n += items
            .iter_mut()
            .map(|v| redact_any(v, item_kind))
            .sum::<usize>();
    }
    n += redact_metadata(obj);
    if is_secret(obj, kind.as_deref()) {
        n += remove_secret_data(obj);
    }
    n + redact_spec(obj, 0)
}

fn is_secret(obj: &Map<String, Value>, kind: Option<&str>) -> bool {
    match kind {
        Some(kind) => kind == "Secret",
        None => {
            obj.get("type").is_some_and(Value::is_string)
                && (obj.contains_key("data") || obj.contains_key("stringData"))
                && !obj.contains_key("spec")
        }
    }
}

fn remove_secret_data(obj: &mut Map<String, Value>) -> usize {
    ["data", "stringData"]
        .iter()
        .filter_map(|key| obj.remove(*key))
        .map(|v| match v {
            Value::Object(m) => m.len(),
            Value::Null => 0,
            _ => 1,
        })
        .sum()
}

/// Annotations and labels of `obj.metadata`.
fn redact_metadata(obj: &mut Map<String, Value>) -> usize {
    let Some(Value::Object(meta)) = obj.get_mut("metadata") else {
        return 0;
    };
    let mut n = 0;
    if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
        n += usize::from(annotations.remove(LAST_APPLIED).is_some());
        n += redact_string_map(annotations);
    }
    if let Some(Value::Object(labels)) = meta.get_mut("labels") {
        n += redact_string_map(labels);
    }
    n
}

fn redact_string_map(map: &mut Map<String, Value>) -> usize {
    map.iter_mut()
        .map(|(k, v)| match v {
            Value::String(s) => redact_value(k, s),
            _ => 0,
        })
        .sum()
}

/// The pod spec in `obj.spec`, if it is one, and the templates under it.
fn redact_spec(obj: &mut Map<String, Value>, depth: usize) -> usize {
    let Some(Value::Object(spec)) = obj.get_mut("spec") else {
        return 0;
    };
    let mut n = 0;
    for list in CONTAINER_LISTS {
        if let Some(Value::Array(containers)) = spec.get_mut(list) {
            for c in containers {
                if let Value::Object(c) = c {
                    n += redact_container(c);
                }
            }
        }
    }
    if depth < MAX_TEMPLATE_DEPTH {
        for key in ["template", "jobTemplate"] {
            if let Some(Value::Object(template)) = spec.get_mut(key) {
                n += redact_metadata(template) + redact_spec(template, depth + 1);
            }
        }
    }
    n
}

fn redact_container(c: &mut Map<String, Value>) -> usize {
    let mut n = 0;
    if let Some(Value::Array(env)) = c.get_mut("env") {
        for var in env {
            let Value::Object(var) = var else { continue };
            let name = var
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if let Some(Value::String(value)) = var.get_mut("value") {
                n += redact_value(&name, value);
            }
        }
    }
    n += redact_command_line(c, &["command", "args"]);
    for key in HANDLERS {
        if let Some(Value::Object(handler)) = c.get_mut(key) {
            n += redact_handler(handler);
        }
    }
    if let Some(Value::Object(lifecycle)) = c.get_mut("lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(Value::Object(handler)) = lifecycle.get_mut(key) {
                n += redact_handler(handler);
            }
        }
    }
    n
}

/// A probe or lifecycle handler: `exec.command`, `httpGet.path` and `httpGet.httpHeaders`.
fn redact_handler(handler: &mut Map<String, Value>) -> usize {
    let mut n = 0;
    if let Some(Value::Object(exec)) = handler.get_mut("exec") {
        n += redact_command_line(exec, &["command"]);
    }
    let Some(Value::Object(http)) = handler.get_mut("httpGet") else {
        return n;
    };
    if let Some(Value::String(path)) = http.get_mut("path") {
        let (clean, hidden) = redact_text(path);
        if hidden > 0 {
            *path = clean;
            n += hidden;
        }
    }
    if let Some(Value::Array(headers)) = http.get_mut("httpHeaders") {
        for header in headers {
            let Value::Object(header) = header else {
                continue;
            };
            let name = header
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let Some(Value::String(value)) = header.get_mut("value") else {
                continue;
            };
            if is_secret_header(&name) {
                if needs_hiding(value) {
                    *value = HIDDEN.to_owned();
                    n += 1;
                }
            } else {
                n += redact_value(&name, value);
            }
        }
    }
    n
}

fn is_secret_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie"]
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
        || is_secret_name(name)
}

/// The string arrays `keys` of `obj`, run as one command line through [`redact_args`]. An array
/// holding anything but strings is left alone.
fn redact_command_line(obj: &mut Map<String, Value>, keys: &[&str]) -> usize {
    let mut parts: Vec<(&str, usize)> = Vec::new();
    let mut line: Vec<String> = Vec::new();
    for &key in keys {
        let Some(Value::Array(items)) = obj.get(key) else {
            continue;
        };
        let Some(strings) = items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
        else {
            continue;
        };
        parts.push((key, strings.len()));
        line.extend(strings);
    }
    let n = redact_args(&mut line);
    if n > 0 {
        let mut rest = line.into_iter();
        for (key, len) in parts {
            let values = rest.by_ref().take(len).map(Value::String).collect();
            obj.insert(key.to_owned(), Value::Array(values));
        }
    }
    n
}

#[cfg(test)]
mod tests;
