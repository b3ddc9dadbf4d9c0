//! The README's main-job demo: starts a local registry on 127.0.0.1, pushes the example images and
//! runs `imagefacts inspect` on them, printing facts.json to stdout.
//!
//! Usage: `imagefacts-demo --imagefacts PATH [extra imagefacts flags...]`

use std::process::{Command, ExitCode};

use anyhow::Context as _;
use imagefacts_testkit::{Registry, RegistryKind, push_fixtures};

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
    let mut extra = Vec::new();
    while let Some(a) = args.next() {
        if a == "--imagefacts" {
            imagefacts = args.next();
        } else {
            extra.push(a);
        }
    }
    let imagefacts = imagefacts.context("--imagefacts PATH is required")?;

    eprintln!("demo: starting a local registry (docker-registry) on 127.0.0.1 ...");
    let registry = Registry::start(RegistryKind::Plain)?;
    eprintln!(
        "demo: pushing example images to {} with skopeo ...",
        registry.host()
    );
    let fx = push_fixtures(&registry)?;
    let refs: Vec<String> = [&fx.single, &fx.multi_oci, &fx.single_v2s2, &fx.multi_v2s2]
        .iter()
        .map(|r| format!("{}/{r}", registry.host()))
        .collect();
    eprintln!("demo: imagefacts inspect {}", refs.join(" "));
    let status = Command::new(&imagefacts)
        .arg("inspect")
        .arg("--no-cache")
        .args(registry.imagefacts_args())
        .args(&extra)
        .args(&refs)
        .status()
        .with_context(|| format!("cannot run {imagefacts}"))?;
    let log = registry.access_log();
    eprintln!(
        "demo: imagefacts made {} registry requests for {} images",
        log.iter()
            .filter(|e| e.user_agent.starts_with("imagefacts/"))
            .count(),
        refs.len()
    );
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(2)),
        None => ExitCode::from(2),
    })
}
