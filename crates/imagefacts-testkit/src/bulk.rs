//! A large facts.json, as a big cluster's collection would write it, for the HTML report's scale
//! test and benchmark.

use serde_json::{Value, json};

/// `sha256:` of a name: distinct names give distinct, stable digests.
fn digest(name: &str) -> String {
    crate::sha256_digest(name.as_bytes())
}

/// A facts.json of `n` images shaped like a real cluster's: 40 namespaces, 20 base images whose
/// 3 layers are shared, 5 layers of each image's own, 6 labels, an environment, 1 to 3
/// workloads with pods, the nodes holding it; every 4th image has two platforms, every 25th
/// failed (`notFound` or `auth`), every 10th runs a digest its tag no longer names.
pub fn bulk_facts(n: usize) -> Value {
    let gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    let layer =
        |name: &str, size: u64| json!({"digest": digest(name), "size": size, "mediaType": gzip});
    let mut entries = Vec::with_capacity(n);
    let mut total = 0u64;
    let (mut not_found, mut unauthorized) = (0usize, 0usize);
    for i in 0..n {
        let ns = format!("team-{:02}", i % 40);
        let app = format!("app-{i:05}");
        let repo = format!("{ns}/{app}");
        let reference = format!("registry.example.com/{repo}:1.{}.{}", i % 7, i % 13);
        let workloads: Vec<Value> = (0..1 + i % 3)
            .map(|w| {
                let kind = ["Deployment", "StatefulSet", "DaemonSet"][w];
                json!({"namespace": ns, "kind": kind,
                       "name": format!("{app}-{w}"), "container": "main", "containerType": "regular",
                       "pods": [format!("{app}-{w}-7d9f8-abcde")]})
            })
            .collect();
        let failed = i % 25 == 24;
        if failed {
            let kind = if i % 50 == 49 { "auth" } else { "notFound" };
            if kind == "notFound" {
                not_found += 1;
            } else {
                unauthorized += 1;
            }
            entries.push(json!({
                "reference": reference, "registry": "registry.example.com", "repository": repo,
                "tag": format!("1.{}.{}", i % 7, i % 13), "workloads": workloads,
                "collectedAt": "2026-12-01T12:00:00Z", "source": "registry",
                "mediaType": "", "schemaVersion": 0, "size": 0, "labels": {},
                "platform": {"architecture": "", "os": ""}, "config": {},
                "error": format!("registry.example.com: {kind} {repo}"),
                "errorDetail": {"kind": kind, "message": format!("registry.example.com: {kind} {repo}"),
                          "retryable": false, "status": if kind == "notFound" { 404 } else { 401 },
                          "step": "resolve"},
            }));
            continue;
        }
        let base = i % 20;
        let mut layers: Vec<Value> = (0..3)
            .map(|l| {
                layer(
                    &format!("base-{base}-{l}"),
                    2_000_000 + 400_000 * (base as u64) + l,
                )
            })
            .collect();
        layers.extend((0..5).map(|l| {
            layer(
                &format!("{app}-{l}"),
                10_000 + ((i * 7919 + l * 104_729) % 30_000_000) as u64,
            )
        }));
        let size: u64 = layers.iter().map(|l| l["size"].as_u64().unwrap_or(0)).sum();
        total += size;
        let manifest = digest(&format!("{app}-manifest"));
        let config = digest(&format!("{app}-config"));
        let created = format!(
            "20{:02}-{:02}-{:02}T10:00:00Z",
            22 + i % 5,
            1 + i % 12,
            1 + i % 28
        );
        let amd64 = json!({"architecture": "amd64", "os": "linux"});
        let multi = i % 4 == 0;
        let index = digest(&format!("{app}-index"));
        let running = if i % 10 == 9 {
            digest(&format!("{app}-old"))
        } else if multi {
            index.clone()
        } else {
            manifest.clone()
        };
        let mut entry = json!({
            "reference": reference, "registry": "registry.example.com", "repository": repo,
            "tag": format!("1.{}.{}", i % 7, i % 13),
            "digest": if multi { index.clone() } else { manifest.clone() },
            "manifestDigest": manifest, "configDigest": config,
            "mediaType": if multi { "application/vnd.oci.image.index.v1+json" } else { "application/vnd.oci.image.manifest.v1+json" },
            "schemaVersion": 2, "size": size, "created": created,
            "labels": {
                "org.opencontainers.image.source": format!("https://git.example.com/{repo}"),
                "org.opencontainers.image.revision": digest(&app)[7..47].to_owned(),
                "org.opencontainers.image.version": format!("1.{}.{}", i % 7, i % 13),
                "org.opencontainers.image.title": app,
                "org.opencontainers.image.vendor": "Example Corp",
                "com.example.team": ns,
            },
            "platform": amd64, "layers": layers,
            "config": {"user": "10001", "env": ["PATH=/usr/local/bin:/usr/bin:/bin", format!("APP_NAME={app}"),
                "LOG_LEVEL=info", "PORT=8080"], "entrypoint": ["/app/server"], "cmd": ["--port=8080"],
                "exposedPorts": {"8080/tcp": {}}, "workingDir": "/app"},
            "buildInfo": {"source": format!("https://git.example.com/{repo}"), "version": format!("1.{}.{}", i % 7, i % 13)},
            "workloads": workloads,
            "runningDigests": [{"digest": running, "kind": "repoDigest", "repository": format!("registry.example.com/{repo}"),
                                "pods": [format!("{ns}/{app}-0-7d9f8-abcde")]}],
            "nodePlatforms": [amd64],
            "nodeImages": [{"node": format!("node-{}", i % 30), "digest": running, "sizeBytes": size},
                           {"node": format!("node-{}", (i + 7) % 30), "digest": running, "sizeBytes": size}],
            "pullSecrets": [{"namespace": ns, "name": "registry-credentials"}],
            "collectedAt": "2026-12-01T12:00:00Z", "source": "registry", "authSource": "pull secret",
        });
        if multi {
            entry["platforms"] = json!([
                {"platform": amd64, "manifestDigest": manifest, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "configDigest": config, "size": size, "primary": true},
                {"platform": {"architecture": "arm64", "os": "linux"}, "manifestDigest": digest(&format!("{app}-arm64")),
                 "mediaType": "application/vnd.oci.image.manifest.v1+json", "size": size, "primary": false, "notFetched": true},
            ]);
        }
        entries.push(entry);
    }
    let mut errors = serde_json::Map::new();
    if not_found > 0 {
        errors.insert("notFound".into(), json!(not_found));
    }
    if unauthorized > 0 {
        errors.insert("auth".into(), json!(unauthorized));
    }
    json!({
        "version": "v1",
        "generatedAt": "2026-12-01T12:00:00Z",
        "imageFacts": entries,
        "summary": {"totalImages": n, "uniqueRegistries": 1, "uniqueRepositories": n, "totalSize": total,
                    "collectionErrors": not_found + unauthorized, "errorsByKind": errors, "fromRegistry": n},
        "clusterPlatforms": [{"architecture": "amd64", "os": "linux"}],
    })
}
