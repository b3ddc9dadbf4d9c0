//! Request counts from the registry's own access log.

use imagefacts_testkit::{ImageSpec, OciLayout, PushFormat, Registry, RegistryKind, push};

use crate::support::inspect;

/// N distinct single-platform tagged images in one run: one `/v2/` ping, N manifest requests, N
/// config GETs, and nothing else.
#[test]
fn one_ping_one_manifest_one_config_per_image() {
    const N: usize = 6;
    let reg = Registry::start(RegistryKind::Plain).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path()).unwrap();
    let mut refs = Vec::new();
    for i in 0..N {
        let mut spec = ImageSpec::simple("amd64");
        spec.labels.insert("test.index".into(), i.to_string());
        let tag = format!("t{i}");
        layout.add_image(&tag, &spec).unwrap();
        push(
            &layout,
            &tag,
            &reg,
            &format!("count/img{i}:v{i}"),
            PushFormat::Oci,
            false,
        )
        .unwrap();
        refs.push(format!("{}/count/img{i}:v{i}", reg.host()));
    }
    reg.clear_access_log();
    let run = inspect(&reg.imagefacts_args(), &refs);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let log = reg.access_log();
    let ours: Vec<_> = log
        .iter()
        .filter(|e| e.user_agent.starts_with("imagefacts/"))
        .collect();
    assert_eq!(
        ours.len(),
        log.len(),
        "only imagefacts talked to the registry: {log:#?}"
    );
    let pings = ours.iter().filter(|e| e.path == "/v2/").count();
    let manifests = ours
        .iter()
        .filter(|e| e.path.contains("/manifests/"))
        .count();
    let configs = ours
        .iter()
        .filter(|e| e.method == "GET" && e.path.contains("/blobs/"))
        .count();
    assert_eq!(pings, 1, "{ours:#?}");
    assert_eq!(manifests, N, "{ours:#?}");
    assert_eq!(configs, N, "{ours:#?}");
    assert_eq!(ours.len(), 1 + 2 * N, "{ours:#?}");
    assert!(ours.iter().all(|e| e.status == 200), "{ours:#?}");
}
