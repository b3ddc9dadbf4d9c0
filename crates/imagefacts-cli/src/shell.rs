//! How the command presents itself: its name (`imagefacts`, or `kubectl imagefacts` when run as
//! the kubectl plugin `kubectl-imagefacts`), shell completion scripts and man pages.

use std::ffi::OsStr;
use std::path::Path;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::Outcome;
use crate::args::Cli;

/// The plugin's file name prefix: kubectl runs `kubectl-NAME` for `kubectl NAME`.
const KUBECTL_PLUGIN_PREFIX: &str = "kubectl-";

/// The name the command goes by, from the file name it was started as (`argv[0]`):
/// `kubectl imagefacts` for `kubectl-imagefacts` (how kubectl runs a plugin), else `imagefacts`.
pub(crate) fn invoked_name(argv0: Option<&OsStr>) -> &'static str {
    let stem = argv0
        .and_then(|a| Path::new(a).file_stem())
        .and_then(OsStr::to_str)
        .unwrap_or_default();
    if stem.starts_with(KUBECTL_PLUGIN_PREFIX) {
        "kubectl imagefacts"
    } else {
        "imagefacts"
    }
}

/// The clap command as `name` calls it: help, usage and errors name it so.
pub(crate) fn command(name: &'static str) -> clap::Command {
    Cli::command().bin_name(name)
}

/// `imagefacts completions SHELL`: the script on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "imagefacts", &mut out);
    crate::output::write_output(None, &out)?;
    Ok(Outcome::Success)
}

/// `imagefacts man DIR`: one page per command, `imagefacts.1` and `imagefacts-<command>.1`.
pub(crate) fn man_pages(dir: &Path) -> anyhow::Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_named_as_kubectl_calls_it() {
        let name = |s: &str| invoked_name(Some(OsStr::new(s)));
        assert_eq!(
            name("/usr/local/bin/kubectl-imagefacts"),
            "kubectl imagefacts"
        );
        assert_eq!(name("kubectl-imagefacts.exe"), "kubectl imagefacts");
        assert_eq!(name("/usr/bin/imagefacts"), "imagefacts");
        assert_eq!(invoked_name(None), "imagefacts");
    }
}
