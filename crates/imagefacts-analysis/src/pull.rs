//! Why a pod cannot pull its image: each container waiting in `ErrImagePull`,
//! `ImagePullBackOff` or `InvalidImageName`, joined with what the registry told imagefacts and
//! with the pull secrets of the pod's namespace, gets one insight naming the likely cause.

use imagefacts_model::discovery::PullFailure;
use imagefacts_model::facts::{ErrorKind, FactsError, FactsFile, ImageFacts};

use crate::result::{Finding, ObjectRef, Severity};
use crate::{workload_name, workload_of};

/// The likely cause, as the `cause` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    InvalidReference,
    TagNotFound,
    RepositoryNotFound,
    NoPullSecret,
    CredentialsRefused,
    RateLimited,
    Unreachable,
    Tls,
    NoPlatform,
    Blocked,
    RegistryError,
    NotChecked,
    PullableHere,
}

impl Cause {
    fn label(self) -> &'static str {
        match self {
            Cause::InvalidReference => "invalidReference",
            Cause::TagNotFound => "tagNotFound",
            Cause::RepositoryNotFound => "repositoryNotFound",
            Cause::NoPullSecret => "noPullSecret",
            Cause::CredentialsRefused => "credentialsRefused",
            Cause::RateLimited => "rateLimited",
            Cause::Unreachable => "registryUnreachable",
            Cause::Tls => "tls",
            Cause::NoPlatform => "noPlatform",
            Cause::Blocked => "blocked",
            Cause::RegistryError => "registryError",
            Cause::NotChecked => "notChecked",
            Cause::PullableHere => "pullableFromHere",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Cause::InvalidReference => "Image pull failure: invalid image reference",
            Cause::TagNotFound => "Image pull failure: the tag does not exist",
            Cause::RepositoryNotFound => "Image pull failure: the repository does not exist",
            Cause::NoPullSecret => "Image pull failure: no pull secret for the registry",
            Cause::CredentialsRefused => "Image pull failure: credentials refused",
            Cause::RateLimited => "Image pull failure: rate limited",
            Cause::Unreachable => "Image pull failure: registry unreachable",
            Cause::Tls => "Image pull failure: TLS",
            Cause::NoPlatform => "Image pull failure: no image for the node's platform",
            Cause::Blocked => "Image pull failure: blocked by registry configuration",
            Cause::RegistryError => "Image pull failure: the registry failed",
            Cause::NotChecked => "Image pull failure: registry not asked",
            Cause::PullableHere => "Image pull failure: the image pulls from here",
        }
    }
}

/// `https://index.docker.io/v1/` → `docker.io`; `host:5000/path` → `host:5000`.
fn registry_key(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    imagefacts_model::reference::canonical_registry_host(key.split('/').next().unwrap_or(key))
}

/// What the pod's namespace holds for the image's registry.
enum Secrets {
    /// A secret the pod names covers the registry (or its registries are not known).
    Covered(Vec<String>),
    /// The pod names secrets, none for this registry.
    OtherRegistries(Vec<String>),
    /// The pod names none.
    None,
}

fn secrets_for(file: &FactsFile, f: &ImageFacts, namespace: &str) -> Secrets {
    let named: Vec<&str> = f
        .pull_secrets
        .iter()
        .filter(|s| s.namespace == namespace)
        .map(|s| s.name.as_str())
        .collect();
    if named.is_empty() {
        return Secrets::None;
    }
    let registry = registry_key(&f.registry);
    let mut covering = Vec::new();
    let mut known = 0;
    for name in &named {
        let Some(info) = file
            .pull_secrets
            .iter()
            .find(|i| i.namespace == namespace && i.name == *name)
        else {
            covering.push((*name).to_owned());
            continue;
        };
        known += 1;
        if info.registries.iter().any(|r| registry_key(r) == registry) {
            covering.push((*name).to_owned());
        }
    }
    let names = named.iter().map(|n| format!("{namespace}/{n}")).collect();
    if covering.is_empty() && known > 0 {
        Secrets::OtherRegistries(names)
    } else {
        Secrets::Covered(names)
    }
}

/// Whether some node of the image's pods has a platform the image does not offer.
pub(crate) fn lacks_node_platform(f: &ImageFacts) -> bool {
    let offered: Vec<_> = if f.platforms.is_empty() {
        if f.digest.is_none() || f.platform.os.is_empty() {
            return false;
        }
        vec![&f.platform]
    } else {
        f.platforms.iter().map(|p| &p.platform).collect()
    };
    !f.node_platforms.is_empty()
        && f.node_platforms
            .iter()
            .any(|node| !offered.iter().any(|p| p.matches(node)))
}

