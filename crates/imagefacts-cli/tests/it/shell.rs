//! Issue 14: completion scripts, man pages, and the binary run as the kubectl plugin
//! `kubectl-imagefacts`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::{shop_cluster, write_kubeconfig};

/// What a run printed: (status, stdout, stderr).
fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .env_remove("RUST_LOG")
        .output()
        .expect("the command runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn completion_script(shell: &str) -> String {
    let (status, script, stderr) =
        run(Command::new(env!("CARGO_BIN_EXE_imagefacts")).args(["completions", shell]));
    assert_eq!(status, 0, "{stderr}");
    script
}

#[test]
fn bash_completion_script_completes_a_subcommand_in_bash() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("imagefacts.bash");
    std::fs::write(&script, completion_script("bash")).unwrap();
    // Sourced and called as bash's programmable completion would: `imagefacts li<TAB>`, then
    // `imagefacts list --man<TAB>`.
    let probe = format!(
        r#"source {script}
complete_words() {{
  COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}}
  COMPREPLY=()
  _imagefacts imagefacts "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
  printf '%s\n' "${{COMPREPLY[@]}}"
}}
complete_words imagefacts li
echo ---
complete_words imagefacts list --man
echo ---
complete -p imagefacts
"#,
        script = script.display()
    );
    let (status, out, stderr) = run(Command::new("bash").arg("-c").arg(probe));
    assert_eq!(status, 0, "{stderr}");
    let parts: Vec<&str> = out.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{out}");
    assert_eq!(
        parts[0].trim(),
        "list",
        "`imagefacts li` completes to `list`"
    );
    assert_eq!(parts[1].trim(), "--manifests");
    assert!(parts[2].contains("-F _imagefacts"), "{}", parts[2]);
}

#[test]
fn zsh_fish_and_powershell_scripts_name_every_subcommand() {
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let script = completion_script(shell);
        for sub in [
            "inspect", "list", "collect", "bundle", "report", "analyze", "merge", "schema",
            "validate",
        ] {
            assert!(script.contains(sub), "{shell} script lacks {sub}");
        }
    }
    assert!(completion_script("zsh").starts_with("#compdef imagefacts"));
}

#[test]
fn man_writes_a_page_per_command_that_man_renders() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let (status, _, stderr) = run(Command::new(env!("CARGO_BIN_EXE_imagefacts"))
        .arg("man")
        .arg(&pages));
    assert_eq!(status, 0, "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "imagefacts-analyze.1",
            "imagefacts-bundle.1",
            "imagefacts-collect.1",
            "imagefacts-completions.1",
            "imagefacts-inspect.1",
            "imagefacts-list.1",
            "imagefacts-man.1",
            "imagefacts-merge.1",
            "imagefacts-report.1",
            "imagefacts-schema.1",
            "imagefacts-validate.1",
            "imagefacts.1",
        ]
    );
    let list = std::fs::read_to_string(pages.join("imagefacts-list.1")).unwrap();
    assert!(
        list.starts_with(".ie \\n(.g .ds Aq"),
        "roff: {}",
        &list[..40]
    );
    assert!(list.contains(".TH imagefacts-list 1"), "{list}");
    assert!(list.contains("manifests"), "the options are there");
    // groff (man's own formatter, Debian's groff-base, installed by scripts/install-deps)
    // renders it.
    let (status, text, stderr) = run(Command::new("groff")
        .args(["-man", "-Tascii", "-P", "-bcou"])
        .arg(pages.join("imagefacts-list.1")));
    assert_eq!(status, 0, "{stderr}");
    assert!(text.contains("-A, --all-namespaces"), "{text}");
}

/// `dir/kubectl-imagefacts`, a link to the binary, as a plugin is installed.
fn plugin_link(dir: &Path) -> PathBuf {
    let link = dir.join("kubectl-imagefacts");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_imagefacts"), &link).unwrap();
    link
}

