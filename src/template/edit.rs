//! Adds a template to a config file's text in place: every byte already there stays as it was
//! (comments, layout, line ends, a UTF-8 byte-order mark). The lookup tables the config lacks go
//! after its last `[lookups.*]` table (or before its first `[[scheme]]`), the scheme block goes at
//! the end; inserted lines take the file's line ends (CRLF when the file uses them, as Notepad
//! writes). A lookup table the config already has is kept as it is (the consultant's rows win);
//! the template's keys it lacks are reported.

use std::ops::Range;

use super::sections::{self, Section};
use super::{Parts, TemplateError};

/// The config text with the template added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub text: String,
    /// Lookup tables added.
    pub added_lookups: Vec<String>,
    /// Lookup tables the config already had, with the template's keys they lack.
    pub kept_lookups: Vec<(String, Vec<String>)>,
    /// Byte ranges of `text` that were inserted.
    pub inserted: Vec<Range<usize>>,
}

impl Edit {
    /// The inserted lines marked `ADAPT`: (1-based line number in the new text, the line).
    pub fn adapt_lines(&self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut offset = 0;
        for (i, line) in self.text.split_inclusive('\n').enumerate() {
            let inside = self
                .inserted
                .iter()
                .any(|r| r.start <= offset && offset < r.end);
            if inside && line.contains("ADAPT") {
                out.push((i + 1, line.trim_end().to_string()));
            }
            offset += line.len();
        }
        out
    }
}

