//! The live cluster source, through the `kube` client.
//!
//! Namespaces are listed first and filtered; then every workload kind (and service accounts) is
//! listed per selected namespace, page by page (`limit` + `continue`), a few requests at a time,
//! so that a namespace or kind the credentials may not list is visible as its own
//! [`DiscoveryError`] (verb `list`, resource, namespace, status) while the rest goes on. Nodes are
//! optional. Finally the pull secrets the pods name (directly or through their service account)
//! are read, when permitted.

mod secrets;

use std::collections::BTreeSet;
use std::path::PathBuf;

use futures::{StreamExt as _, TryStreamExt as _};
use imagefacts_model::discovery::{DiscoveryError, PullSecretInfo, SecretRef};
use kube::api::{GetParams, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;

pub use secrets::PullSecrets;

use crate::Discovered;
use crate::error::{DiscoverError, one_line};
use crate::extract::{Extractor, KeptObject, ObjectOrigin, SourceKind, sort_errors};
use crate::filter::NamespaceFilter;
use crate::resources::{WORKLOAD_RESOURCES, WorkloadResource};

/// The default number of objects asked for per list request.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// How many API requests are in flight at once.
const CONCURRENT_REQUESTS: usize = 8;

/// Stop following `continue` tokens after this many pages of one list.
const MAX_PAGES: usize = 100_000;

/// How to reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// `--kubeconfig`: this file instead of `$KUBECONFIG` / `~/.kube/config`. With neither a file
    /// nor a context, a missing kubeconfig means the in-cluster configuration (service account).
    pub kubeconfig: Option<PathBuf>,
    /// `--context`: this kubeconfig context instead of the current one.
    pub context: Option<String>,
    /// Objects per list request (`limit`); 0 counts as 1.
    pub page_size: u32,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            kubeconfig: None,
            context: None,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// A kind discovery lists, and where its API lives.
type Resource = WorkloadResource;

const NAMESPACES: Resource = WorkloadResource {
    name: "namespaces",
    kind: "Namespace",
    api_version: "v1",
};
const NODES: Resource = WorkloadResource {
    name: "nodes",
    kind: "Node",
    api_version: "v1",
};

/// Discovers what the cluster runs, in the namespaces `filter` selects, and reads the pull secrets
/// its pods name.
///
/// # Errors
///
/// [`DiscoverError::Kubeconfig`] when the kubeconfig cannot be read or parsed or lacks the
/// context, [`DiscoverError::NoClusterConfig`] without kubeconfig outside a cluster,
/// [`DiscoverError::InvalidNamespace`] for a malformed namespace name,
/// [`DiscoverError::Client`] when no client can be built, [`DiscoverError::Unauthorized`] on a
/// 401, [`DiscoverError::Api`] when the API server cannot be reached. Other API errors (403 on a
/// namespace, kind or secret, 404, ...) are [`DiscoveryError`]s in the result.
pub async fn discover_cluster(
    options: &ClusterOptions,
    filter: &NamespaceFilter,
) -> Result<Discovered, DiscoverError> {
    Ok(
        discover_cluster_with(options, filter, Extractor::new(filter))
            .await?
            .0,
    )
}

/// [`discover_cluster`] feeding `x` (which may keep the objects it reads).
pub(crate) async fn discover_cluster_with(
    options: &ClusterOptions,
    filter: &NamespaceFilter,
    mut x: Extractor,
) -> Result<(Discovered, Vec<KeptObject>), DiscoverError> {
    if let Some(ns) = filter.single()
        && !is_dns_label(ns)
    {
        return Err(DiscoverError::InvalidNamespace {
            namespace: ns.to_owned(),
        });
    }
    let config = load_config(options).await?;
    let server = config.cluster_url.to_string();
    let plugin = config
        .auth_info
        .exec
        .as_ref()
        .and_then(|e| e.command.clone());
    // An exec credential plugin (EKS, GKE, kubelogin) runs while the client is built: on the
    // blocking pool, so the other contexts of a fleet go on meanwhile.
    let built = tokio::task::spawn_blocking(move || Client::try_from(config))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let client = built.map_err(|source| match (plugin, exec_plugin_failure(&source)) {
        (Some(command), Some(detail)) => DiscoverError::ExecPlugin { command, detail },
        _ => DiscoverError::Client {
            server: server.clone(),
            source: Box::new(source),
        },
    })?;
    let api = Api {
        client,
        server,
        page_size: options.page_size.max(1),
    };
    let namespaces = match filter.single() {
        Some(ns) => {
            let origin = origin_for(NAMESPACES, None);
            x.add(&origin, serde_json::json!({"metadata": {"name": ns}}));
            Some(vec![ns.to_owned()])
        }
        None => {
            let listed = api.list(NAMESPACES, None).await?;
            let names = listed.error.is_none().then(|| {
                listed
                    .items
                    .iter()
                    .filter_map(|n| n.pointer("/metadata/name").and_then(Value::as_str))
                    .filter(|n| x.selects(n))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            });
            // Without the namespace list, list each kind across the cluster and filter here.
            listed.feed(&mut x, NAMESPACES, None);
            names
        }
    };

    api.list(NODES, None).await?.feed(&mut x, NODES, None);

    let requests: Vec<(Resource, Option<String>)> = match &namespaces {
        Some(names) => names
            .iter()
            .flat_map(|ns| {
                WORKLOAD_RESOURCES
                    .iter()
                    .map(move |r| (*r, Some(ns.clone())))
            })
            .collect(),
        None => WORKLOAD_RESOURCES.iter().map(|r| (*r, None)).collect(),
    };
    let lists: Vec<(Resource, Option<String>, Listed)> = futures::stream::iter(requests)
        .map(|(resource, ns)| {
            let api = &api;
            async move {
                let listed = api.list(resource, ns.as_deref()).await?;
                Ok::<_, DiscoverError>((resource, ns, listed))
            }
        })
        .buffer_unordered(CONCURRENT_REQUESTS)
        .try_collect()
        .await?;
    for (resource, ns, listed) in lists {
        listed.feed(&mut x, resource, ns.as_deref());
    }
    let (mut discovery, kept) = x.finish_with_objects();

    let wanted: BTreeSet<SecretRef> = discovery
        .images
        .iter()
        .flat_map(|i| i.pull_secrets.iter().cloned())
        .collect();
    let fetched: Vec<(SecretRef, Result<Value, DiscoveryError>)> = futures::stream::iter(wanted)
        .map(|secret| {
            let api = &api;
            async move {
                let got = api.get_secret(&secret).await?;
                Ok::<_, DiscoverError>((secret, got))
            }
        })
        .buffer_unordered(CONCURRENT_REQUESTS)
        .try_collect()
        .await?;
    let mut pull_secrets = PullSecrets::default();
    for (secret, got) in fetched {
        match got.map(|v| secrets::docker_config(&v)) {
            Ok(Ok(config)) => {
                discovery.pull_secrets.push(PullSecretInfo {
                    namespace: secret.namespace.clone(),
                    name: secret.name.clone(),
                    registries: config.registries,
                    cluster: None,
                });
                pull_secrets.insert(secret, config.bytes);
            }
            Ok(Err(why)) => discovery.errors.push(DiscoveryError {
                namespace: Some(secret.namespace.clone()),
                resource: Some("secrets".to_owned()),
                verb: Some("get".to_owned()),
                ..ObjectOrigin::new(SourceKind::Cluster)
                    .error(format!("secret {}: {why}", secret.name))
            }),
            Err(e) => discovery.errors.push(e),
        }
    }
    discovery.pull_secrets.sort();
    sort_errors(&mut discovery.errors);
    Ok((
        Discovered {
            discovery,
            pull_secrets,
            clusters: Vec::new(),
        },
        kept,
    ))
}

fn origin_for(resource: Resource, namespace: Option<&str>) -> ObjectOrigin {
    ObjectOrigin {
        kind: Some(resource.kind.to_owned()),
        namespace: namespace.map(str::to_owned),
        ..ObjectOrigin::new(SourceKind::Cluster)
    }
}

/// The objects of one list (all pages read), and the error that ended it early, if any.
struct Listed {
    items: Vec<Value>,
    error: Option<DiscoveryError>,
}

impl Listed {
    fn feed(self, x: &mut Extractor, resource: Resource, namespace: Option<&str>) {
        let origin = origin_for(resource, namespace);
        for item in self.items {
            x.add(&origin, item);
        }
        if let Some(e) = self.error {
            x.add_error(e);
        }
    }
}

struct Api {
    client: Client,
    server: String,
    page_size: u32,
}

impl Api {
    /// Lists every page of `resource` (in `namespace`, or cluster-wide).
    async fn list(
        &self,
        resource: Resource,
        namespace: Option<&str>,
    ) -> Result<Listed, DiscoverError> {
        let path = resource.api_path(namespace);
        let request = kube::core::Request::new(path);
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = ListParams::default().limit(self.page_size);
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let req = request.list(&params).map_err(|e| {
                self.fatal(
                    "list",
                    resource.name,
                    namespace,
                    kube::Error::BuildRequest(e),
                )
            })?;
            let page = match self.client.request::<Value>(req).await {
                Ok(page) => page,
                Err(e) => {
                    let error = self.recorded(e, "list", resource.name, namespace)?;
                    return Ok(Listed {
                        items,
                        error: Some(error),
                    });
                }
            };
            let Value::Object(mut page) = page else {
                let error = self.error(
                    "list",
                    resource.name,
                    namespace,
                    None,
                    "the response is not a list",
                );
                return Ok(Listed {
                    items,
                    error: Some(error),
                });
            };
            match page.remove("items") {
                Some(Value::Array(page_items)) => items.extend(page_items),
                Some(Value::Null) | None => {}
                Some(_) => {
                    let error = self.error(
                        "list",
                        resource.name,
                        namespace,
                        None,
                        "the response's items are not a list",
                    );
                    return Ok(Listed {
                        items,
                        error: Some(error),
                    });
                }
            }
            let next = page
                .get("metadata")
                .and_then(|m| m.get("continue"))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            if next.is_none() {
                return Ok(Listed { items, error: None });
            }
            if next == token {
                let error = self.error(
                    "list",
                    resource.name,
                    namespace,
                    None,
                    "the server repeated a continue token; the rest of the list was not read",
                );
                return Ok(Listed {
                    items,
                    error: Some(error),
                });
            }
            token = next;
        }
        let error = self.error(
            "list",
            resource.name,
            namespace,
            None,
            "too many pages; the rest of the list was not read",
        );
        Ok(Listed {
            items,
            error: Some(error),
        })
    }

    /// Reads one secret; an API error (403, 404) is recorded.
    async fn get_secret(
        &self,
        secret: &SecretRef,
    ) -> Result<Result<Value, DiscoveryError>, DiscoverError> {
        let ns = Some(secret.namespace.as_str());
        if !is_dns_label(&secret.namespace) || !is_dns_subdomain(&secret.name) {
            return Ok(Err(self.error(
                "get",
                "secrets",
                ns,
                None,
                format!("invalid secret name {:?}", secret.name),
            )));
        }
        let path = format!("/api/v1/namespaces/{}/secrets", secret.namespace);
        let req = kube::core::Request::new(path)
            .get(&secret.name, &GetParams::default())
            .map_err(|e| self.fatal("get", "secrets", ns, kube::Error::BuildRequest(e)))?;
        match self.client.request::<Value>(req).await {
            Ok(v) => Ok(Ok(v)),
            Err(e) => Ok(Err(self.recorded(e, "get", "secrets", ns)?)),
        }
    }

    fn error(
        &self,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        status: Option<u16>,
        message: impl Into<String>,
    ) -> DiscoveryError {
        DiscoveryError {
            namespace: namespace.map(str::to_owned),
            resource: Some(resource.to_owned()),
            verb: Some(verb.to_owned()),
            status,
            ..ObjectOrigin::new(SourceKind::Cluster).error(message)
        }
    }

    fn fatal(
        &self,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        source: kube::Error,
    ) -> DiscoverError {
        DiscoverError::Api {
            server: self.server.clone(),
            verb: verb.to_owned(),
            resource: match namespace {
                Some(ns) => format!("{resource} in namespace {ns}"),
                None => resource.to_owned(),
            },
            source: Box::new(source),
        }
    }

    /// An API error to record (the rest goes on), or a fatal one (401, unreachable server).
    fn recorded(
        &self,
        err: kube::Error,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
    ) -> Result<DiscoveryError, DiscoverError> {
        match err {
            kube::Error::Api(status) if status.code == 401 => Err(DiscoverError::Unauthorized {
                server: self.server.clone(),
                verb: verb.to_owned(),
                resource: resource.to_owned(),
                message: one_line(&status.message),
            }),
            kube::Error::Api(status) => {
                let message = if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                };
                let code = (status.code != 0).then_some(status.code);
                Ok(self.error(verb, resource, namespace, code, one_line(&message)))
            }
            kube::Error::SerdeError(e) => Ok(self.error(
                verb,
                resource,
                namespace,
                None,
                format!("malformed response: {e}"),
            )),
            other => Err(self.fatal(verb, resource, namespace, other)),
        }
    }
}

