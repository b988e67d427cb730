//! `ferry template list|show NAME|add NAME`: the template library (模板库, src/template/).
//! `add` edits config.toml in place (comments, layout, line ends and a byte-order mark kept),
//! and writes nothing unless the result still passes `ferry check` (secrets aside).

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};

use super::CliError;
use crate::config::{self, Secrets};
use crate::template::{self, edit, TemplateError, LIBRARY};

#[derive(Debug, Args)]
pub struct TemplateArgs {
    #[command(subcommand)]
    pub command: TemplateCommand,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// One line per template: name, source API → Kingdee form, title.
    List,
    /// Print a template: its [lookups.*] tables and its [[scheme]] block.
    Show {
        /// Template name, as `ferry template list` shows it.
        name: String,
    },
    /// Add a template to the config file (--config) in place; refuses a scheme name already there.
    Add {
        /// Template name, as `ferry template list` shows it.
        name: String,
    },
}

pub fn template(config_path: &Path, args: TemplateArgs) -> Result<u8, CliError> {
    let mut out = std::io::stdout();
    match args.command {
        TemplateCommand::List => list(&mut out),
        TemplateCommand::Show { name } => {
            let t = template::find(&name)?;
            out.write_all(t.text.as_bytes())?;
            Ok(0)
        }
        TemplateCommand::Add { name } => add(config_path, &name, &mut out),
    }
}

fn list(out: &mut dyn Write) -> Result<u8, CliError> {
    let rows = LIBRARY
        .iter()
        .map(|t| {
            let p = t.parts()?;
            let source = match p.types.as_slice() {
                [] => p.api,
                types => format!("{} ({})", p.api, types.join(", ")),
            };
            Ok((t.name, format!("{source} → {}", p.form), t.title))
        })
        .collect::<Result<Vec<_>, TemplateError>>()?;
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| width(&r.1)).max().unwrap_or(0);
    for (name, flow, title) in rows {
        let pad = w1 - width(&flow);
        writeln!(out, "{name:w0$}  {flow}{:pad$}  {title}", "")?;
    }
    Ok(0)
}

/// Columns a text takes in a terminal: Chinese characters and full-width punctuation take two.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c >= '\u{2E80}' { 2 } else { 1 }).sum()
}

fn add(path: &Path, name: &str, out: &mut dyn Write) -> Result<u8, CliError> {
    let t = template::find(name)?;
    let parts = t.parts()?;
    let file = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::Usage(format!("cannot read {file}: {e}; nothing was added")))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        CliError::Usage(format!(
            "{file} is not UTF-8 text; save it as UTF-8 first (nothing was added)"
        ))
    })?;
    if let Err(errors) = config::load_str_with(path, &text, Secrets::NotNeeded) {
        for e in errors.iter() {
            writeln!(out, "{e}")?;
        }
        return Err(CliError::Usage(format!(
            "{file} has mistakes already (above); fix them first, nothing was added"
        )));
    }
    let edit = edit::add(&file, &text, &parts)?;
    if let Err(errors) = config::load_str_with(path, &edit.text, Secrets::NotNeeded) {
        for e in errors.iter() {
            writeln!(out, "{e}")?;
        }
        return Err(CliError::Usage(format!(
            "with template {name} added, {file} would not pass `ferry check` (above); nothing was added"
        )));
    }
    write_in_place(path, &edit.text)?;

    writeln!(
        out,
        "added template {name} to {file}: scheme `{}` ({} → {})",
        parts.scheme_name, parts.api, parts.form
    )?;
    if !edit.added_lookups.is_empty() {
        writeln!(
            out,
            "  lookup tables added: {}",
            edit.added_lookups
                .iter()
                .map(|l| format!("[lookups.{l}]"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    for (l, missing) in &edit.kept_lookups {
        if missing.is_empty() {
            writeln!(out, "  [lookups.{l}] was there already: kept as it is")?;
        } else {
            writeln!(
                out,
                "  [lookups.{l}] was there already: kept as it is; the template also maps {} (a document with a value missing from it goes to the dead letters)",
                missing
                    .iter()
                    .map(|k| format!("\"{k}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
    }
    for (other, advice) in t.overlaps {
        if edit.text.contains(&format!("name = \"{other}\"")) {
            writeln!(out, "  caution: {advice}")?;
        }
    }
    let adapt = edit.adapt_lines();
    if !adapt.is_empty() {
        writeln!(out, "adapt these lines for the firm (marked ADAPT):")?;
        for (line, text) in adapt {
            writeln!(out, "  {file}:{line}: {}", text.trim())?;
        }
    }
    writeln!(
        out,
        "then: `ferry check`, `ferry preview --scheme {name} --input doc.json`, and rehearse with the simulators (`ferry run --once`); a running ferry starts the new scheme after a restart"
    )?;
    Ok(0)
}

/// Replaces the file's content through a file beside it (renamed over it), keeping its
/// permissions: an interrupted write never leaves half a config.
fn write_in_place(path: &Path, text: &str) -> Result<(), CliError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "config.toml".into());
    let tmp = path.with_file_name(format!(".{name}.ferry-new"));
    let perms = std::fs::metadata(path)?.permissions();
    let written = std::fs::write(&tmp, text.as_bytes())
        .and_then(|_| std::fs::set_permissions(&tmp, perms))
        .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(CliError::Usage(format!(
            "cannot write {}: {e}; nothing was added",
            path.display()
        )));
    }
    Ok(())
}
