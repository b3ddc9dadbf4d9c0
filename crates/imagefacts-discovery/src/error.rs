//! The fatal errors of discovery. Everything that lets the rest go on is a
//! [`DiscoveryError`](imagefacts_model::discovery::DiscoveryError) in the result instead.

use std::path::PathBuf;

/// Why discovery could not produce a result at all.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// A file or directory given to discovery cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The path (`-` for standard input).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The bundle path is neither a directory nor a (gzipped) tar archive.
    #[error("{} is not a support bundle: {reason}", path.display())]
    NotABundle {
        /// The bundle path.
        path: PathBuf,
        /// What is wrong with it, on one line.
        reason: String,
    },

    /// The bundle has no `cluster-resources/` directory.
    #[error(
        "{} is not a support bundle: no cluster-resources/ directory (at its top or under one top directory)",
        path.display()
    )]
    NoClusterResources {
        /// The bundle path.
        path: PathBuf,
    },

    /// The kubeconfig cannot be read or parsed, or names a missing context.
    #[error("cannot load kubeconfig {path}: {reason}")]
    Kubeconfig {
        /// The kubeconfig file (or `$KUBECONFIG` as set).
        path: String,
        /// What is wrong with it, on one line.
        reason: String,
    },

    /// No kubeconfig was found and discovery does not run inside a cluster.
    #[error("no Kubernetes configuration: {reason}")]
    NoClusterConfig {
        /// Why neither a kubeconfig nor the in-cluster configuration could be used, on one line.
        reason: String,
    },

    /// A namespace given to the filter is not a valid namespace name.
    #[error(
        "invalid namespace {namespace:?}: expected a DNS label (lowercase letters, digits and '-')"
    )]
    InvalidNamespace {
        /// The rejected name.
        namespace: String,
    },

    /// The Kubernetes client cannot be built from the configuration (TLS settings, proxy, ...).
    #[error("cannot create a Kubernetes client for {server}")]
    Client {
        /// The API server URL.
        server: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },

    /// The kubeconfig's `exec` credential plugin (EKS `aws eks get-token`, GKE
    /// `gke-gcloud-auth-plugin`, kubelogin, ...) could not be run or failed.
    #[error("the kubeconfig's credential plugin {command} failed: {detail}")]
    ExecPlugin {
        /// The plugin command, as the kubeconfig names it.
        command: String,
        /// What happened (its exit status and the first line it printed on stderr).
        detail: String,
    },

    /// The API server rejected the credentials (401): every other request would fail too.
    #[error("the API server at {server} rejected the credentials ({verb} {resource}): {message}")]
    Unauthorized {
        /// The API server URL.
        server: String,
        /// The verb of the rejected request.
        verb: String,
        /// The resource of the rejected request.
        resource: String,
        /// The server's message.
        message: String,
    },

    /// The API server cannot be reached (connection, TLS or protocol failure).
    #[error("cannot {verb} {resource} from the API server at {server}")]
    Api {
        /// The API server URL.
        server: String,
        /// The verb of the failed request.
        verb: String,
        /// The resource of the failed request.
        resource: String,
        /// The client's error.
        #[source]
        source: Box<kube::Error>,
    },

    /// The blocking task reading files was cancelled (the async runtime is shutting down).
    #[error("discovery was interrupted: the runtime is shutting down")]
    Interrupted,
}

/// An error message folded onto one line (YAML parser errors come with source snippets).
pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}
