//! Where a run's credentials come from, in the order they are asked for each image:
//! `--authfile` and `--creds`; the pods' pull secrets; the user's docker config and containers
//! auth files (unless `--no-default-credentials`).

use std::collections::BTreeSet;
use std::sync::Arc;

use imagefacts_discovery::Discovered;
use imagefacts_engine::ImageRequest;
use imagefacts_registry::credentials::{Environment, default_sources};
use imagefacts_registry::{
    Anonymous, AuthSource, Credential, CredentialChain, CredentialSource, DockerConfig,
    HelperRunner, Static,
};

use crate::args::RegistryArgs;
use imagefacts_registry::routes::{RouteCredentials, Routes};

/// Credentials of the pull secrets discovery read, by secret.
pub(crate) type PullSecretCredentials =
    std::collections::BTreeMap<imagefacts_model::discovery::SecretRef, Arc<dyn CredentialSource>>;

/// The sources of one run.
pub(crate) struct RunCredentials {
    /// Asked first: the command line's.
    pub(crate) explicit: Arc<dyn CredentialSource>,
    /// Asked after the pull secrets: the default files.
    pub(crate) defaults: Option<Arc<dyn CredentialSource>>,
}

/// The run's sources for `requests`.
///
/// # Errors
///
/// When `--authfile` or a default file exists but is not a docker config, or a `--creds`
/// without `REGISTRY=` would go to more than one registry.
pub(crate) fn run_credentials(
    args: &RegistryArgs,
    routes: &Routes,
    requests: &[ImageRequest],
) -> anyhow::Result<RunCredentials> {
    let runner = Arc::new(HelperRunner::new(args.credential_helper_timeout));
    let mut explicit: Vec<Arc<dyn CredentialSource>> = Vec::new();
    if let Some(path) = &args.authfile {
        explicit.push(Arc::new(
            DockerConfig::load(path)?
                .with_source(AuthSource::new("authfile", path.display()))
                .with_helpers(runner.clone()),
        ));
    }
    for creds in &args.creds {
        anyhow::ensure!(
            creds.valid,
            "--creds expects [REGISTRY=]USER:PASS (the value given is not shown)"
        );
        let registries = match &creds.registry {
            Some(r) => vec![r.clone()],
            None => vec![the_one_registry(requests)?],
        };
        explicit.push(Arc::new(Static::new(
            registries,
            Credential::UserPassword {
                username: creds.username.clone(),
                password: creds.password.clone(),
            },
            AuthSource::new("creds", &creds.username),
        )));
    }
    let explicit: Arc<dyn CredentialSource> = match explicit.len() {
        0 => Arc::new(Anonymous),
        1 => explicit.remove(0),
        _ => Arc::new(CredentialChain::new(explicit)),
    };
    // The nodes' own per-host credentials (k3s `configs`), then the user's files.
    let mut sources: Vec<Arc<dyn CredentialSource>> = Vec::new();
    let from_routes = RouteCredentials::of(routes);
    if !from_routes.is_empty() {
        sources.push(Arc::new(from_routes));
    }
    if !args.no_default_credentials {
        sources.extend(
            default_sources(&Environment::from_process(), &runner).map_err(|e| {
                anyhow::anyhow!("{e} (--no-default-credentials skips the default credential files)")
            })?,
        );
    }
    let defaults = (!sources.is_empty())
        .then(|| Arc::new(CredentialChain::new(sources)) as Arc<dyn CredentialSource>);
    Ok(RunCredentials { explicit, defaults })
}

/// The registry every request names, for a `--creds` without `REGISTRY=`.
fn the_one_registry(requests: &[ImageRequest]) -> anyhow::Result<String> {
    let registries: BTreeSet<&str> = requests
        .iter()
        .filter_map(|r| r.reference.reference().ok())
        .map(|r| r.registry())
        .collect();
    match registries.len() {
        1 => Ok(registries.into_iter().next().unwrap_or_default().to_owned()),
        0 => anyhow::bail!("--creds names no registry and no image names one"),
        n => anyhow::bail!(
            "--creds names no registry, and the images come from {n} registries ({}): \
             write --creds REGISTRY=USER:PASS so the password goes to one of them only",
            registries.into_iter().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Credentials from the pull secrets discovery read (live cluster only), by secret, each
/// recorded as `pullSecret:<namespace>/<name>`. Their helpers never run.
pub(crate) fn pull_secret_credentials(found: &Discovered) -> PullSecretCredentials {
    found
        .pull_secrets
        .iter()
        .filter_map(|(secret, bytes)| {
            let origin =
                std::path::PathBuf::from(format!("secret {}/{}", secret.namespace, secret.name));
            match DockerConfig::parse(bytes, &origin) {
                Ok(c) => {
                    let source = AuthSource::new(
                        "pullSecret",
                        format!("{}/{}", secret.namespace, secret.name),
                    );
                    Some((
                        secret.clone(),
                        Arc::new(c.with_source(source)) as Arc<dyn CredentialSource>,
                    ))
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            }
        })
        .collect()
}
