//! The troubleshoot fixture generator writes, for every layout and format, the files its docs
//! promise, in the shapes the version it mimics wrote.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use imagefacts_testkit::{
    FixtureFormat, FixtureImages, TroubleshootLayout, write_troubleshoot_bundle,
};
use serde_json::Value;

const HOST: &str = "127.0.0.1:5000";

/// One entry of a written bundle, by its path below the top directory.
#[derive(Debug, PartialEq)]
enum Item {
    Dir,
    File(Vec<u8>),
    Link(String),
}

/// The bundle's entries, read back from a directory or from a `.tar.gz`.
struct Bundle {
    layout: TroubleshootLayout,
    items: BTreeMap<String, Item>,
}

impl Bundle {
    fn json(&self, path: &str) -> Value {
        match self.items.get(path) {
            Some(Item::File(bytes)) => serde_json::from_slice(bytes)
                .unwrap_or_else(|e| panic!("{}: {path} is not JSON: {e}", self.layout.name())),
            other => panic!("{}: {path} is not a file: {other:?}", self.layout.name()),
        }
    }

    fn has(&self, path: &str) -> bool {
        self.items.contains_key(path)
    }

    fn has_under(&self, dir: &str) -> bool {
        self.items.keys().any(|p| p.starts_with(dir))
    }

    /// The items of a file in either shape (plain array or List; `null` is empty).
    fn list(&self, path: &str) -> Vec<Value> {
        match self.json(path) {
            Value::Array(items) => items,
            Value::Object(mut list) => match list.remove("items") {
                Some(Value::Array(items)) => items,
                Some(Value::Null) => Vec::new(),
                other => panic!("{path}: items is {other:?}"),
            },
            other => panic!("{path}: neither array nor list: {other}"),
        }
    }

    fn names(&self, path: &str) -> Vec<String> {
        (self.list(path).iter())
            .map(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }
}

fn top(layout: TroubleshootLayout) -> &'static str {
    if layout == TroubleshootLayout::Preflight {
        "preflightbundle-2026-11-28T10_00_00"
    } else {
        "support-bundle-2026-11-28T10_00_00"
    }
}

fn read_dir_tree(root: &Path, rel: &str, out: &mut BTreeMap<String, Item>) {
    for entry in std::fs::read_dir(root.join(rel)).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let name = format!("{rel}{}", entry.file_name().to_string_lossy());
        let meta = std::fs::symlink_metadata(entry.path()).expect("metadata");
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path()).expect("read_link");
            out.insert(name, Item::Link(target.to_string_lossy().into_owned()));
        } else if meta.is_dir() {
            let dir = format!("{name}/");
            read_dir_tree(root, &dir, out);
            out.insert(dir, Item::Dir);
        } else {
            out.insert(name, Item::File(std::fs::read(entry.path()).expect("read")));
        }
    }
}

fn write(dir: &Path, layout: TroubleshootLayout, format: FixtureFormat) -> Bundle {
    let images = FixtureImages::example(HOST);
    let path = write_troubleshoot_bundle(dir, layout, &images, format).expect("write bundle");
    let top = top(layout);
    let mut items = BTreeMap::new();
    match format {
        FixtureFormat::Directory => {
            assert_eq!(path, dir.join(top));
            assert!(path.is_dir());
            read_dir_tree(&path, "", &mut items);
            items.insert(String::new(), Item::Dir);
        }
        FixtureFormat::TarGz => {
            assert_eq!(path, dir.join(format!("{top}.tar.gz")));
            let file = std::fs::File::open(&path).expect("open archive");
            let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
            for entry in archive.entries().expect("entries") {
                let mut entry = entry.expect("entry");
                let name = entry.path().expect("path").to_string_lossy().into_owned();
                let kind = entry.header().entry_type();
                let rel = name
                    .strip_prefix(&format!("{top}/"))
                    .or_else(|| (name == top).then_some(""))
                    .unwrap_or_else(|| panic!("{name} is not under {top}/"));
                let rel = match kind {
                    tar::EntryType::Directory if !rel.is_empty() && !rel.ends_with('/') => {
                        format!("{rel}/")
                    }
                    _ => rel.to_owned(),
                };
                let item = match kind {
                    tar::EntryType::Directory => Item::Dir,
                    tar::EntryType::Regular => {
                        let mut bytes = Vec::new();
                        entry.read_to_end(&mut bytes).expect("read entry");
                        Item::File(bytes)
                    }
                    tar::EntryType::Symlink => {
                        let target = entry.link_name().expect("link name").expect("a target");
                        Item::Link(target.to_string_lossy().into_owned())
                    }
                    other => panic!("{name}: unexpected entry type {other:?}"),
                };
                assert!(items.insert(rel, item).is_none(), "{name} twice");
            }
        }
    }
    Bundle { layout, items }
}

