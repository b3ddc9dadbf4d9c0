//! The extractor never panics on odd JSON: fixture objects mutated at random (a deterministic
//! generator, so a failure reproduces), and hand-written oddities.

use imagefacts_discovery::{
    NamespaceFilter, ObjectOrigin, SourceKind, extract, parse_image_id, render_table,
};
use serde_json::{Value, json};

use crate::support::*;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn odd_value(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(-1),
        3 => json!(1.5e300),
        4 => json!(""),
        5 => json!("docker-pullable://@@sha256:"),
        6 => json!([]),
        7 => json!({}),
        8 => json!([null, 1, "x", {"name": 3}]),
        9 => json!({"items": "not a list", "kind": "PodList"}),
        10 => json!("\u{0}\u{ffff}🦀"),
        _ => json!({"kind": "List", "items": [{"kind": "List", "items": [{}]}]}),
    }
}

/// Replaces one random node of `v` (any depth) with an odd value.
fn mutate(v: &mut Value, rng: &mut Rng) {
    let mut cur = v;
    loop {
        let children = match cur {
            Value::Object(o) if !o.is_empty() => o.len(),
            Value::Array(a) if !a.is_empty() => a.len(),
            _ => 0,
        };
        if children == 0 || rng.below(4) == 0 {
            *cur = odd_value(rng);
            return;
        }
        let i = rng.below(children);
        cur = match cur {
            Value::Object(o) => o.values_mut().nth(i).expect("index in range"),
            Value::Array(a) => &mut a[i],
            _ => return,
        };
    }
}

fn fixture_objects() -> Vec<(ObjectOrigin, Value)> {
    let mut out = Vec::new();
    for file in [
        "pods/shop.json",
        "replicasets/shop.json",
        "deployments/shop.json",
        "pods/batch.json",
        "jobs/batch.json",
        "cronjobs/batch.json",
        "nodes.json",
        "serviceaccounts/shop.json",
    ] {
        let text = std::fs::read_to_string(bundle_dir().join("cluster-resources").join(file))
            .expect("fixture");
        let origin = ObjectOrigin {
            path: Some(file.to_owned()),
            namespace: Some("shop".into()),
            ..ObjectOrigin::new(SourceKind::Bundle)
        };
        out.push((origin, serde_json::from_str(&text).expect("fixture JSON")));
    }
    out
}

#[test]
fn mutated_fixtures_never_panic() {
    let base = fixture_objects();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for _ in 0..3000 {
        let mut objects = base.clone();
        for _ in 0..=rng.below(6) {
            let i = rng.below(objects.len());
            mutate(&mut objects[i].1, &mut rng);
        }
        let d = extract(objects, &NamespaceFilter::default());
        let _ = render_table(&d);
    }
}

#[test]
fn odd_documents_never_panic() {
    let origin = ObjectOrigin::new(SourceKind::Manifests);
    let mut nested = json!({"kind": "List", "items": []});
    for _ in 0..100 {
        nested = json!({"kind": "List", "items": [nested]});
    }
    let cycle = json!([
        {"kind": "ReplicaSet", "metadata": {"name": "a", "uid": "1", "ownerReferences": [{"kind": "ReplicaSet", "name": "b", "uid": "2"}]},
         "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}},
        {"kind": "ReplicaSet", "metadata": {"name": "b", "uid": "2", "ownerReferences": [{"kind": "ReplicaSet", "name": "a", "uid": "1"}]}},
        {"kind": "Pod", "metadata": {"name": "self", "uid": "3", "ownerReferences": [{"kind": "Pod", "name": "self", "uid": "3"}]},
         "spec": {"containers": [{"name": "c", "image": "y"}]}}
    ]);
    let docs = [
        Value::Null,
        json!(42),
        json!("Pod"),
        json!([1, [2, [3]]]),
        json!({"kind": 7}),
        json!({"kind": "Pod"}),
        json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}),
        json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": ""}]},
               "status": {"containerStatuses": [{"name": "c", "imageID": 5, "state": {"waiting": {"reason": ["x"]}}}]}}),
        json!({"kind": "Node", "metadata": {"name": "n"}, "status": {"nodeInfo": {"architecture": 64}}}),
        nested,
        cycle,
    ];
    let d = extract(
        docs.into_iter().map(|v| (origin.clone(), v)),
        &NamespaceFilter::default(),
    );
    // The cycle resolves to one of its members; the self-owned pod to itself.
    assert!(
        d.images
            .iter()
            .any(|i| i.reference == "docker.io/library/y:latest")
    );
    assert!(
        d.errors.iter().any(|e| e.message.contains("has no image")),
        "{:#?}",
        d.errors
    );
    assert!(
        d.errors
            .iter()
            .any(|e| e.message.contains("nested too deeply")),
        "{:#?}",
        d.errors
    );

    for id in [
        "",
        "@",
        "docker://",
        "sha256",
        "x@y@z",
        "docker-pullable://a@sha256:zz",
    ] {
        assert!(parse_image_id(id).is_none(), "{id}");
    }
}
