//! The collection engine: turns a list of image references into [`ImageFacts`], asking registries
//! through one shared [`RegistryClient`].
//!
//! Each distinct reference is collected once, however often it is listed; references run
//! concurrently up to a limit; a failure becomes a typed error in that image's entry and never
//! stops the others.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use imagefacts_engine::{CollectOptions, Collector};
//! use imagefacts_registry::{ClientConfig, RegistryClient};
//!
//! let client = RegistryClient::new(ClientConfig::default())?;
//! let collector = Collector::new(client, CollectOptions::default());
//! let facts = collector.collect(&["nginx:1.25".to_owned()]).await;
//! println!("{}", facts[0].digest.as_ref().map(ToString::to_string).unwrap_or_default());
//! # Ok(()) }
//! ```

use std::collections::HashMap;

use futures::StreamExt as _;
use imagefacts_model::facts::ImageFacts;
use imagefacts_model::{Platform, Reference};
use imagefacts_registry::RegistryClient;
use time::OffsetDateTime;

pub mod facts;

/// How a [`Collector`] works.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The platform whose facts fill the top-level fields of a multi-platform image.
    pub platform: Option<Platform>,
    /// How many images are collected at once.
    pub concurrency: usize,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions {
            platform: None,
            concurrency: 16,
        }
    }
}

/// Collects facts for many references with one shared client.
#[derive(Debug, Clone)]
pub struct Collector {
    client: RegistryClient,
    options: CollectOptions,
}

impl Collector {
    /// A collector using `client`.
    pub fn new(client: RegistryClient, options: CollectOptions) -> Collector {
        Collector { client, options }
    }

    /// Facts for every input, in input order. Inputs naming the same reference are collected once.
    pub async fn collect(&self, inputs: &[String]) -> Vec<ImageFacts> {
        let mut unique: Vec<&str> = Vec::new();
        let mut slot_of: HashMap<&str, usize> = HashMap::new();
        let slots: Vec<usize> = inputs
            .iter()
            .map(|input| {
                *slot_of.entry(input.as_str()).or_insert_with(|| {
                    unique.push(input.as_str());
                    unique.len() - 1
                })
            })
            .collect();
        let wanted = self.options.platform.as_ref();
        let mut done: Vec<Option<ImageFacts>> = vec![None; unique.len()];
        let mut stream = futures::stream::iter(unique.iter().enumerate())
            .map(|(i, input)| async move { (i, self.collect_one(input, wanted).await) })
            .buffer_unordered(self.options.concurrency.max(1));
        while let Some((i, facts)) = stream.next().await {
            done[i] = Some(facts);
        }
        slots
            .into_iter()
            .map(|i| done[i].clone().expect("every unique input was collected"))
            .collect()
    }

    async fn collect_one(&self, input: &str, wanted: Option<&Platform>) -> ImageFacts {
        match Reference::parse(input) {
            Ok(reference) => facts::collect_image(&self.client, input, &reference, wanted).await,
            Err(e) => facts::invalid_reference(input, e.to_string(), OffsetDateTime::now_utc()),
        }
    }
}
