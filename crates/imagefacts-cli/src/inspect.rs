//! `imagefacts inspect REF...`: facts for explicit references.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use imagefacts_engine::{CollectOptions, Collector};
use imagefacts_model::facts::FactsFile;
use imagefacts_registry::{
    Anonymous, ClientConfig, CredentialSource, DockerConfig, RegistryClient,
};
use time::OffsetDateTime;

use crate::Outcome;
use crate::args::{InspectArgs, RegistryArgs};
use crate::output::write_output;

/// Builds the shared registry client from the command line.
pub(crate) fn registry_client(args: &RegistryArgs) -> anyhow::Result<RegistryClient> {
    let credentials: Arc<dyn CredentialSource> = match &args.authfile {
        Some(path) => Arc::new(DockerConfig::load(path)?),
        None => Arc::new(Anonymous),
    };
    let config = ClientConfig {
        ca_files: args.ca_files.clone(),
        insecure_registries: args.insecure_registries.clone(),
        request_timeout: Duration::from_secs(args.timeout_secs),
        ..ClientConfig::default()
    };
    Ok(RegistryClient::with_credentials(config, credentials)?)
}

pub(crate) async fn run(args: InspectArgs) -> anyhow::Result<Outcome> {
    let client = registry_client(&args.registry)?;
    let collector = Collector::new(
        client,
        CollectOptions {
            platform: args.registry.platform.clone(),
            concurrency: usize::from(args.registry.concurrency),
        },
    );
    let facts = collector.collect(&args.references).await;
    let file = FactsFile::new(OffsetDateTime::now_utc(), facts);
    let mut json = serde_json::to_vec_pretty(&file).context("cannot serialise facts")?;
    json.push(b'\n');
    write_output(args.output.as_deref(), &json)?;
    Ok(if file.summary.collection_errors > 0 {
        Outcome::Partial
    } else {
        Outcome::Success
    })
}
