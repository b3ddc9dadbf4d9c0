//! Pull secrets are per namespace: two namespaces, two credentials, one registry.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use imagefacts_engine::{CollectOptions, Collector, ImageRequest};
use imagefacts_model::discovery::{ImageUse, SecretRef};
use imagefacts_model::facts::ErrorKind;
use imagefacts_registry::{
    AuthSource, ClientConfig, CredentialSource, DockerConfig, RegistryClient,
};
use imagefacts_testkit::{Grant, Registry, RegistryKind, push_fixtures};

fn secret(ns: &str, name: &str) -> SecretRef {
    SecretRef {
        namespace: ns.into(),
        name: name.into(),
        cluster: None,
    }
}

fn docker_config(host: &str, user: &str, password: &str) -> Arc<dyn CredentialSource> {
    let json = serde_json::json!({"auths": {host: {"username": user, "password": password}}});
    Arc::new(DockerConfig::parse(json.to_string().as_bytes(), Path::new("secret")).unwrap())
}

/// A pull secret's credentials, recorded as the CLI records them.
fn pull_secret(
    secret: &SecretRef,
    host: &str,
    user: &str,
    password: &str,
) -> Arc<dyn CredentialSource> {
    let json = serde_json::json!({"auths": {host: {"username": user, "password": password}}});
    let source = AuthSource::new(
        "pullSecret",
        format!("{}/{}", secret.namespace, secret.name),
    );
    Arc::new(
        DockerConfig::parse(json.to_string().as_bytes(), Path::new("secret"))
            .unwrap()
            .with_source(source),
    )
}

fn request(reference: &str, secrets: &[SecretRef]) -> ImageRequest {
    let mut usage = ImageUse::new(imagefacts_model::ImageRef::parse(reference));
    usage.pull_secrets = secrets.to_vec();
    ImageRequest::discovered(usage)
}

#[tokio::test]
async fn each_image_uses_the_pull_secrets_of_its_own_pods() {
    let (reg, fx) = tokio::task::spawn_blocking(|| {
        let reg = Registry::start(RegistryKind::TlsBasic).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        (reg, fx)
    })
    .await
    .unwrap();
    let host = reg.host();
    let (user, password) = reg.credentials().unwrap();
    let config = ClientConfig {
        ca_files: vec![reg.ca_file().unwrap()],
        ..ClientConfig::default()
    };
    // The client itself is anonymous: only pull secrets can open the registry.
    let client = RegistryClient::new(config).unwrap();
    let secrets = BTreeMap::from([
        (
            secret("shop", "regcred"),
            docker_config(&host, &user, &password),
        ),
        (
            secret("batch", "stale"),
            docker_config(&host, &user, "expired-password"),
        ),
    ]);
    let collector = Collector::new(client, CollectOptions::default())
        .unwrap()
        .with_pull_secrets(secrets);
    let shop = format!("{host}/{}", fx.single);
    let batch = format!("{host}/{}", fx.multi_oci);
    let none = format!("{host}/{}", fx.single_v2s2);
    let both = format!("{host}/{}", fx.multi_v2s2);
    let facts = collector
        .collect(vec![
            request(&shop, &[secret("shop", "regcred")]),
            request(&batch, &[secret("batch", "stale")]),
            request(&none, &[]),
            // A refused secret gives way to the next one the pods name, as on a node.
            request(
                &both,
                &[secret("batch", "stale"), secret("shop", "regcred")],
            ),
        ])
        .await
        .unwrap();
    assert!(facts[0].error.is_none(), "{:?}", facts[0].error);
    assert_eq!(
        facts[0].digest.as_ref().unwrap().to_string(),
        fx.single_digest
    );
    assert_eq!(facts[1].error.get().map(|e| e.kind), Some(ErrorKind::Auth));
    assert_eq!(facts[2].error.get().map(|e| e.kind), Some(ErrorKind::Auth));
}

#[tokio::test]
async fn two_namespaces_with_their_own_secrets_each_get_their_own_token() {
    let (reg, fx) = tokio::task::spawn_blocking(|| {
        let reg = Registry::start(RegistryKind::Token).unwrap();
        let fx = push_fixtures(&reg).unwrap();
        (reg, fx)
    })
    .await
    .unwrap();
    reg.add_token_user("shop-puller", "shop-pw");
    reg.add_token_user("batch-puller", "batch:pw");
    let host = reg.host();
    let shop = secret("shop", "regcred");
    let batch = secret("batch", "regcred");
    let secrets = BTreeMap::from([
        (
            shop.clone(),
            pull_secret(&shop, &host, "shop-puller", "shop-pw"),
        ),
        (
            batch.clone(),
            pull_secret(&batch, &host, "batch-puller", "batch:pw"),
        ),
    ]);
    let config = ClientConfig {
        ca_files: vec![reg.ca_file().unwrap()],
        ..ClientConfig::default()
    };
    let collector = Collector::new(
        RegistryClient::new(config).unwrap(),
        CollectOptions::default(),
    )
    .unwrap()
    .with_pull_secrets(secrets);
    let shop_image = format!("{host}/{}", fx.single);
    let batch_image = format!("{host}/{}", fx.single_v2s2);
    let facts = collector
        .collect(vec![
            request(&shop_image, std::slice::from_ref(&shop)),
            request(&batch_image, std::slice::from_ref(&batch)),
        ])
        .await
        .unwrap();
    for f in &facts {
        assert!(f.error.is_none(), "{:?}", f.error);
    }
    assert_eq!(
        facts[0].auth_source.as_deref(),
        Some("pullSecret:shop/regcred")
    );
    assert_eq!(
        facts[1].auth_source.as_deref(),
        Some("pullSecret:batch/regcred")
    );
    // The token server saw each namespace's own user, each for its own repository only.
    let repo = |image: &str| {
        image
            .split_once('/')
            .unwrap()
            .1
            .split(':')
            .next()
            .unwrap()
            .to_owned()
    };
    let asked = |user: &str| -> Vec<String> {
        reg.token_grants()
            .into_iter()
            .filter(|g| g.subject == user && g.status == 200)
            .inspect(|g| assert_eq!(g.grant, Grant::Basic))
            .flat_map(|g| g.scopes)
            .collect()
    };
    let shop_scopes = asked("shop-puller");
    let batch_scopes = asked("batch-puller");
    assert!(!shop_scopes.is_empty() && !batch_scopes.is_empty());
    assert!(
        shop_scopes.iter().all(|s| s.contains(&repo(&shop_image))),
        "{shop_scopes:?}"
    );
    assert!(
        batch_scopes.iter().all(|s| s.contains(&repo(&batch_image))),
        "{batch_scopes:?}"
    );
}
