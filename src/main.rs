//! The `ferry` binary: a thin shell around `ferry::cli`.

use std::process::ExitCode;

fn main() -> ExitCode {
    cap_malloc_arenas();
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

/// glibc gives each thread that allocates its own arena (up to 8 per core), and each keeps
/// freed memory. With sled's, tokio's and actix's threads that is several megabytes of resident
/// memory that a long-running service does not need; two arenas cost no measurable speed here.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn cap_malloc_arenas() {
    // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn cap_malloc_arenas() {}
