//! The `imagefacts` binary: parses arguments and maps the outcome to an exit status.

use std::process::ExitCode;

fn main() -> ExitCode {
    imagefacts_cli::main()
}
