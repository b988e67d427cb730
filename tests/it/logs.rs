//! Log files of `ferry run`: Beijing timestamps with the offset, `[log] keep_days` daily files,
//! no line per document at info.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::helpers::*;

/// `2026-11-28T18:03:04.123+08:00 ` at the start of `line`: the Unix time it says.
fn stamp(line: &str) -> Option<i64> {
    let s = line.get(..30)?;
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let shape = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ];
    if shape.iter().any(|(i, c)| b[*i] != *c) || &s[23..] != "+08:00 " {
        return None;
    }
    let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (h, mi, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    digits(20..23)?;
    let days = ferry::time::days_from_civil(y, mo as u32, d as u32);
    Some(days * DAY + h * 3600 + mi * 60 + sec - 8 * 3600)
}

fn log_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("log dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ferry.log"))
        .collect();
    v.sort();
    v
}

fn file_name(days_back: i64) -> String {
    let today = ferry::time::now_unix().div_euclid(DAY);
    let (y, m, d) = ferry::time::civil_from_days(today - days_back);
    format!("ferry.log.{y:04}-{m:02}-{d:02}")
}

#[test]
fn log_lines_carry_beijing_time_and_only_keep_days_files_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |t| {
        if let Some(toml::Value::Table(log)) = t.get_mut("log") {
            log.insert("keep_days".into(), toml::Value::Integer(3));
        }
    });
    // Files of earlier days, written oldest first as ferry itself writes them.
    let logs = dir.path().join("data/logs");
    std::fs::create_dir_all(&logs).expect("mkdir logs");
    for back in (1..=8).rev() {
        std::fs::write(logs.join(file_name(back)), "old\n").expect("old log");
        std::thread::sleep(Duration::from_millis(15));
    }
    let started = ferry::time::now_unix();
    let out = Command::new(ferry_bin())
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--json"])
        .env("FERRY_LOG", "info")
        .output()
        .expect("run ferry");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let summary: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("summary");
    let delivered: u64 = summary["schemes"]
        .as_array()
        .expect("schemes")
        .iter()
        .map(|r| r["delivered"].as_u64().unwrap_or(0))
        .sum();
    assert!(delivered > 50, "{summary}");

    assert_eq!(
        log_files(&logs),
        [file_name(2), file_name(1), file_name(0)],
        "keep_days = 3"
    );
    let text = std::fs::read_to_string(logs.join(file_name(0))).expect("today's log");
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let at = stamp(line).unwrap_or_else(|| panic!("no Beijing timestamp: {line}"));
        assert!(
            (started - 5..=ferry::time::now_unix() + 5).contains(&at),
            "{line}"
        );
    }
    let console: Vec<&str> = stderr.lines().filter(|l| l.contains(" INFO ")).collect();
    assert!(!console.is_empty(), "{stderr}");
    for line in &console {
        assert!(
            stamp(line).is_some(),
            "console line without Beijing time: {line}"
        );
    }
    // Lines per window or batch, not per document.
    let info = lines.iter().filter(|l| l.contains(" INFO ")).count() as u64;
    assert!(
        info < delivered / 4,
        "{info} info lines for {delivered} documents:\n{text}"
    );
    sims.stop();
}
