//! A systemd unit that runs `ferry run` with a config: what Linux has instead of the Windows
//! service manager.

use std::path::Path;

/// The unit file for `/etc/systemd/system/NAME.service`, running `exe --config CONFIG run`.
/// Both paths must be absolute: systemd starts services in `/`.
pub fn systemd_unit(exe: &Path, config: &Path, name: &str) -> String {
    let exec = [
        quote(&exe.to_string_lossy()),
        "--config".into(),
        quote(&config.to_string_lossy()),
        "run".into(),
    ]
    .join(" ");
    format!(
        "# /etc/systemd/system/{name}.service  (written by `ferry service systemd-unit`)\n\
         # Install: save this file there, then `systemctl daemon-reload && systemctl enable --now {name}`.\n\
         # Logs: the log dir of the config, and `journalctl -u {name}`.\n\
         [Unit]\n\
         Description=ferry: Jushuitan (聚水潭) -> Kingdee K/3 Cloud (金蝶云星空) [{name}]\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={exec}\n\
         # ferry stops on SIGINT (as on Ctrl-C): it finishes the batch in hand first.\n\
         KillSignal=SIGINT\n\
         TimeoutStopSec=150\n\
         Restart=on-failure\n\
         RestartSec=10\n\
         # Secrets for the config's ${{VAR}} references, in a file only root can read:\n\
         # EnvironmentFile=/etc/ferry/{name}.env\n\
         # Run as an unprivileged user that owns the config's data folder:\n\
         # User=ferry\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

/// One ExecStart argument: in double quotes with C-style escapes, `%` (specifiers) doubled and
/// `$` (variable expansion) doubled, so any path reaches ferry as it is.
fn quote(arg: &str) -> String {
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_quotes_paths() {
        let unit = systemd_unit(
            Path::new("/opt/ferry/bin/ferry"),
            Path::new("/srv/my ferry/100%$HOME\"x\".toml"),
            "ferry",
        );
        let exec = unit
            .lines()
            .find(|l| l.starts_with("ExecStart="))
            .expect("ExecStart");
        assert_eq!(
            exec,
            r#"ExecStart="/opt/ferry/bin/ferry" --config "/srv/my ferry/100%%$$HOME\"x\".toml" run"#
        );
        assert!(unit.contains("KillSignal=SIGINT"));
        assert!(unit.contains("WantedBy=multi-user.target"));
    }
}
