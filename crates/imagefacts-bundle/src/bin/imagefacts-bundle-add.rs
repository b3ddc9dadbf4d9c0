//! `imagefacts-bundle-add`: a test and maintenance tool that adds files to a support bundle with
//! [`imagefacts_bundle::add_to_bundle`] (the crate's crash tests kill it mid-write).
//!
//! ```text
//! imagefacts-bundle-add [--force] [-o OUTPUT] INPUT DEST=SOURCE...
//! ```
//!
//! `DEST` is the path below the bundle's top directory (`image-facts/facts.json`), `SOURCE` a
//! local file. Without `-o` the bundle is replaced in place. Prints what was done; exit status 0
//! on success, 2 on error.

use std::path::PathBuf;
use std::process::ExitCode;

use imagefacts_bundle::{BundleFile, add_to_bundle};

const USAGE: &str = "usage: imagefacts-bundle-add [--force] [-o OUTPUT] INPUT DEST=SOURCE...";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("imagefacts-bundle-add: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args_os().skip(1);
    let mut force = false;
    let mut output: Option<PathBuf> = None;
    let mut input: Option<PathBuf> = None;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--force") => force = true,
            Some("-o") | Some("--output") => {
                output = Some(args.next().ok_or(USAGE)?.into());
            }
            Some("-h") | Some("--help") => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if input.is_none() => input = Some(arg.into()),
            Some(spec) => {
                let (dest, source) = spec.split_once('=').ok_or(USAGE)?;
                let bytes =
                    std::fs::read(source).map_err(|e| format!("cannot read {source}: {e}"))?;
                files.push(BundleFile::new(dest, bytes));
            }
            None => return Err(USAGE.into()),
        }
    }
    let input = input.ok_or(USAGE)?;
    let report = add_to_bundle(&input, output.as_deref(), &files, force).map_err(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(&format!("\n  caused by: {s}"));
            source = s.source();
        }
        message
    })?;
    println!("output: {}", report.output.display());
    println!("in place: {}", report.in_place);
    println!("top directory: {}", report.top_dir);
    println!("entries preserved: {}", report.preserved_entries);
    println!("entries replaced: {}", report.replaced.len());
    for added in &report.added {
        println!("added: {added}");
    }
    Ok(())
}
