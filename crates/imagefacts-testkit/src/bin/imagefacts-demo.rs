//! The README's main job on an embedded default: starts a local registry on 127.0.0.1, pushes the
//! example images, writes the example support bundle (a small cluster running them), adds image
//! facts to it with `imagefacts bundle --add-to`, and prints `imagefacts report` of the result.
//!
//! Usage: `imagefacts-demo --imagefacts PATH [--out DIR]`

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::Context as _;
use imagefacts_testkit::{
    EXAMPLE_BUNDLE, Registry, RegistryKind, push_fixtures, write_example_bundle,
};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imagefacts-demo: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let mut imagefacts = None;
    let mut out = PathBuf::from("target/demo");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--imagefacts" => imagefacts = args.next(),
            "--out" => out = args.next().context("--out DIR")?.into(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let imagefacts = imagefacts.context("--imagefacts PATH is required")?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    eprintln!("demo: starting a local registry (docker-registry) on 127.0.0.1 ...");
    let registry = Registry::start(RegistryKind::Plain)?;
    eprintln!(
        "demo: pushing example images to {} with skopeo ...",
        registry.host()
    );
    let fx = push_fixtures(&registry)?;
    let bundle = write_example_bundle(&out, &registry, &fx)?;
    let with_facts = out.join(format!("{EXAMPLE_BUNDLE}-with-image-facts.tar.gz"));
    let _ = std::fs::remove_file(&with_facts);
    eprintln!("demo: example support bundle {}", bundle.display());
    eprintln!(
        "demo: imagefacts bundle --add-to {} -o {}",
        bundle.display(),
        with_facts.display()
    );
    registry.clear_access_log();
    let status = Command::new(&imagefacts)
        .args(["bundle", "--no-cache", "--progress", "none", "--add-to"])
        .arg(&bundle)
        .arg("-o")
        .arg(&with_facts)
        .args(registry.imagefacts_args())
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run {imagefacts}"))?;
    let requests = registry
        .access_log()
        .iter()
        .filter(|e| e.user_agent.starts_with("imagefacts/"))
        .count();
    eprintln!(
        "demo: {requests} registry requests; imagefacts exited {} (1: some image carries an \
         error; fixtures/missing:2.0 is missing on purpose)\n",
        status
            .code()
            .map_or_else(|| "by a signal".to_owned(), |c| c.to_string())
    );
    let report = Command::new(&imagefacts)
        .arg("report")
        .arg(&with_facts)
        .status()
        .with_context(|| format!("cannot run {imagefacts}"))?;
    let page = out.join("report.html");
    let html = Command::new(&imagefacts)
        .args(["report", "--html", "-o"])
        .arg(&page)
        .arg(&with_facts)
        .status()
        .with_context(|| format!("cannot run {imagefacts}"))?;
    eprintln!(
        "\ndemo: the bundle with image facts is {}\ndemo: its page (image-facts/report.html \
         inside it, also written here) is {}",
        with_facts.display(),
        page.display()
    );
    Ok(match (status.code(), report.success() && html.success()) {
        (Some(0 | 1), true) => ExitCode::SUCCESS,
        _ => ExitCode::from(2),
    })
}
