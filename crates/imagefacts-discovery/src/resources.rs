//! The namespaced kinds discovery reads, one table for every source and for writing bundles:
//! plural resource name (the API path and the support bundle's directory), kind, API version.

/// A namespaced kind discovery reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadResource {
    /// Plural resource name: the API path segment and the bundle directory (`pods`).
    pub name: &'static str,
    /// Kind of its objects (`Pod`).
    pub kind: &'static str,
    /// API version (`v1`, `apps/v1`, `batch/v1`).
    pub api_version: &'static str,
}

impl WorkloadResource {
    /// The kind of a list of these objects (`PodList`).
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// The API path listing these objects, in `namespace` or across the cluster.
    pub fn api_path(&self, namespace: Option<&str>) -> String {
        let prefix = self.api_prefix();
        match namespace {
            Some(ns) => format!("{prefix}/namespaces/{ns}/{}", self.name),
            None => format!("{prefix}/{}", self.name),
        }
    }

    /// The API path prefix: `/api/v1` for the core group, `/apis/<group>/<version>` otherwise.
    pub fn api_prefix(&self) -> String {
        if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        }
    }
}

const fn res(
    name: &'static str,
    kind: &'static str,
    api_version: &'static str,
) -> WorkloadResource {
    WorkloadResource {
        name,
        kind,
        api_version,
    }
}

/// Every namespaced kind discovery reads, in the order it lists them.
pub const WORKLOAD_RESOURCES: [WorkloadResource; 9] = [
    res("pods", "Pod", "v1"),
    res("deployments", "Deployment", "apps/v1"),
    res("statefulsets", "StatefulSet", "apps/v1"),
    res("daemonsets", "DaemonSet", "apps/v1"),
    res("replicasets", "ReplicaSet", "apps/v1"),
    res("jobs", "Job", "batch/v1"),
    res("cronjobs", "CronJob", "batch/v1"),
    res("replicationcontrollers", "ReplicationController", "v1"),
    res("serviceaccounts", "ServiceAccount", "v1"),
];

/// The resource of objects of `kind`.
pub fn resource_of_kind(kind: &str) -> Option<&'static WorkloadResource> {
    WORKLOAD_RESOURCES.iter().find(|r| r.kind == kind)
}

/// The resource stored under the bundle directory (or API path segment) `name`.
pub fn resource_named(name: &str) -> Option<&'static WorkloadResource> {
    WORKLOAD_RESOURCES.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_and_prefixes() {
        let pods = resource_of_kind("Pod").unwrap();
        assert_eq!(
            (pods.name, pods.api_prefix(), pods.list_kind()),
            ("pods", "/api/v1".into(), "PodList".into())
        );
        assert_eq!(
            resource_named("cronjobs").unwrap().api_prefix(),
            "/apis/batch/v1"
        );
        assert_eq!(resource_of_kind("Service"), None);
    }
}
