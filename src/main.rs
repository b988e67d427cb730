//! The `ferry` binary: a thin shell around `ferry::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    if !matches!(subcommand().as_deref(), Some("run" | "sim")) {
        ferry::process::default_sigpipe();
    }
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The command word (`--config PATH` may come before it).
fn subcommand() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--config" {
            args.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

fn run() -> anyhow::Result<u8> {
    let code = ferry::cli::main_with_args(std::env::args_os())?;
    Ok(code)
}