/// Loads the client configuration as `kubectl` would: `--kubeconfig`, else `$KUBECONFIG`, else
/// `~/.kube/config`, else (without `--context`) the in-cluster service account.
async fn load_config(options: &ClusterOptions) -> Result<Config, DiscoverError> {
    let kco = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = match load_kubeconfig(options.kubeconfig.as_deref())? {
        Some((name, kubeconfig)) => Config::from_custom_kubeconfig(kubeconfig, &kco)
            .await
            .map_err(|e| DiscoverError::Kubeconfig {
                path: name,
                reason: one_line(&e.to_string()),
            })?,
        None if options.context.is_some() => {
            return Err(DiscoverError::NoClusterConfig {
                reason: format!(
                    "context {:?} asked for, but there is no kubeconfig ($KUBECONFIG unset or \
                     empty, no ~/.kube/config)",
                    options.context.as_deref().unwrap_or_default()
                ),
            });
        }
        None => Config::incluster().map_err(|e| DiscoverError::NoClusterConfig {
            reason: format!(
                "no kubeconfig ($KUBECONFIG unset or empty, no ~/.kube/config) and not in a \
                 cluster: {}",
                one_line(&e.to_string())
            ),
        })?,
    };
    config.apply_debug_overrides();
    Ok(config)
}