/// The plugin's environment: `dir` first on PATH (where kubectl finds plugins), a home of its own.
fn plugin_env(cmd: &mut Command, dir: &Path) {
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", dir.display()))
        .env("HOME", dir.join("home"))
        .env_remove("KUBECONFIG");
}

#[test]
fn the_binary_linked_as_kubectl_imagefacts_names_itself_so_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let link = plugin_link(dir.path());
    let (status, help, _) = run(Command::new(&link).arg("--help"));
    assert_eq!(status, 0);
    assert!(
        help.contains("Usage: kubectl imagefacts [OPTIONS] <COMMAND>"),
        "{help}"
    );
    let (status, _, err) = run(Command::new(&link).args(["list", "--no-such-flag"]));
    assert_eq!(status, 2);
    assert!(
        err.contains("Usage: kubectl imagefacts list [OPTIONS]"),
        "{err}"
    );
    // Run as `imagefacts`, it is still `imagefacts`.
    let (_, help, _) = run(Command::new(env!("CARGO_BIN_EXE_imagefacts")).arg("--help"));
    assert!(
        help.contains("Usage: imagefacts [OPTIONS] <COMMAND>"),
        "{help}"
    );

    let manifests = dir.path().join("pod.yaml");
    std::fs::write(
        &manifests,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop}\n\
         spec:\n  containers: [{name: c, image: \"nginx:1.25\"}]\n",
    )
    .unwrap();
    let (status, table, err) = run(Command::new(&link)
        .arg("list")
        .arg("--manifests")
        .arg(&manifests));
    assert_eq!(status, 0, "{err}");
    assert!(
        table.contains("docker.io/library/nginx:1.25   1           shop"),
        "{table}"
    );
}

/// The pod of the recorded cluster: `shop/web-1` running `image`.
fn shop_pod(image: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": image}], "nodeName": "n1"},
        "status": {"phase": "Running"}})
}

#[test]
fn kubectl_imagefacts_lists_a_live_cluster_with_kubectls_flags() {
    let api = shop_cluster(shop_pod("nginx:1.25"), json!({}), None);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(dir.path(), &api.url());
    let link = plugin_link(dir.path());
    let list_args = |extra: &[&str]| {
        let mut a = vec![
            "list",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "-o",
            "json",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let check = |(status, out, err): (i32, String, String), what: &str| {
        assert_eq!(status, 0, "{what}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let images = v["images"].as_array().unwrap();
        assert_eq!(images.len(), 1, "{what}: {out}");
        assert_eq!(images[0]["reference"], "docker.io/library/nginx:1.25");
        assert_eq!(v["namespaces"], json!(["shop"]), "{what}");
    };
    for extra in [&[][..], &["-n", "shop"], &["-A"], &["--context", "c"]] {
        let mut cmd = Command::new(&link);
        plugin_env(&mut cmd, dir.path());
        check(
            run(cmd.args(list_args(extra))),
            &format!("the link {extra:?}"),
        );
    }
    // Through kubectl itself, which finds the plugin on PATH, when kubectl is installed.
    let kubectl = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file());
    let Some(kubectl) = kubectl else {
        eprintln!("kubectl is not installed: the plugin was run through its link only");
        return;
    };
    for extra in [&["-n", "shop"][..], &["--context", "c", "-A"]] {
        let mut cmd = Command::new(&kubectl);
        plugin_env(&mut cmd, dir.path());
        cmd.arg("imagefacts").args(list_args(extra));
        check(run(&mut cmd), &format!("kubectl imagefacts {extra:?}"));
    }
    // A context the kubeconfig lacks is an error naming the plugin's flag.
    let mut cmd = Command::new(&link);
    plugin_env(&mut cmd, dir.path());
    let (status, _, err) = run(cmd.args(list_args(&["--context", "nope"])));
    assert_eq!(status, 2, "{err}");
    assert!(err.contains("nope"), "{err}");
}