fn check(b: &Bundle) {
    use TroubleshootLayout::*;
    let layout = b.layout;
    let im = FixtureImages::example(HOST);
    let k3s = layout == KubeSystemOnly;
    let plain = layout == V0_10;

    // Every directory has its own entry, every JSON file parses.
    assert!(
        b.items.len() > 20,
        "{}: {} entries",
        layout.name(),
        b.items.len()
    );
    for path in b.items.keys() {
        if let Some(i) = path.trim_end_matches('/').rfind('/') {
            assert_eq!(b.items.get(&path[..=i]), Some(&Item::Dir), "{path}: parent");
        }
        if path.ends_with(".json") && matches!(b.items[path], Item::File(_)) {
            b.json(path);
        }
    }
    assert_eq!(b.items.get(""), Some(&Item::Dir));
    assert_eq!(b.items.get("cluster-resources/"), Some(&Item::Dir));
    let Some(Item::File(version)) = b.items.get("version.yaml") else {
        panic!("no version.yaml");
    };
    let version = String::from_utf8_lossy(version);
    assert!(version.starts_with("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\n"));
    assert!(version.contains("  versionNumber: v0."), "{version}");

    // Shapes.
    let pods_of = |ns: &str| format!("cluster-resources/pods/{ns}.json");
    let main_ns = if k3s { "kube-system" } else { "shop" };
    let empty_ns = if k3s { "default" } else { "empty-ns" };
    let pods = b.json(&pods_of(main_ns));
    if plain {
        let items = pods.as_array().expect("v0.10: plain array");
        assert_eq!(items.len(), 6);
        assert!(
            items
                .iter()
                .all(|p| p.get("kind").is_none() && p.get("apiVersion").is_none())
        );
        let nodes = b.json("cluster-resources/nodes.json");
        assert_eq!(nodes.as_array().map(Vec::len), Some(2));
        let namespaces = b.json("cluster-resources/namespaces.json");
        assert_eq!(namespaces.as_array().map(Vec::len), Some(3));
        assert_eq!(b.json(&pods_of(empty_ns)), Value::Array(Vec::new()));
    } else {
        assert_eq!(pods["kind"], "PodList");
        assert_eq!(pods["apiVersion"], "v1");
        let items = pods["items"].as_array().expect("items");
        assert_eq!(items.len(), if k3s { 4 } else { 6 });
        assert!(
            items
                .iter()
                .all(|p| p["kind"] == "Pod" && p["apiVersion"] == "v1")
        );
        assert_eq!(
            b.json("cluster-resources/namespaces.json")["kind"],
            "NamespaceList"
        );
        assert_eq!(b.json("cluster-resources/nodes.json")["kind"], "NodeList");
    }

    // Empty namespaces: `[]` before v0.118, `items: null` from it.
    let empty_dirs: &[&str] = match layout {
        V0_10 => &["pods", "deployments", "statefulsets", "jobs", "cronjobs"],
        V0_57 => &[
            "pods",
            "deployments",
            "statefulsets",
            "daemonsets",
            "jobs",
            "cronjobs",
        ],
        V0_100 | V0_118 => &[
            "pods",
            "deployments",
            "statefulsets",
            "daemonsets",
            "jobs",
            "cronjobs",
            "statefulsets-errors.json",
        ],
        _ => &[
            "pods",
            "deployments",
            "statefulsets",
            "daemonsets",
            "jobs",
            "cronjobs",
            "replicasets",
        ],
    };
    for dir in empty_dirs {
        let v = b.json(&format!("cluster-resources/{dir}/{empty_ns}.json"));
        match layout {
            V0_10 => assert_eq!(v, Value::Array(Vec::new())),
            V0_57 | V0_100 => assert_eq!(v["items"], Value::Array(Vec::new()), "{dir}"),
            _ => {
                assert_eq!(v["items"], Value::Null, "{dir}");
                assert_eq!(v["metadata"], serde_json::json!({}), "{dir}");
                assert!(v["kind"].as_str().is_some_and(|k| k.ends_with("List")));
            }
        }
    }

    // ReplicaSets: none, misfiled, or in place.
    let rs_file = match layout {
        V0_10 | V0_57 => None,
        V0_100 | V0_118 => Some("cluster-resources/statefulsets-errors.json/"),
        _ => Some("cluster-resources/replicasets/"),
    };
    assert!(
        !b.has_under("cluster-resources/replicasets/")
            || rs_file == Some("cluster-resources/replicasets/")
    );
    assert!(
        !b.has_under("cluster-resources/statefulsets-errors.json")
            || matches!(layout, V0_100 | V0_118)
    );
    if let Some(dir) = rs_file {
        assert_eq!(b.items.get(dir), Some(&Item::Dir));
        let rs = b.json(&format!("{dir}{main_ns}.json"));
        assert_eq!(rs["kind"], "ReplicaSetList");
        let expected = if k3s { 4 } else { 1 };
        assert_eq!(rs["items"].as_array().map(Vec::len), Some(expected));
    }
    if matches!(layout, V0_100 | V0_118) {
        assert_eq!(b.names("cluster-resources/statefulsets/shop.json"), ["db"]);
    }
    assert_eq!(b.has_under("cluster-resources/daemonsets/"), !plain);

    if k3s {
        check_k3s(b, &im);
    } else {
        check_main_cluster(b, &im);
    }

    // Custom resources and the one symlink.
    let links: Vec<_> = (b.items.iter())
        .filter(|(_, i)| matches!(i, Item::Link(_)))
        .collect();
    if layout == CustomResources2026_08 {
        let dir = "cluster-resources/custom-resources/widgets.example.com/";
        assert_eq!(b.list(&format!("{dir}shop.json")).len(), 2);
        assert_eq!(links.len(), 1);
        assert_eq!(
            b.items.get(&format!("{dir}shop.yaml")),
            Some(&Item::Link("shop.json".into()))
        );
        assert_eq!(
            b.names("cluster-resources/custom-resource-definitions.json"),
            ["widgets.example.com"]
        );
    } else {
        assert_eq!(links.len(), 0, "{links:?}");
        assert!(!b.has_under("cluster-resources/custom-resources/"));
    }
}

