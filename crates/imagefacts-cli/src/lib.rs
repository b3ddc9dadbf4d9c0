//! The `imagefacts` command line: argument parsing, logging, and the subcommands.
//!
//! Exit status: 0 when every image succeeded, 1 when some image carries an error, 2 on a usage or
//! fatal error. Data goes to stdout (or `-o FILE`); logs go to stderr.

use std::io::Write as _;
use std::process::ExitCode;

use clap::FromArgMatches as _;

mod analyze;
mod args;
mod bundle;
mod credentials;
mod discover;
mod html;
mod human;
mod inspect;
mod merge;
mod output;
mod progress;
mod report;
mod routes;
mod schema;
mod shell;

pub use schema::violations as facts_violations;

pub use args::Cli;

/// Exit status when some images failed.
const EXIT_PARTIAL: u8 = 1;
/// Exit status on a usage or fatal error.
const EXIT_FATAL: u8 = 2;

/// Runs the command line and returns the exit status.
pub fn main() -> ExitCode {
    // Run as `kubectl-imagefacts`, the command is `kubectl imagefacts` in help and errors.
    let name = shell::invoked_name(std::env::args_os().next().as_deref());
    let mut cli = match shell::command(name)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if cli.quiet {
        QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
        quiet_progress(&mut cli.command);
    }
    init_logging(cli.quiet);
    // One thread drives every request (as uv does): the work is waiting on the network, and
    // wakeups handed between threads cost more CPU than the parsing between them. What blocks
    // (bundle reading, a credential helper's first run) goes to the blocking pool.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fatal(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    match runtime.block_on(run(cli)) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(EXIT_PARTIAL),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            fatal(&e)
        }
    }
}

/// How a successful run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded.
    Success,
    /// Output was written but some images carry errors.
    Partial,
}

async fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        args::Command::Inspect(a) => inspect::run(a).await,
        args::Command::List(a) => discover::list(a).await,
        args::Command::Collect(a) => discover::collect(a).await,
        args::Command::Bundle(a) => bundle::run(a).await,
        args::Command::Report(a) => report::run(a),
        args::Command::Analyze(a) => analyze::run(a),
        args::Command::Merge(a) => merge::run(a),
        args::Command::Schema => schema::print_schema(),
        args::Command::Validate { file } => schema::validate(&file),
        args::Command::Completions { shell } => shell::completions(shell),
        args::Command::Man { dir } => shell::man_pages(&dir),
    }
}

/// Set by `-q`: stderr carries errors only.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `-q` was given: `note:`, `warning:` and other informational lines stay unprinted.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// `-q`: no bar and no closing summary line. `--progress json` was asked for by name (a wrapper
/// reads it) and stays.
fn quiet_progress(command: &mut args::Command) {
    let collect = match command {
        args::Command::Inspect(a) => &mut a.collect,
        args::Command::Collect(a) => &mut a.collect,
        args::Command::Bundle(a) => &mut a.collect,
        _ => return,
    };
    if collect.progress == args::ProgressArg::Auto {
        collect.progress = args::ProgressArg::None;
    }
}

/// Logs on stderr: `RUST_LOG` when set; else imagefacts' own warnings and errors (errors only
/// when `quiet`), so a library's log line (kube's `failed with error …`, reqwest's TLS errors)
/// never comes before the one error the user is shown.
fn init_logging(quiet: bool) {
    let default = if quiet {
        "imagefacts=error"
    } else {
        "imagefacts=warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(color)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints `error: ...` with its causes, one per line, and returns the fatal status.
fn fatal(e: &anyhow::Error) -> ExitCode {
    use imagefacts_model::text::printable;
    let mut stderr = std::io::stderr().lock();
    // Errors can quote input (a file name, a reference): control characters are escaped, but
    // a message's own lines (`hint:`) stay lines.
    let shown = |text: String| {
        text.lines()
            .map(|l| printable(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let _ = writeln!(stderr, "error: {}", shown(e.to_string()));
    for cause in e.chain().skip(1) {
        let _ = writeln!(stderr, "  Caused by: {}", shown(cause.to_string()));
    }
    ExitCode::from(EXIT_FATAL)
}
