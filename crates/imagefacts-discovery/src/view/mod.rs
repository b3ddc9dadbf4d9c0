//! Typed, lenient views of Kubernetes objects: only the fields discovery uses, decoded straight
//! from a JSON stream (or a parsed value) without keeping anything else.
//!
//! Lenient means a field of the wrong type counts as absent (it is read and dropped), so odd
//! input never fails a whole object, let alone a file. [`decode`] walks a file's top level (a
//! List object, a plain array, a single object, `items: null`) and hands each object to a sink
//! as soon as it is read: peak memory follows the largest object, not the file.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

mod lenient;

pub(crate) use lenient::{Flag, Int, Items, Obj, StringMap, Strings, Text};
use lenient::{drain_map, drain_seq};

/// Lists nested deeper than this are not unwrapped (guards the recursion on hostile input).
pub(crate) const MAX_LIST_DEPTH: usize = 8;

/// `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Metadata {
    pub(crate) name: Text,
    pub(crate) namespace: Text,
    pub(crate) uid: Text,
    pub(crate) labels: StringMap,
    pub(crate) owner_references: Items<OwnerReference>,
}

/// One of `metadata.ownerReferences`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct OwnerReference {
    pub(crate) kind: Text,
    pub(crate) name: Text,
    pub(crate) uid: Text,
    pub(crate) controller: Flag,
}

/// A `{name}` reference (image pull secrets, service account secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct NameRef {
    pub(crate) name: Text,
}

/// A container of a pod spec.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct ContainerView {
    pub(crate) name: Text,
    pub(crate) image: Text,
}

/// A `spec` of any workload kind: a pod spec, or a spec holding a pod template (`template`,
/// or a CronJob's `jobTemplate`), one type for all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Spec {
    pub(crate) containers: Items<ContainerView>,
    pub(crate) init_containers: Items<ContainerView>,
    pub(crate) ephemeral_containers: Items<ContainerView>,
    pub(crate) image_pull_secrets: Items<NameRef>,
    pub(crate) service_account_name: Text,
    pub(crate) service_account: Text,
    pub(crate) node_name: Text,
    pub(crate) replicas: Int,
    pub(crate) template: Obj<Template>,
    pub(crate) job_template: Obj<Template>,
}

/// A pod template (or a CronJob's job template): its `spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct Template {
    pub(crate) spec: Obj<Box<Spec>>,
}

/// `state.waiting`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct Waiting {
    pub(crate) reason: Text,
    pub(crate) message: Text,
}

/// A container status's `state`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct State {
    pub(crate) waiting: Obj<Waiting>,
}

/// One of `status.containerStatuses` (and friends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct ContainerStatus {
    pub(crate) name: Text,
    #[serde(rename = "imageID")]
    pub(crate) image_id: Text,
    pub(crate) state: Obj<State>,
}

/// A node's `status.nodeInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct NodeInfoView {
    pub(crate) operating_system: Text,
    pub(crate) architecture: Text,
}

/// One of a node's `status.images`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct NodeImageView {
    pub(crate) names: Strings,
    pub(crate) size_bytes: Int,
}

/// `status` of a pod or a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Status {
    pub(crate) init_container_statuses: Items<ContainerStatus>,
    pub(crate) container_statuses: Items<ContainerStatus>,
    pub(crate) ephemeral_container_statuses: Items<ContainerStatus>,
    pub(crate) node_info: Obj<NodeInfoView>,
    pub(crate) images: Items<NodeImageView>,
}

/// One Kubernetes object, as much of it as discovery reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Object {
    pub(crate) kind: Text,
    pub(crate) metadata: Metadata,
    pub(crate) spec: Option<Spec>,
    /// Whether `status` is an object at all (a pod with one exists in a cluster).
    pub(crate) has_status: bool,
    pub(crate) status: Status,
    /// A ServiceAccount's `imagePullSecrets` (top level, not in a spec).
    pub(crate) image_pull_secrets: Items<NameRef>,
}

/// What [`decode`] hands its sink.
#[derive(Debug)]
pub(crate) enum Event {
    /// An object, and the kind its list implies when it names none.
    Object(Box<Object>, Option<String>),
    /// Something that is not an object where objects are expected (a number, a string).
    NotAnObject,
    /// Lists nested deeper than [`MAX_LIST_DEPTH`]: the inner ones are skipped.
    TooDeep,
    /// A List whose `items` is neither an array nor `null`.
    BadItems,
}

