//! The `ferry` binary: a thin shell around `ferry::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<u8> {
    let code = ferry::cli::main_with_args(std::env::args_os())?;
    Ok(code)
}