/// The cause, its one-line explanation, and what to do next.
fn diagnose(file: &FactsFile, f: &ImageFacts, p: &PullFailure) -> (Cause, String, String) {
    let image = f.reference.to_string();
    let ns = p.namespace.as_str();
    let registry = if f.registry.is_empty() {
        "the registry".to_owned()
    } else {
        f.registry.clone()
    };
    let auth_source = f.auth_source.as_deref().unwrap_or("no credential");
    if p.reason == "InvalidImageName" {
        return (
            Cause::InvalidReference,
            format!("the kubelet cannot parse {image:?}: {}.", kubelet(p)),
            "fix the image field of the workload (lower-case repository, valid tag, or @sha256:…)"
                .into(),
        );
    }
    let error = f.error.get();
    match error.map(|e| e.kind) {
        Some(ErrorKind::InvalidReference) => (
            Cause::InvalidReference,
            format!("{image:?} is not a valid image reference: {}.", message(error)),
            "fix the image field of the workload".into(),
        ),
        Some(ErrorKind::NotFound) => {
            let code = error.and_then(|e| e.code.as_deref());
            if code == Some("NAME_UNKNOWN") || (f.tag.is_empty() && code.is_none()) {
                (
                    Cause::RepositoryNotFound,
                    format!("the repository {}/{} does not exist.", f.registry, f.repository),
                    "check the repository name and the registry (a typo, or an image not pushed or mirrored there)".into(),
                )
            } else {
                let nearest = if f.nearest_tags.is_empty() {
                    String::new()
                } else {
                    format!(" Nearest existing tags: {}.", f.nearest_tags.join(", "))
                };
                (
                    Cause::TagNotFound,
                    format!(
                        "the tag {} does not exist in {}/{}.{nearest}",
                        if f.tag.is_empty() { "asked for" } else { f.tag.as_str() },
                        f.registry,
                        f.repository
                    ),
                    "push the tag, or point the workload at an existing tag or digest".into(),
                )
            }
        }
        Some(ErrorKind::Auth) => match secrets_for(file, f, ns) {
            Secrets::None => (
                Cause::NoPullSecret,
                format!(
                    "{registry} refused the pull (as {auth_source}) and the pod names no pull secret in namespace {ns}."
                ),
                format!(
                    "create a docker-registry secret for {registry} in {ns} and add it to the pod's imagePullSecrets or its service account"
                ),
            ),
            Secrets::OtherRegistries(names) => (
                Cause::NoPullSecret,
                format!(
                    "{registry} refused the pull; the pod's pull secrets ({}) hold no credential for {registry}.",
                    names.join(", ")
                ),
                format!("add an entry for {registry} to one of those secrets, or a new secret for it"),
            ),
            Secrets::Covered(names) => (
                Cause::CredentialsRefused,
                format!(
                    "{registry} refused the credential {auth_source} (the pod's secrets: {}): {}.",
                    names.join(", "),
                    message(error)
                ),
                "renew the credential in the pull secret (expired token, wrong password, or no pull permission on this repository)".into(),
            ),
        },
        Some(ErrorKind::RateLimited) => (
            Cause::RateLimited,
            format!("{registry} refused for too many requests: {}.", message(error)),
            "authenticate the pulls (Docker Hub counts anonymous pulls per IP), use a mirror, or wait for the window".into(),
        ),
        Some(ErrorKind::Network | ErrorKind::Timeout) => (
            Cause::Unreachable,
            format!("{registry} could not be reached: {}.", message(error)),
            "check DNS, the proxy and the firewall between the nodes and the registry, or configure a mirror".into(),
        ),
        Some(ErrorKind::Tls) => (
            Cause::Tls,
            format!("TLS with {registry} failed: {}.", message(error)),
            "trust the registry's CA on the nodes (certs.d), or fix its certificate".into(),
        ),
        Some(ErrorKind::NoRunnablePlatform) => (
            Cause::NoPlatform,
            format!("{image} has no image for the node's platform: {}.", message(error)),
            "build and push the image for the nodes' platforms, or schedule the pod on nodes it runs on".into(),
        ),
        Some(ErrorKind::Blocked) => (
            Cause::Blocked,
            format!("{}.", message(error)),
            "change the registries.conf / mirror configuration, or use an allowed registry".into(),
        ),
        Some(ErrorKind::NotCached) => not_checked(&image, p),
        None if f.digest.is_none() && f.platforms.is_empty() => not_checked(&image, p),
        Some(_) => (
            Cause::RegistryError,
            format!("{registry} failed: {}.", message(error)),
            "look at the registry's health; the kubelet's message may say more".into(),
        ),
        None if lacks_node_platform(f) => (
            Cause::NoPlatform,
            format!(
                "{image} offers {} but its nodes run {}.",
                offered(f),
                f.node_platforms
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "build and push the image for the nodes' platforms, or schedule the pod on nodes it runs on".into(),
        ),
        None => {
            let with_pod_secret = auth_source.starts_with("pullSecret:");
            match (auth_source, secrets_for(file, f, ns)) {
                (source, Secrets::None | Secrets::OtherRegistries(_))
                    if source != "anonymous" && !with_pod_secret =>
                {
                    (
                        Cause::NoPullSecret,
                        format!(
                            "{image} pulls with {source}, but the pod has no pull secret for {registry} in namespace {ns}."
                        ),
                        format!(
                            "create a docker-registry secret for {registry} in {ns} and add it to the pod's imagePullSecrets or its service account"
                        ),
                    )
                }
                _ => (
                    Cause::PullableHere,
                    format!(
                        "{image} exists and pulled from here (as {auth_source}); the kubelet said: {}.",
                        kubelet(p)
                    ),
                    "the node's side is at fault: its network or proxy to the registry, its runtime's mirror or credential configuration, or a transient failure (delete the pod to retry)".into(),
                ),
            }
        }
    }
}

fn not_checked(image: &str, p: &PullFailure) -> (Cause, String, String) {
    (
        Cause::NotChecked,
        format!("the registry was not asked about {image} ({}).", kubelet(p)),
        "run `imagefacts collect` with registry access to learn the cause".into(),
    )
}

pub(crate) fn offered(f: &ImageFacts) -> String {
    if f.platforms.is_empty() {
        f.platform.to_string()
    } else {
        f.platforms
            .iter()
            .map(|p| p.platform.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn message(error: Option<&FactsError>) -> String {
    error.map_or_else(String::new, |e| e.message.trim_end_matches('.').to_owned())
}

fn kubelet(p: &PullFailure) -> String {
    if p.message.is_empty() {
        p.reason.clone()
    } else {
        format!("{}: {}", p.reason, p.message.trim_end_matches('.'))
    }
}

/// One finding per failing container.
pub(crate) fn analyze(file: &FactsFile) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &file.image_facts {
        for p in &f.pull_failures {
            let (cause, detail, hint) = diagnose(file, f, p);
            let w = workload_of(f, &p.namespace, &p.pod);
            let mut variables = std::collections::BTreeMap::new();
            variables.insert("pod".into(), format!("{}/{}", p.namespace, p.pod).into());
            variables.insert("container".into(), p.container.clone().into());
            variables.insert("reason".into(), p.reason.clone().into());
            if let Some(e) = f.error.get() {
                variables.insert("registryError".into(), e.kind.as_str().into());
            }
            if let Some(source) = &f.auth_source {
                variables.insert("authSource".into(), source.clone().into());
            }
            if !f.nearest_tags.is_empty() {
                variables.insert("nearestTags".into(), f.nearest_tags.clone().into());
            }
            out.push(Finding {
                analyzer: "pullFailure",
                cause: cause.label(),
                severity: Severity::Error,
                primary: cause.title().to_owned(),
                detail: format!(
                    "Pod {}/{} (container {}{}) cannot pull {}: {detail}",
                    p.namespace,
                    p.pod,
                    p.container,
                    w.filter(|w| !(w.kind == "Pod" && w.name == p.pod))
                        .map(|w| format!(" of {}", workload_name(w)))
                        .unwrap_or_default(),
                    f.reference
                ),
                hint,
                image: f.reference.to_string(),
                workload: w.map(workload_name),
                object: Some(ObjectRef {
                    kind: "Pod".into(),
                    namespace: p.namespace.clone(),
                    name: p.pod.clone(),
                    api_version: "v1".into(),
                }),
                variables,
            });
        }
    }
    out
}