/// The shape of what [`decode`] read at the top level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A JSON array.
    Array,
    /// An object with `items` (an array or `null`), or a `...List` kind.
    List,
    /// A single object.
    Object,
    /// Anything else.
    Scalar,
}

/// The [`DeserializeSeed`] behind [`decode`]: one value, unwrapped into objects.
struct Stream<'s> {
    sink: &'s mut dyn FnMut(Event),
    /// The kind of the list this value is an item of.
    default_kind: Option<String>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Stream<'_> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Stream<'_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object, a List or an array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        if self.depth >= MAX_LIST_DEPTH {
            (self.sink)(Event::TooDeep);
            drain_seq(seq)?;
            return Ok(Shape::Array);
        }
        while seq
            .next_element_seed(Stream {
                sink: &mut *self.sink,
                default_kind: self.default_kind.clone(),
                depth: self.depth + 1,
            })?
            .is_some()
        {}
        Ok(Shape::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut object = Object::default();
        let mut is_list = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "kind" => object.kind = map.next_value()?,
                "metadata" => {
                    object.metadata = map.next_value::<Obj<Metadata>>()?.0.unwrap_or_default()
                }
                "spec" => object.spec = map.next_value::<Obj<Spec>>()?.0,
                "status" => {
                    let status = map.next_value::<Obj<Status>>()?.0;
                    object.has_status = status.is_some();
                    object.status = status.unwrap_or_default();
                }
                "imagePullSecrets" => object.image_pull_secrets = map.next_value()?,
                "items" => {
                    is_list = true;
                    let item_kind = object
                        .kind
                        .get()
                        .and_then(|k| k.strip_suffix("List"))
                        .filter(|k| !k.is_empty())
                        .map(str::to_owned)
                        .or_else(|| self.default_kind.clone());
                    map.next_value_seed(ItemsSeed(Stream {
                        sink: &mut *self.sink,
                        default_kind: item_kind,
                        depth: self.depth,
                    }))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if is_list {
            return Ok(Shape::List);
        }
        let default_kind = self.default_kind;
        (self.sink)(Event::Object(Box::new(object), default_kind));
        Ok(Shape::Object)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Shape, E> {
        self.scalar()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Shape, E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Shape, E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Shape, E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Shape, E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Shape, E> {
        self.scalar()
    }
}

impl Stream<'_> {
    fn scalar<E>(self) -> Result<Shape, E> {
        (self.sink)(Event::NotAnObject);
        Ok(Shape::Scalar)
    }
}

/// A List's `items`: an array streamed item by item, `null` (an empty list, as troubleshoot ≥
/// 0.118 writes it), or anything else (reported).
struct ItemsSeed<'s>(Stream<'s>);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects or null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.visit_seq(seq).map(|_| ())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        (self.0.sink)(Event::BadItems);
        drain_map(map)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.bad()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.bad()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.bad()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.bad()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.bad()
    }
}

impl ItemsSeed<'_> {
    /// `items` holds a scalar: reported, and nothing to unwrap.
    fn bad<E>(self) -> Result<(), E> {
        (self.0.sink)(Event::BadItems);
        Ok(())
    }
}