/// The kubeconfig as kubectl resolves it, and a name for it in errors: `explicit` (`--kubeconfig`)
/// when given; else the files of `$KUBECONFIG` (a `:`-separated list; empty entries and missing
/// files skipped; merged, the first file to set a value winning); else `~/.kube/config` when it
/// exists. `None`: no kubeconfig at all (in-cluster configuration next).
///
/// # Errors
///
/// [`DiscoverError::Kubeconfig`] naming the file that cannot be read or parsed, or
/// [`DiscoverError::NoClusterConfig`] when `$KUBECONFIG` names only missing files.
pub fn load_kubeconfig(
    explicit: Option<&std::path::Path>,
) -> Result<Option<(String, Kubeconfig)>, DiscoverError> {
    let read = |path: &std::path::Path| {
        Kubeconfig::read_from(path).map_err(|e| DiscoverError::Kubeconfig {
            path: path.display().to_string(),
            reason: one_line(&e.to_string()),
        })
    };
    if let Some(path) = explicit {
        return Ok(Some((path.display().to_string(), read(path)?)));
    }
    let listed: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        let name = format!(
            "$KUBECONFIG ({})",
            std::env::join_paths(&listed)
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let mut merged: Option<Kubeconfig> = None;
        for path in listed.iter().filter(|p| p.exists()) {
            let next = read(path)?;
            merged = Some(match merged {
                None => next,
                Some(m) => m.merge(next).map_err(|e| DiscoverError::Kubeconfig {
                    path: path.display().to_string(),
                    reason: one_line(&e.to_string()),
                })?,
            });
        }
        return match merged {
            Some(m) => Ok(Some((name, m))),
            None => Err(DiscoverError::NoClusterConfig {
                reason: format!("none of the files of {name} exists"),
            }),
        };
    }
    let Some(home) = std::env::home_dir() else {
        return Ok(None);
    };
    let path = home.join(".kube").join("config");
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some((path.display().to_string(), read(&path)?)))
}

