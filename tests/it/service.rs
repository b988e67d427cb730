//! `ferry service` on systems other than Windows: the real binary explains that the Windows
//! service is Windows-only (non-zero exit) and prints a systemd unit with absolute paths that
//! works from any working folder. (Windows itself: `windows.rs`, under Wine.)

#![cfg(not(windows))]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::helpers::*;

fn ferry_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(ferry_bin())
        .args(args)
        .current_dir(cwd)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("run ferry");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn windows_service_commands_explain_what_to_do_here() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(shipped_config(), dir.path().join("config.toml")).expect("copy config");
    for action in ["install", "uninstall", "start", "stop", "status"] {
        let (code, stdout, stderr) = ferry_in(dir.path(), &["service", action, "--name", "f2"]);
        assert_eq!(code, 2, "{action}: {stdout}{stderr}");
        assert!(stderr.contains("only on Windows"), "{action}: {stderr}");
        assert!(
            stderr.contains("service systemd-unit --name f2 > /etc/systemd/system/f2.service"),
            "{action}: {stderr}"
        );
        // The config as an absolute path, so the printed command works from anywhere.
        let abs = dir
            .path()
            .canonicalize()
            .expect("canonical")
            .join("config.toml");
        assert!(
            stderr.contains(&abs.display().to_string()),
            "{action}: {stderr}"
        );
    }
    let (code, _, stderr) = ferry_in(dir.path(), &["service", "install", "--name", "a b"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a service name"), "{stderr}");
}

/// ExecStart's arguments, undoing the unit's quoting (`"..."` with `\\`, `\"`, `%%`, `$$`).
fn exec_start_args(unit: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart line");
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut in_arg) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                in_arg = true;
            }
            '\\' if quoted => cur.extend(chars.next()),
            '%' | '$' if chars.peek() == Some(&c) => {
                chars.next();
                cur.push(c);
            }
            ' ' if !quoted => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            c => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(cur);
    }
    args
}

#[test]
fn systemd_unit_runs_this_ferry_with_this_config_from_any_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A folder name systemd would otherwise read as a specifier and a variable.
    let conf_dir = dir.path().join("ferry 100% $HOME");
    let work = dir.path().join("elsewhere");
    std::fs::create_dir_all(&conf_dir).expect("mkdir");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::fs::copy(shipped_config(), conf_dir.join("config.toml")).expect("copy config");

    let rel = Path::new("..").join("ferry 100% $HOME").join("config.toml");
    let rel = rel.to_str().expect("utf-8");
    let (code, unit, stderr) = ferry_in(
        &work,
        &[
            "--config",
            rel,
            "service",
            "systemd-unit",
            "--name",
            "ferry-2",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        unit.contains("/etc/systemd/system/ferry-2.service"),
        "{unit}"
    );
    assert!(unit.contains("KillSignal=SIGINT"), "{unit}");
    assert!(unit.contains("Restart=on-failure"), "{unit}");
    let args = exec_start_args(&unit);
    let exe = ferry_bin().canonicalize().expect("exe");
    let config = conf_dir.canonicalize().expect("conf").join("config.toml");
    assert_eq!(
        args,
        [
            exe.display().to_string(),
            "--config".into(),
            config.display().to_string(),
            "run".into()
        ],
        "{unit}"
    );

    // The unit's command works from systemd's working folder (/): `check` instead of `run`.
    let out = Command::new(&args[0])
        .args(&args[1..3])
        .arg("check")
        .current_dir("/")
        .output()
        .expect("run the unit's command");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.starts_with("ok"), "{stdout}");

    // No config there: said so, and no unit.
    let (code, unit, stderr) = ferry_in(
        &work,
        &["--config", "nowhere.toml", "service", "systemd-unit"],
    );
    assert_eq!(code, 2, "{unit}");
    assert!(unit.is_empty(), "{unit}");
    let missing: PathBuf = work.canonicalize().expect("work").join("nowhere.toml");
    assert!(
        stderr.contains(&format!("config file {} not found", missing.display())),
        "{stderr}"
    );
}