/// Decodes one JSON value from `d` (a stream, or a parsed [`serde_json::Value`]) into objects,
/// handing each to `sink` as soon as it is read, with `default_kind` for items naming none.
///
/// # Errors
///
/// The decoder's error (malformed JSON): the objects handed out before it stand.
pub(crate) fn decode<'de, D: Deserializer<'de>>(
    d: D,
    default_kind: Option<String>,
    sink: &mut dyn FnMut(Event),
) -> Result<Shape, D::Error> {
    Stream {
        sink,
        default_kind,
        depth: 0,
    }
    .deserialize(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    type Decoded = (Result<Shape, String>, Vec<(Object, Option<String>)>, usize);

    fn objects(json: &str) -> Decoded {
        let mut out = Vec::new();
        let mut other = 0;
        let mut de = serde_json::Deserializer::from_str(json);
        let shape = decode(&mut de, Some("Pod".into()), &mut |e| match e {
            Event::Object(o, k) => out.push((*o, k)),
            _ => other += 1,
        })
        .map_err(|e| e.to_string());
        (shape, out, other)
    }

    #[test]
    fn every_file_shape() {
        let (shape, out, _) =
            objects(r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":null}"#);
        assert_eq!(
            (shape, out.len()),
            (Ok(Shape::List), 0),
            "items: null is an empty list"
        );
        let (shape, out, _) = objects(
            r#"{"kind":"DeploymentList","items":[{"metadata":{"name":"a"}},{"kind":"Pod","metadata":{"name":"b"}}]}"#,
        );
        assert_eq!(shape, Ok(Shape::List));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].1.as_deref(), Some("Deployment"), "the list's kind");
        assert_eq!(out[1].0.kind.get(), Some("Pod"), "the item's own kind");
        let (shape, out, _) = objects(r#"[{"metadata":{"name":"a"}}]"#);
        assert_eq!((shape, out.len()), (Ok(Shape::Array), 1));
        assert_eq!(out[0].1.as_deref(), Some("Pod"), "the file's kind");
        let (shape, out, _) = objects(r#"{"kind":"Namespace","metadata":{"name":"x"}}"#);
        assert_eq!((shape, out.len()), (Ok(Shape::Object), 1));
        let (shape, _, other) = objects(r#"{"kind":"PodList","items":{"no":"array"}}"#);
        assert_eq!((shape, other), (Ok(Shape::List), 1));
        let (shape, _, other) = objects("7");
        assert_eq!((shape, other), (Ok(Shape::Scalar), 1));
    }

    #[test]
    fn fields_of_the_wrong_type_are_absent() {
        let (_, out, _) = objects(
            r#"[{"kind":7,"metadata":{"name":["x"],"namespace":"ns","labels":{"a":"1","b":2},
                "ownerReferences":[{"kind":"ReplicaSet","name":"rs","controller":"yes"},"junk"]},
               "spec":{"containers":[{"name":"a","image":7},"junk",{"image":"b"}],
                       "initContainers":{"not":"a list"},"replicas":"2",
                       "template":{"spec":{"containers":[{"name":"t","image":"i"}]}}},
               "status":"odd"}]"#,
        );
        let o = &out[0].0;
        assert_eq!(o.kind.get(), None);
        assert_eq!(o.metadata.name.get(), None);
        assert_eq!(o.metadata.namespace.get(), Some("ns"));
        assert_eq!(o.metadata.labels.0.len(), 1);
        assert_eq!(o.metadata.owner_references.len(), 1);
        assert_eq!(o.metadata.owner_references[0].controller, Flag(None));
        let spec = o.spec.as_ref().unwrap();
        assert_eq!(spec.containers.len(), 2);
        assert_eq!(spec.containers[0].image.get(), None);
        assert!(spec.init_containers.is_empty());
        assert_eq!(spec.replicas, Int(None));
        let inner = spec.template.get().unwrap().spec.get().unwrap();
        assert_eq!(inner.containers[0].image.get(), Some("i"));
        assert!(!o.has_status);
    }

    #[test]
    fn nested_lists_are_bounded_and_malformed_input_keeps_what_came_before() {
        let deep = format!("{}{{}}{}", "[".repeat(20), "]".repeat(20));
        let (shape, out, other) = objects(&deep);
        assert_eq!((shape, out.len(), other), (Ok(Shape::Array), 0, 1));
        let (shape, out, _) = objects(r#"[{"metadata":{"name":"a"}},{"metadata":"#);
        assert!(shape.is_err());
        assert_eq!(out.len(), 1, "the object before the error stands");
    }

    #[test]
    fn decodes_from_a_parsed_value_too() {
        let v = serde_json::json!({"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"},
            "status": {"containerStatuses": [{"name": "c", "imageID": "sha256:x",
                "state": {"waiting": {"reason": "ErrImagePull"}}}]}}]});
        let mut out = Vec::new();
        decode(&v, None, &mut |e| {
            if let Event::Object(o, _) = e {
                out.push(o);
            }
        })
        .unwrap();
        assert_eq!(out.len(), 1);
        assert!(out[0].has_status);
        let s = &out[0].status.container_statuses[0];
        assert_eq!(s.image_id.get(), Some("sha256:x"));
        assert_eq!(
            s.state
                .get()
                .and_then(|s| s.waiting.get())
                .and_then(|w| w.reason.get()),
            Some("ErrImagePull")
        );
    }
}
