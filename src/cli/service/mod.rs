//! `ferry service install|uninstall|start|stop|status`: ferry as a Windows service, and on other
//! systems what to do instead (`ferry service systemd-unit` prints a ready unit).
//!
//! The platform code lives in `windows.rs` (the service manager, and the service's own entry
//! point `ferry service run`, which the service manager starts) and `other.rs`. What both need,
//! and what can be tested anywhere, is here: the names, the command line the service is
//! registered with, the exit codes a service stops with, and where a failed start is written.

mod cmdline;
#[cfg(not(windows))]
mod other;
#[cfg(windows)]
mod serve;
mod unit;
#[cfg(windows)]
mod windows;

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

pub use cmdline::{config_in_command_line, split_command_line};
pub use unit::systemd_unit;

use super::CliError;

/// The service name `install` and the other commands use when `--name` is not given.
pub const DEFAULT_NAME: &str = "ferry";

/// The file a service that could not load its config writes why into: in the config's log dir
/// when the config can be read that far, else beside ferry.exe.
pub const START_ERRORS_FILE: &str = "ferry-service-errors.log";

#[derive(Debug, Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    pub action: ServiceAction,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Register ferry as a Windows service that starts with Windows, with this --config
    /// (administrator rights needed).
    Install(NameArg),
    /// Stop the Windows service and remove it (administrator rights needed).
    Uninstall(NameArg),
    /// Start the Windows service.
    Start(NameArg),
    /// Stop the Windows service (it finishes the batch in hand first).
    Stop(NameArg),
    /// Whether the Windows service runs, in plain words.
    Status(NameArg),
    /// Print a systemd unit that runs `ferry run` with this --config (Linux).
    SystemdUnit(NameArg),
    /// The service's entry point: what the Windows service manager starts.
    #[command(hide = true)]
    Run(NameArg),
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Service name; give each ferry service (each config) its own.
    #[arg(long, default_value = DEFAULT_NAME, value_parser = parse_name)]
    pub name: String,
}

/// Service names: what Windows accepts (at most 256 characters, no slashes) and what is easy to
/// type in a console (letters, digits, `-`, `_`, `.`).
pub fn parse_name(name: &str) -> Result<String, String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.is_empty() || name.len() > 80 || !name.chars().all(ok_char) {
        return Err(format!(
            "`{name}` is not a service name: use 1 to 80 letters, digits, `-`, `_` or `.`"
        ));
    }
    Ok(name.to_string())
}

pub fn service(config: &Path, args: ServiceArgs) -> Result<u8, CliError> {
    match args.action {
        ServiceAction::SystemdUnit(n) => {
            let config = absolute_config(config)?;
            let exe = std::env::current_exe()?;
            print!("{}", systemd_unit(&exe, &config, &n.name));
            Ok(0)
        }
        #[cfg(windows)]
        action => windows::act(config, action),
        #[cfg(not(windows))]
        action => other::act(config, action),
    }
}

/// The config file as an absolute path (a service starts in C:\Windows\System32, a unit in /),
/// after checking that it is there.
pub fn absolute_config(config: &Path) -> Result<PathBuf, CliError> {
    let abs = std::path::absolute(config)?;
    if !abs.is_file() {
        return Err(CliError::Service(format!(
            "config file {} not found; give its path with --config PATH",
            abs.display()
        )));
    }
    // On Windows `absolute` has already folded `..` (GetFullPathNameW), and `canonicalize`
    // would give a `\\?\` path; elsewhere `..` is resolved here.
    #[cfg(not(windows))]
    let abs = abs.canonicalize()?;
    Ok(abs)
}

/// The arguments the service manager starts ferry.exe with.
pub fn launch_arguments(config: &Path, name: &str) -> Vec<OsString> {
    vec![
        "--config".into(),
        config.as_os_str().to_owned(),
        "service".into(),
        "run".into(),
        "--name".into(),
        name.into(),
    ]
}

/// What services.msc shows in its Name column.
pub fn display_name(name: &str) -> String {
    let base = "ferry 聚水潭→金蝶云星空 单据同步 (Jushuitan → Kingdee sync)";
    if name == DEFAULT_NAME {
        base.to_string()
    } else {
        format!("{base} [{name}]")
    }
}

/// What services.msc shows as the description.
pub fn description(config: &Path) -> String {
    format!(
        "把聚水潭单据准确一次地保存到金蝶云星空。Moves Jushuitan documents into Kingdee K/3 Cloud \
         exactly once. 配置 / config: {}",
        config.display()
    )
}