fn check_main_cluster(b: &Bundle, im: &FixtureImages) {
    let layout = b.layout;
    let namespaces = b.names("cluster-resources/namespaces.json");
    assert_eq!(namespaces, ["shop", "empty-ns", "kube-system"]);
    let repo = |r: &str| r.rsplit_once(':').map_or(r, |(repo, _)| repo).to_owned();

    let pods = b.list("cluster-resources/pods/shop.json");
    let pod = |name: &str| {
        (pods.iter())
            .find(|p| p["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{}: no pod {name}", layout.name()))
    };
    let image_id = |name: &str| pod(name)["status"]["containerStatuses"][0]["imageID"].clone();
    assert_eq!(
        image_id("web-5d9f8c7b6-abcde"),
        format!("{}@{}", repo(&im.web), im.web_digest)
    );
    assert_eq!(
        image_id("web-5d9f8c7b6-fghij"),
        format!(
            "docker-pullable://{}@{}",
            repo(&im.web),
            im.web_digest_other
        )
    );
    assert_eq!(
        image_id("db-0"),
        format!("{}@{}", repo(&im.db), im.db_digest)
    );
    for agent in ["agent-x1", "agent-y2"] {
        assert_eq!(
            image_id(agent),
            format!("{}@{}", repo(&im.agent), im.agent_digest)
        );
        assert_eq!(
            pod(agent)["metadata"]["ownerReferences"][0]["kind"],
            "DaemonSet"
        );
    }
    let report = pod("report-29370420-q8v2n");
    assert_eq!(report["status"]["phase"], "Succeeded");
    let report_id = report["status"]["containerStatuses"][0]["imageID"]
        .as_str()
        .unwrap_or_default();
    let hex = report_id
        .strip_prefix("docker://sha256:")
        .expect("a docker:// image ID");
    assert_eq!(hex.len(), 64);
    assert!(!report_id.contains(&im.report_digest));
    assert_eq!(pods.len(), 6);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["imagePullSecrets"][0]["name"] == "regcred")
    );
    let web = pod("web-5d9f8c7b6-abcde");
    assert_eq!(web["metadata"]["labels"]["pod-template-hash"], "5d9f8c7b6");
    assert_eq!(
        web["metadata"]["ownerReferences"][0]["name"],
        "web-5d9f8c7b6"
    );
    assert!(
        web["metadata"]["managedFields"]
            .as_array()
            .is_some_and(|m| m.len() >= 2)
    );
    assert!(
        web["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.len() >= 4)
    );
    assert_eq!(web["spec"]["nodeName"], "n1");

    // Owners link by uid wherever the owner is in the bundle.
    let deployments = b.list("cluster-resources/deployments/shop.json");
    assert_eq!(deployments.len(), 1);
    assert_eq!(deployments[0]["spec"]["replicas"], 2);
    let rs_path = match layout {
        TroubleshootLayout::V0_100 | TroubleshootLayout::V0_118 => {
            Some("cluster-resources/statefulsets-errors.json/shop.json")
        }
        TroubleshootLayout::V0_10 | TroubleshootLayout::V0_57 => None,
        _ => Some("cluster-resources/replicasets/shop.json"),
    };
    if let Some(path) = rs_path {
        let rs = b.list(path);
        assert_eq!(rs.len(), 1);
        assert_eq!(
            web["metadata"]["ownerReferences"][0]["uid"],
            rs[0]["metadata"]["uid"]
        );
        assert_eq!(
            rs[0]["metadata"]["ownerReferences"][0]["uid"],
            deployments[0]["metadata"]["uid"]
        );
    }
    assert_eq!(
        b.names("cluster-resources/jobs/shop.json"),
        ["report-29370420"]
    );
    assert_eq!(b.names("cluster-resources/cronjobs/shop.json"), ["report"]);
    assert_eq!(
        b.names("cluster-resources/pods/kube-system.json"),
        ["coredns-7db6d8ff4d-k8s9x"]
    );
    assert_eq!(
        b.names("cluster-resources/services/shop.json"),
        ["web", "db"]
    );
    assert_eq!(b.list("cluster-resources/events/shop.json").len(), 3);
    assert!(b.has("cluster-resources/pods/logs/shop/web-5d9f8c7b6-abcde/web.log"));

    // Nodes: platforms and the images each holds.
    let nodes = b.list("cluster-resources/nodes.json");
    assert_eq!(nodes.len(), 2);
    let held = |n: usize, digest: &str| {
        (nodes[n]["status"]["images"]
            .as_array()
            .into_iter()
            .flatten())
        .find(|i| i["names"][0].as_str().is_some_and(|s| s.ends_with(digest)))
        .cloned()
        .unwrap_or_else(|| panic!("node {n} does not hold {digest}"))
    };
    assert_eq!(nodes[0]["status"]["nodeInfo"]["architecture"], "amd64");
    assert_eq!(
        nodes[1]["metadata"]["labels"]["kubernetes.io/arch"],
        "arm64"
    );
    assert_eq!(
        nodes[0]["status"]["images"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(
        nodes[1]["status"]["images"].as_array().map(Vec::len),
        Some(2)
    );
    let web_n1 = held(0, &im.web_digest);
    assert_eq!(
        web_n1["names"],
        serde_json::json!([format!("{}@{}", repo(&im.web), im.web_digest), im.web])
    );
    assert_eq!(web_n1["sizeBytes"], 11_111_111);
    assert_eq!(held(1, &im.web_digest_other)["sizeBytes"], 22_222_222);
    assert_eq!(held(0, &im.report_digest)["names"][1], im.report.as_str());

    // Pull secrets: registry → username, from v0.57 on.
    let secret = "cluster-resources/image-pull-secrets/shop/regcred.json";
    if layout == TroubleshootLayout::V0_10 {
        assert!(!b.has_under("cluster-resources/image-pull-secrets/"));
    } else {
        assert_eq!(b.json(secret), serde_json::json!({ HOST: "robot" }));
    }
}

fn check_k3s(b: &Bundle, im: &FixtureImages) {
    let namespaces = b.names("cluster-resources/namespaces.json");
    assert_eq!(
        namespaces,
        ["default", "kube-system", "kube-public", "kube-node-lease"]
    );
    let deployments = b.names("cluster-resources/deployments/kube-system.json");
    assert_eq!(
        deployments,
        [
            "coredns",
            "local-path-provisioner",
            "metrics-server",
            "traefik"
        ]
    );
    let pods = b.list("cluster-resources/pods/kube-system.json");
    assert_eq!(pods.len(), 4);
    assert!(
        pods.iter()
            .all(|p| p["spec"]["containers"][0]["image"] == im.system.as_str())
    );
    // Nothing outside kube-system: every other per-namespace file is an empty list.
    let others: Vec<&String> = (b.items.keys())
        .filter(|p| {
            p.ends_with(".json") && p.matches('/').count() == 2 && !p.ends_with("/kube-system.json")
        })
        .collect();
    assert_eq!(others.len(), 3 * 9, "{others:?}");
    assert!(others.iter().all(|p| b.list(p).is_empty()), "{others:?}");
    assert!(!b.has_under("cluster-resources/image-pull-secrets/"));
    assert!(!b.has("cluster-resources/pods/shop.json"));
    assert_eq!(b.list("cluster-resources/nodes.json").len(), 1);
}

#[test]
fn every_layout_is_written_as_documented_in_both_formats() {
    assert_eq!(TroubleshootLayout::ALL.len(), 8);
    let mut checked = 0;
    for layout in TroubleshootLayout::ALL {
        for format in [FixtureFormat::Directory, FixtureFormat::TarGz] {
            let dir = tempfile::tempdir().expect("tempdir");
            let bundle = write(dir.path(), layout, format);
            check(&bundle);
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn directory_and_archive_hold_the_same_entries() {
    for layout in TroubleshootLayout::ALL {
        let (a, b) = (
            tempfile::tempdir().expect("tempdir"),
            tempfile::tempdir().expect("tempdir"),
        );
        let dir = write(a.path(), layout, FixtureFormat::Directory);
        let tar = write(b.path(), layout, FixtureFormat::TarGz);
        assert!(!dir.items.is_empty());
        assert_eq!(dir.items, tar.items, "{}", layout.name());
    }
}

#[test]
fn archives_are_byte_identical_across_runs() {
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let images = FixtureImages::example(HOST);
    let layout = TroubleshootLayout::CustomResources2026_08;
    let pa =
        write_troubleshoot_bundle(a.path(), layout, &images, FixtureFormat::TarGz).expect("write");
    let pb =
        write_troubleshoot_bundle(b.path(), layout, &images, FixtureFormat::TarGz).expect("write");
    let (ba, bb) = (
        std::fs::read(pa).expect("read"),
        std::fs::read(pb).expect("read"),
    );
    assert!(!ba.is_empty());
    assert_eq!(ba, bb);
}

#[test]
fn layout_names_are_distinct() {
    let names: std::collections::BTreeSet<_> =
        TroubleshootLayout::ALL.iter().map(|l| l.name()).collect();
    assert_eq!(names.len(), 8);
    assert!(names.contains("v0.123.16") && names.contains("2026-08-custom-resources"));
}

#[test]
fn example_digests_are_valid_and_distinct() {
    let im = FixtureImages::example(HOST);
    let digests = [
        &im.web_digest,
        &im.web_digest_other,
        &im.db_digest,
        &im.agent_digest,
        &im.report_digest,
        &im.system_digest,
    ];
    let distinct: std::collections::BTreeSet<_> = digests.iter().collect();
    assert_eq!(distinct.len(), 6);
    for d in digests {
        let hex = d.strip_prefix("sha256:").expect("sha256:");
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }
    assert_eq!(im.web, format!("{HOST}/shop/web:1.0"));
}
