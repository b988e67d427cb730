//! `ferry check`: compiles the config and lists every mistake at once, or says ok with one line
//! per scheme. Never prints a secret.

use std::io::{self, Write};
use std::path::Path;

use crate::config::{self, Config, Scheme};

/// Prints the result for `path`; `Ok(true)` when the config is valid.
pub fn check(path: &Path, out: &mut dyn Write) -> io::Result<bool> {
    match config::load(path) {
        Ok(c) => {
            writeln!(out, "ok: {} ({} schemes)", path.display(), c.schemes.len())?;
            for s in &c.schemes {
                writeln!(out, "  {}", summary(s))?;
            }
            writeln!(out, "  {}", connections(&c))?;
            writeln!(out, "  {}", admin(&c))?;
            for a in &c.alerts {
                let on: Vec<&str> = a.on.iter().map(|t| t.as_str()).collect();
                writeln!(
                    out,
                    "  alert {} ({}): on {}, at most one message per {}",
                    a.name,
                    a.kind.as_str(),
                    on.join(", "),
                    humantime::format_duration(a.min_interval)
                )?;
            }
            Ok(true)
        }
        Err(errors) => {
            for e in errors.iter() {
                writeln!(out, "{e}")?;
            }
            let n = errors.len();
            writeln!(
                out,
                "{n} mistake{} in {}",
                if n == 1 { "" } else { "s" },
                path.display()
            )?;
            Ok(false)
        }
    }
}

/// One line describing a scheme.
pub fn summary(s: &Scheme) -> String {
    let window = if s.source.window.is_zero() {
        "whole list each run".to_string()
    } else {
        format!(
            "from {} in {} windows (overlap {})",
            crate::time::format_beijing(s.source.start_from),
            humantime::format_duration(s.source.window),
            humantime::format_duration(s.source.overlap)
        )
    };
    let pre = s
        .mapper
        .precondition_source()
        .map(|p| format!(", only when {p}"))
        .unwrap_or_default();
    format!(
        "{} [{}]: {} → {} {} every {}, {window}, batches of {}, identity {}, {} attempts, on change: {:?}{pre}",
        s.name,
        if s.enabled { "enabled" } else { "disabled" },
        s.source.api,
        s.target.form_id,
        s.target.operation,
        humantime::format_duration(s.every),
        s.target.batch_size,
        s.target.identity_field,
        s.retry.max_attempts,
        s.on_change,
    )
}

/// Where the console listens, and whether it needs the token (never the token itself).
fn admin(c: &Config) -> String {
    match c.admin.listen {
        Some(a) => format!(
            "console and API: http://{a}/ ({})",
            if c.admin.token.is_some() {
                "token required"
            } else {
                "no token: this machine only"
            }
        ),
        None => "console and API: off".to_string(),
    }
}

fn connections(c: &Config) -> String {
    if c.simulator.enabled {
        format!(
            "simulators: enabled (docs {}, shops {}, seed {}, faults {}); data in {}",
            c.simulator.docs,
            c.simulator.shops,
            c.simulator.seed,
            c.simulator.faults,
            c.data_dir.display()
        )
    } else {
        format!(
            "Jushuitan {} ({}/s, {}/min); Kingdee {} (account {}, user {}); data in {}",
            c.jushuitan.base_url,
            c.jushuitan.per_second,
            c.jushuitan.per_minute,
            c.kingdee.base_url,
            c.kingdee.acct_id,
            c.kingdee.user,
            c.data_dir.display()
        )
    }
}