/// The context names of the kubeconfig [`load_kubeconfig`] resolves, in file order (for
/// `--all-contexts`).
///
/// # Errors
///
/// As [`load_kubeconfig`], and [`DiscoverError::NoClusterConfig`] when there is no kubeconfig.
pub fn kubeconfig_contexts(
    explicit: Option<&std::path::Path>,
) -> Result<Vec<String>, DiscoverError> {
    match load_kubeconfig(explicit)? {
        Some((_, k)) => Ok(k.contexts.into_iter().map(|c| c.name).collect()),
        None => Err(DiscoverError::NoClusterConfig {
            reason: "--all-contexts needs a kubeconfig ($KUBECONFIG unset or empty, no \
                     ~/.kube/config)"
                .to_owned(),
        }),
    }
}

/// What went wrong with the kubeconfig's exec credential plugin, when `e` is about it: one
/// line, with the plugin's own first line of stderr escaped (its whole output is the plugin's to
/// show).
fn exec_plugin_failure(e: &kube::Error) -> Option<String> {
    use kube::client::AuthError;
    let kube::Error::Auth(auth) = e else {
        return None;
    };
    Some(match auth {
        AuthError::AuthExecStart(io) => format!("it cannot be started: {io}"),
        AuthError::AuthExecRun { out, .. } => {
            let said = String::from_utf8_lossy(&out.stderr);
            match said.lines().map(str::trim).find(|l| !l.is_empty()) {
                Some(line) => format!(
                    "it failed ({}): {}",
                    out.status,
                    imagefacts_model::text::printable(line)
                ),
                None => format!("it failed ({})", out.status),
            }
        }
        AuthError::AuthExecParse(_) | AuthError::ExecPluginFailed => {
            "it did not print an ExecCredential with a status".to_owned()
        }
        AuthError::AuthExec(detail) => imagefacts_model::text::printable(detail).into_owned(),
        _ => return None,
    })
}

/// RFC 1123 label: what a namespace name must be.
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: what a secret name must be.
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["default", "kube-system", "a", "ns-1", &"a".repeat(63)] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a/b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_dns_subdomain("regcred.v2"));
        assert!(!is_dns_subdomain("../etc"));
        assert!(!is_dns_subdomain("a..b"));
    }

    #[test]
    fn api_paths() {
        assert_eq!(
            WORKLOAD_RESOURCES[1].api_path(Some("shop")),
            "/apis/apps/v1/namespaces/shop/deployments"
        );
        assert_eq!(WORKLOAD_RESOURCES[0].api_path(None), "/api/v1/pods");
        assert_eq!(NODES.api_path(None), "/api/v1/nodes");
    }
}