/// Adds `parts` to `config` (the file's text; `file` names it in errors).
pub fn add(file: &str, config: &str, parts: &Parts) -> Result<Edit, TemplateError> {
    let bom = if config.starts_with('\u{feff}') {
        "\u{feff}"
    } else {
        ""
    };
    let body = &config[bom.len()..];
    let syntax = |why: String| TemplateError::ConfigSyntax {
        file: file.to_string(),
        why: why.trim().replace('\n', " "),
    };
    let value: toml::Table = body
        .parse()
        .map_err(|e: toml::de::Error| syntax(e.to_string()))?;
    let secs = sections::sections(body).map_err(syntax)?;

    let taken = value
        .get("scheme")
        .and_then(|s| s.as_array())
        .is_some_and(|a| {
            a.iter()
                .any(|s| s.get("name").and_then(|n| n.as_str()) == Some(&parts.scheme_name))
        });
    if taken {
        return Err(TemplateError::Exists {
            file: file.to_string(),
            name: parts.scheme_name.clone(),
        });
    }

    let eol = if body.contains("\r\n") { "\r\n" } else { "\n" };
    let with_eol = |s: &str| -> String {
        let lf = s.replace("\r\n", "\n");
        if eol == "\n" {
            lf
        } else {
            lf.replace('\n', eol)
        }
    };
    let existing = value.get("lookups").and_then(|l| l.as_table());
    let mut added_lookups = Vec::new();
    let mut kept_lookups = Vec::new();
    let mut tables = String::new();
    for l in &parts.lookups {
        match existing.and_then(|e| e.get(&l.name)) {
            Some(have) => {
                let missing = l
                    .keys
                    .iter()
                    .filter(|k| have.get(k.as_str()).is_none())
                    .cloned()
                    .collect();
                kept_lookups.push((l.name.clone(), missing));
            }
            None => {
                tables.push_str(eol);
                tables.push_str(&with_eol(l.text.trim_end()));
                tables.push_str(eol);
                added_lookups.push(l.name.clone());
            }
        }
    }

    // Where the new lookup tables go: after the last lookup table, else before the first
    // scheme's comments, else at the end.
    let is_lookup = |s: &Section| s.header.path.len() == 2 && s.header.path[0] == "lookups";
    let first_scheme = secs
        .iter()
        .find(|s| s.header.array && s.header.path == ["scheme"]);
    let at = match (secs.iter().rev().find(|s| is_lookup(s)), first_scheme) {
        (Some(last), _) => last.table.end,
        (None, Some(s)) => {
            // Before the scheme's comments, the tables then a blank line.
            if !tables.is_empty() {
                tables.remove(0);
                if eol == "\r\n" {
                    tables.remove(0);
                }
                tables.push_str(eol);
            }
            s.with_comments.start
        }
        (None, None) => {
            if body.trim().is_empty() {
                tables = tables.trim_start().to_string();
            }
            body.len()
        }
    };
    // A body that ends without a line end gets one before anything is appended after it.
    let mut head = body[..at].to_string();
    let mut tail = body[at..].to_string();
    if at == body.len() && !head.is_empty() && !head.ends_with('\n') {
        head.push_str(eol);
    }
    let mut inserted = Vec::new();
    if !tables.is_empty() {
        let start = bom.len() + head.len();
        inserted.push(start..start + tables.len());
    }
    if !tail.is_empty() && !tail.ends_with('\n') {
        tail.push_str(eol);
    }
    let mut text = String::with_capacity(config.len() + tables.len() + parts.scheme.len() + 8);
    text.push_str(bom);
    text.push_str(&head);
    text.push_str(&tables);
    text.push_str(&tail);
    if !text[bom.len()..].trim().is_empty() {
        text.push_str(eol);
    }
    let start = text.len();
    text.push_str(&with_eol(parts.scheme.trim_end()));
    text.push_str(eol);
    inserted.push(start..text.len());
    Ok(Edit {
        text,
        added_lookups,
        kept_lookups,
        inserted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "# intro\n\n[lookups.shop]   # ADAPT: shops\n\"a\" = \"C1\"\n\n[lookups.warehouse]\n\"主仓\" = \"CK001\"\n\"新仓\" = \"CK009\"\n\n# ----\n# 新增\n[[scheme]]\nname = \"t\"\n[scheme.source]\napi = \"x.query\"\n[scheme.target]\nform_id = \"F\"   # ADAPT: form\n";

    const CONFIG: &str = "a = 1 # keep me\n\n# maps\n[lookups.warehouse]   # mine\n\"主仓\" = \"CK001\"\n\n# ---\n# first\n[[scheme]]\nname = \"s\"\n";

    fn parts() -> Parts<'static> {
        super::super::parts("t", TEMPLATE).expect("template parses")
    }

    #[test]
    fn adds_missing_tables_after_the_last_and_the_scheme_at_the_end() {
        let e = add("config.toml", CONFIG, &parts()).expect("added");
        assert_eq!(
            e.text,
            "a = 1 # keep me\n\n# maps\n[lookups.warehouse]   # mine\n\"主仓\" = \"CK001\"\n\n[lookups.shop]   # ADAPT: shops\n\"a\" = \"C1\"\n\n# ---\n# first\n[[scheme]]\nname = \"s\"\n\n# ----\n# 新增\n[[scheme]]\nname = \"t\"\n[scheme.source]\napi = \"x.query\"\n[scheme.target]\nform_id = \"F\"   # ADAPT: form\n"
        );
        assert_eq!(e.added_lookups, ["shop"]);
        assert_eq!(
            e.kept_lookups,
            [("warehouse".to_string(), vec!["新仓".to_string()])]
        );
        let adapt: Vec<usize> = e.adapt_lines().into_iter().map(|(n, _)| n).collect();
        assert_eq!(adapt, [7, 22]);
    }

    #[test]
    fn crlf_and_bom_are_kept_and_inserted_lines_take_crlf() {
        let config = format!("\u{feff}{}", CONFIG.replace('\n', "\r\n"));
        let e = add("config.toml", &config, &parts()).expect("added");
        assert!(e.text.starts_with("\u{feff}a = 1 # keep me\r\n"));
        assert!(!e.text.replace("\r\n", "").contains('\n'), "{:?}", e.text);
        assert_eq!(
            e.text.replace("\r\n", "\n").trim_start_matches('\u{feff}'),
            add("config.toml", CONFIG, &parts()).expect("added").text
        );
        assert_eq!(e.adapt_lines().len(), 2);
    }

    #[test]
    fn without_lookup_tables_they_go_before_the_first_scheme() {
        let config = "x = 1\n\n# ---\n[[scheme]]\nname = \"s\"";
        let e = add("c", config, &parts()).expect("added");
        assert!(
            e.text.starts_with("x = 1\n\n[lookups.shop]   # ADAPT: shops\n\"a\" = \"C1\"\n\n[lookups.warehouse]\n\"主仓\" = \"CK001\"\n\"新仓\" = \"CK009\"\n\n# ---\n[[scheme]]\nname = \"s\"\n\n# ----\n"),
            "{}",
            e.text
        );
        let v: toml::Table = e.text.parse().expect("valid TOML");
        assert_eq!(v["scheme"].as_array().map(|a| a.len()), Some(2));
    }

    #[test]
    fn an_empty_file_gets_the_tables_and_the_scheme() {
        let e = add("c", "", &parts()).expect("added");
        let v: toml::Table = e.text.parse().expect("valid TOML");
        assert_eq!(v["lookups"].as_table().map(|t| t.len()), Some(2));
        assert!(!e.text.starts_with('\n'));
    }

    #[test]
    fn a_scheme_name_already_there_is_refused_and_bad_toml_named() {
        let config = "[[scheme]]\nname = \"t\"\n";
        assert!(matches!(
            add("c", config, &parts()),
            Err(TemplateError::Exists { .. })
        ));
        assert!(matches!(
            add("c", "[[scheme]\n", &parts()),
            Err(TemplateError::ConfigSyntax { .. })
        ));
    }
}