/// Why a service stopped by itself: its service-specific exit code, shown by
/// `ferry service status` and in the Windows event log ("terminated with service-specific
/// error N"). A service stopped on request exits with 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The config could not be read or has mistakes (or a `${VAR}` the service cannot see).
    Config = 1,
    /// ferry could not start: the store is taken or unreadable, the simulators failed.
    Start = 2,
    /// The pipeline stopped with an error while running.
    Pipeline = 3,
}

impl Failure {
    /// [`Failure::Config`]'s code, for matching an exit code read back from Windows.
    pub const CONFIG_CODE: u32 = Failure::Config as u32;

    pub fn of(e: &CliError) -> Failure {
        match e {
            CliError::Config(_) => Failure::Config,
            CliError::Pipeline(_) => Failure::Pipeline,
            _ => Failure::Start,
        }
    }

    pub fn code(self) -> u32 {
        self as u32
    }

    /// A service-specific exit code in plain words.
    pub fn describe(code: u32) -> String {
        match code {
            1 => format!("ferry error 1: the config could not be loaded (see {START_ERRORS_FILE})"),
            2 => "ferry error 2: ferry could not start (see the log)".to_string(),
            3 => "ferry error 3: ferry stopped with an error while running (see the log)".into(),
            n => format!("ferry error {n}"),
        }
    }
}

/// Where a service that could not load its config writes why: the config's log dir when the
/// config can be read that far (a missing `${VAR}` does not stop that), else `fallback_dir`
/// (beside ferry.exe).
pub fn start_errors_dir(config: &Path, fallback_dir: &Path) -> PathBuf {
    match crate::config::load_without_secrets(config) {
        Ok(c) => c.log.dir,
        Err(_) => fallback_dir.to_path_buf(),
    }
}

/// Appends a dated `message` to [`START_ERRORS_FILE`] in [`start_errors_dir`] (or in
/// `fallback_dir` when that cannot be written); returns the file written.
pub fn write_start_error(
    config: &Path,
    fallback_dir: &Path,
    message: &str,
) -> std::io::Result<PathBuf> {
    let line = format!(
        "{} +08:00 ERROR {}\n",
        crate::time::format_beijing(crate::time::now_unix()),
        message.trim_end()
    );
    let append = |dir: &Path| -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(START_ERRORS_FILE);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        f.write_all(line.as_bytes())?;
        Ok(path)
    };
    append(&start_errors_dir(config, fallback_dir)).or_else(|_| append(fallback_dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(parse_name("ferry-2").as_deref(), Ok("ferry-2"));
        for bad in ["", "a b", "a/b", r"a\b", "名字", &"x".repeat(81)] {
            assert!(parse_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn failures_have_codes_and_words() {
        let e = CliError::Config(crate::config::ConfigErrors(vec![]));
        assert_eq!(Failure::of(&e).code(), 1);
        assert_eq!(Failure::of(&CliError::Sim("x".into())).code(), 2);
        assert!(Failure::describe(1).contains("config"));
        assert!(Failure::describe(3).contains("while running"));
        assert_eq!(Failure::describe(9), "ferry error 9");
    }

    #[test]
    fn launch_arguments_name_config_and_service() {
        let args = launch_arguments(Path::new("/srv/my ferry/config.toml"), "f2");
        let args: Vec<_> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--config",
                "/srv/my ferry/config.toml",
                "service",
                "run",
                "--name",
                "f2"
            ]
        );
        assert!(display_name("f2").ends_with("[f2]"));
        assert!(display_name(DEFAULT_NAME).contains("聚水潭"));
    }

    #[test]
    fn a_start_error_goes_to_the_log_dir_or_beside_the_exe() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe_dir = dir.path().join("bin");
        // Readable config with an unset secret: the log dir from the config.
        let config = dir.path().join("conf").join("config.toml");
        std::fs::create_dir_all(config.parent().expect("parent")).expect("mkdir");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
        let text = std::fs::read_to_string(shipped).expect("shipped config");
        let text = text.replace("dir = \"data/logs\"", "dir = \"my-logs\"");
        std::fs::write(&config, text).expect("write config");
        let written = write_start_error(&config, &exe_dir, "first\n").expect("written");
        assert_eq!(
            written,
            dir.path().join("conf/my-logs").join(START_ERRORS_FILE)
        );
        write_start_error(&config, &exe_dir, "second").expect("written");
        let log = std::fs::read_to_string(&written).expect("read");
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        assert!(lines[0].ends_with("+08:00 ERROR first"), "{log}");
        assert!(lines[1].ends_with("ERROR second"), "{log}");
        // Unreadable config: beside the exe.
        let missing = dir.path().join("nowhere.toml");
        let written = write_start_error(&missing, &exe_dir, "third").expect("written");
        assert_eq!(written, exe_dir.join(START_ERRORS_FILE));
    }
}
