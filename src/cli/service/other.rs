//! `ferry service ...` on systems other than Windows: the Windows service manager is not there,
//! so say what to do instead (a systemd unit) and end with a non-zero exit code.

use std::path::Path;

use super::ServiceAction;
use crate::cli::CliError;

pub fn act(config: &Path, action: ServiceAction) -> Result<u8, CliError> {
    let (word, name) = match &action {
        ServiceAction::Install(n) => ("install", &n.name),
        ServiceAction::Uninstall(n) => ("uninstall", &n.name),
        ServiceAction::Start(n) => ("start", &n.name),
        ServiceAction::Stop(n) => ("stop", &n.name),
        ServiceAction::Status(n) => ("status", &n.name),
        ServiceAction::Run(n) => ("run", &n.name),
        // Handled by the caller on every system.
        ServiceAction::SystemdUnit(_) => return Ok(0),
    };
    let config = super::absolute_config(config)
        .or_else(|_| std::path::absolute(config))
        .unwrap_or_else(|_| config.to_path_buf());
    let config = sh_quote(&config.to_string_lossy());
    let exe = std::env::current_exe()
        .map(|e| sh_quote(&e.to_string_lossy()))
        .unwrap_or_else(|_| "ferry".into());
    eprintln!(
        "`ferry service {word}` manages the Windows service, which exists only on Windows.\n\
         Here, run ferry under systemd instead: as root,\n\
         \n  {exe} --config {config} service systemd-unit --name {name} > /etc/systemd/system/{name}.service\n  \
         systemctl daemon-reload && systemctl enable --now {name}\n\
         \n\
         then `systemctl status {name}` shows whether it runs and `systemctl stop {name}` stops it.\n\
         Or run it in a terminal with `{exe} --config {config} run` (Ctrl-C stops it)."
    );
    Ok(2)
}

/// `text` as one word for a POSIX shell.
fn sh_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_words() {
        assert_eq!(
            super::sh_quote("/srv/ferry/config.toml"),
            "/srv/ferry/config.toml"
        );
        assert_eq!(
            super::sh_quote("/srv/my ferry/it's.toml"),
            "'/srv/my ferry/it'\\''s.toml'"
        );
    }
}
