//! The credential files docker and podman read without being told: the docker config
//! (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) and the containers auth file
//! (`$REGISTRY_AUTH_FILE` alone when set, else `$XDG_RUNTIME_DIR/containers/auth.json` and
//! `$XDG_CONFIG_HOME/containers/auth.json` or `~/.config/containers/auth.json`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::docker_config::{AuthfileError, DockerConfig};
use super::helper::HelperRunner;
use super::{AuthSource, CredentialSource};

/// The environment default files are found from: a value, so tests never touch the process's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `$DOCKER_CONFIG`.
    pub docker_config: Option<PathBuf>,
    /// `$HOME`.
    pub home: Option<PathBuf>,
    /// `$REGISTRY_AUTH_FILE`.
    pub registry_auth_file: Option<PathBuf>,
    /// `$XDG_RUNTIME_DIR`.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
}

impl Environment {
    /// This process's environment (a variable set but empty counts as unset, as shells leave
    /// them).
    pub fn from_process() -> Environment {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Environment {
            docker_config: var("DOCKER_CONFIG"),
            home: var("HOME"),
            registry_auth_file: var("REGISTRY_AUTH_FILE"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
        }
    }
}

/// The default credential files that exist, in the order they are asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultFiles {
    /// The docker config, when it exists.
    pub docker_config: Option<PathBuf>,
    /// The containers auth files that exist.
    pub containers_auth: Vec<PathBuf>,
}

impl DefaultFiles {
    /// The files of `env` that exist.
    pub fn find(env: &Environment) -> DefaultFiles {
        let docker_config = env
            .docker_config
            .as_ref()
            .map(|d| d.join("config.json"))
            .or_else(|| env.home.as_ref().map(|h| h.join(".docker/config.json")))
            .filter(|p| p.is_file());
        let containers_auth = match &env.registry_auth_file {
            Some(file) => vec![file.clone()],
            None => {
                let config_home = env
                    .xdg_config_home
                    .clone()
                    .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
                [
                    env.xdg_runtime_dir
                        .as_ref()
                        .map(|d| d.join("containers/auth.json")),
                    config_home.map(|d| d.join("containers/auth.json")),
                ]
                .into_iter()
                .flatten()
                .collect()
            }
        };
        let mut containers_auth: Vec<PathBuf> = containers_auth
            .into_iter()
            .filter(|p| p.is_file())
            .collect();
        containers_auth.dedup();
        DefaultFiles {
            docker_config,
            containers_auth,
        }
    }

    /// Every file, in order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.docker_config
            .iter()
            .chain(&self.containers_auth)
            .map(PathBuf::as_path)
    }
}

/// The credential sources of the default files of `env`, in order, their helpers run by
/// `runner`. A file that does not exist is skipped.
///
/// # Errors
///
/// [`AuthfileError`] when a file exists but cannot be read or is not a docker config; the
/// message names it.
pub fn default_sources(
    env: &Environment,
    runner: &Arc<HelperRunner>,
) -> Result<Vec<Arc<dyn CredentialSource>>, AuthfileError> {
    let files = DefaultFiles::find(env);
    let mut sources: Vec<Arc<dyn CredentialSource>> = Vec::new();
    if let Some(path) = &files.docker_config {
        sources.push(Arc::new(
            DockerConfig::load(path)?.with_helpers(runner.clone()),
        ));
    }
    for path in &files.containers_auth {
        sources.push(Arc::new(
            DockerConfig::load(path)?
                .with_source(AuthSource::new("containersAuth", path.display()))
                .with_helpers(runner.clone()),
        ));
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::CredentialChain;

    fn write(path: &Path, user: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            path,
            format!(r#"{{"auths":{{"r":{{"username":"{user}","password":"p"}}}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn files_are_found_where_docker_and_podman_look() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let run = dir.path().join("run");
        let env = Environment {
            home: Some(home.clone()),
            xdg_runtime_dir: Some(run.clone()),
            ..Environment::default()
        };
        assert_eq!(DefaultFiles::find(&env), DefaultFiles::default());
        write(&home.join(".docker/config.json"), "docker");
        write(&run.join("containers/auth.json"), "runtime");
        write(&home.join(".config/containers/auth.json"), "config");
        let found = DefaultFiles::find(&env);
        assert_eq!(found.paths().count(), 3);
        let runner = Arc::new(HelperRunner::default());
        let chain = CredentialChain::new(default_sources(&env, &runner).unwrap());
        let sources: Vec<String> = chain
            .candidates("r", "x")
            .into_iter()
            .map(|c| c.unwrap().source.to_string())
            .collect();
        assert_eq!(
            sources,
            [
                format!(
                    "dockerConfig:{}",
                    home.join(".docker/config.json").display()
                ),
                format!(
                    "containersAuth:{}",
                    run.join("containers/auth.json").display()
                ),
                format!(
                    "containersAuth:{}",
                    home.join(".config/containers/auth.json").display()
                ),
            ]
        );
        // DOCKER_CONFIG moves the docker config; REGISTRY_AUTH_FILE replaces the others.
        let elsewhere = dir.path().join("dc");
        write(&elsewhere.join("config.json"), "moved");
        let auth_file = dir.path().join("auth.json");
        write(&auth_file, "explicit");
        let env = Environment {
            docker_config: Some(elsewhere.clone()),
            registry_auth_file: Some(auth_file.clone()),
            ..env
        };
        let found = DefaultFiles::find(&env);
        assert_eq!(found.docker_config, Some(elsewhere.join("config.json")));
        assert_eq!(found.containers_auth, [auth_file]);
        // A malformed file is an error naming it.
        std::fs::write(elsewhere.join("config.json"), "{not json").unwrap();
        let err = default_sources(&env, &runner).unwrap_err().to_string();
        assert!(
            err.contains("dc/config.json") && err.contains("line 1"),
            "{err}"
        );
    }
}
