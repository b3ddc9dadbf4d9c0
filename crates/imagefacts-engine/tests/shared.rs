//! One image under several references: the entries share its labels and runtime config (one
//! allocation per config, however many references name it).

use std::sync::Arc;

use imagefacts_engine::{CollectOptions, Collector, ImageRequest};
use imagefacts_registry::{ClientConfig, RegistryClient};
use imagefacts_testkit::{Registry, RegistryKind, push_fixtures};

#[tokio::test]
async fn entries_of_one_config_share_its_labels_and_config() {
    let (reg, fx) = tokio::task::spawn_blocking(|| {
        let reg = Registry::start(RegistryKind::Plain).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        (reg, fx)
    })
    .await
    .unwrap();
    let host = reg.host();
    let config = ClientConfig {
        insecure_registries: vec![host.clone()],
        ..ClientConfig::default()
    };
    let collector = Collector::new(
        RegistryClient::new(config).unwrap(),
        CollectOptions::default(),
    )
    .unwrap();
    let repo = |name: &str| name.split(':').next().unwrap().to_owned();
    let references = [
        format!("{host}/{}", fx.single),
        format!("{host}/{}@{}", repo(&fx.single), fx.single_digest),
        format!("{host}/{}", fx.multi_oci),
        format!("{host}/{}@{}", repo(&fx.multi_oci), fx.multi_oci_digest),
    ];
    let requests = references.iter().map(|r| ImageRequest::new(r)).collect();
    let facts = collector.collect(requests).await.unwrap();
    for f in &facts {
        assert!(f.error.is_none(), "{}: {:?}", f.reference, f.error);
    }
    let [tag, pinned, multi_tag, multi_pinned] = &facts[..] else {
        panic!("four entries")
    };
    assert!(!tag.labels.is_empty(), "the fixture has labels");
    assert!(Arc::ptr_eq(&tag.labels, &pinned.labels));
    assert!(Arc::ptr_eq(&tag.config, &pinned.config));
    assert_eq!(multi_tag.platforms.len(), multi_pinned.platforms.len());
    for (a, b) in multi_tag.platforms.iter().zip(&multi_pinned.platforms) {
        assert!(!a.labels.is_empty());
        assert!(Arc::ptr_eq(&a.labels, &b.labels) && Arc::ptr_eq(&a.config, &b.config));
        if a.primary {
            assert!(Arc::ptr_eq(&a.labels, &multi_tag.labels));
        }
    }
    // Shared, yet each entry serializes its own full copy.
    let json = serde_json::to_value(pinned).unwrap();
    assert_eq!(
        json["labels"],
        serde_json::to_value(&*tag.labels).unwrap(),
        "{json}"
    );
}
