//! The template library as a consultant uses it: `ferry template list`, `show`, `add` (config.toml
//! edited in place, comments and layout kept, a name already there refused, the result passes
//! `ferry check`), and every template rehearsed against the simulators (`rehearsals`).

mod rehearsals;

use std::path::Path;

use crate::helpers::*;

/// The shipped config.toml's text.
fn shipped_text() -> String {
    std::fs::read_to_string(shipped_config()).expect("shipped config")
}

/// `text` without the `[[scheme]]` block named `name` (from its separator comment to the next
/// block's or the end) and without the lookup tables in `drop_lookups`.
fn without(text: &str, name: &str, drop_lookups: &[&str]) -> String {
    let sep = "# -------------------------------------------------------------";
    let at = text
        .find(&format!("name = \"{name}\""))
        .expect("scheme in config");
    let start = text[..at].rfind(sep).expect("separator before the scheme");
    let end = text[at..].find(sep).map(|i| at + i).unwrap_or(text.len());
    let mut out = format!("{}{}", &text[..start], &text[end..]);
    if end == text.len() {
        // The block was the last one: the blank line before it goes too.
        out = format!("{}\n", out.trim_end());
    }
    for l in drop_lookups {
        let h = out.find(&format!("[lookups.{l}]")).expect("lookup table");
        let e = out[h..].find("\n\n").map(|i| h + i + 2).expect("table end");
        out.replace_range(h..e, "");
    }
    out
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn list_names_every_template_with_its_flow_and_title() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = ferry(&dir.path().join("none.toml"), &["template", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), ferry::template::LIBRARY.len(), "{out}");
    for t in ferry::template::LIBRARY {
        let p = t.parts().expect("parts");
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(t.name))
            .unwrap_or_else(|| panic!("{} not listed:\n{out}", t.name));
        assert!(
            line.contains(p.api.as_str()) && line.contains(&format!("→ {}", p.form)),
            "{line}"
        );
        assert!(line.trim_end().ends_with(t.title), "{line}");
    }
    assert!(out.contains("shops.query → BD_STOCK"), "{out}");
    assert!(
        out.contains("other.inout.query (其它进仓) → SAL_RETURNSTOCK"),
        "{out}"
    );
}

#[test]
fn show_prints_a_ready_block_and_unknown_names_get_the_near_miss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let none = dir.path().join("none.toml");
    let o = ferry(&none, &["template", "show", "offline-returns"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let v: toml::Table = text.parse().expect("show prints TOML");
    assert_eq!(v["scheme"][0]["name"].as_str(), Some("offline-returns"));
    assert_eq!(
        v["lookups"]["warehouse"]["主仓"].as_str(),
        Some("CK001"),
        "the lookup tables it needs: {text}"
    );
    assert!(text.contains("ADAPT"), "{text}");

    let o = ferry(&none, &["template", "show", "offline-return"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no template named `offline-return`")
            && err.contains("did you mean `offline-returns`"),
        "{err}"
    );
}

/// A config that lacks the seed scheme and one of its lookup tables gets them back exactly as
/// config.toml ships them, in LF and in CRLF with a byte-order mark (Notepad's UTF-8).
#[test]
fn add_puts_back_a_seed_byte_for_byte_in_lf_and_in_crlf_with_bom() {
    let shipped = shipped_text();
    for crlf in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let conv = |s: &str| {
            if crlf {
                format!("\u{feff}{}", s.replace('\n', "\r\n"))
            } else {
                s.to_string()
            }
        };
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            conv(&without(&shipped, "offline-returns", &["customer"])),
        )
        .expect("write");
        let o = ferry(&path, &["template", "add", "offline-returns"]);
        assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
        let out = stdout(&o);
        assert!(
            out.contains("lookup tables added: [lookups.customer]"),
            "{out}"
        );
        assert!(
            out.contains("[lookups.warehouse] was there already: kept as it is"),
            "{out}"
        );
        // Every ADAPT line is named with its line in the new file.
        let after = std::fs::read_to_string(&path).expect("read");
        assert_eq!(after, conv(&shipped), "crlf {crlf}");
        let lines: Vec<&str> = after.lines().collect();
        let named: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains("ADAPT"))
            .collect();
        assert!(named.len() >= 5, "{out}");
        for l in named {
            let n: usize = l
                .trim()
                .split(':')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("line number in {l}"));
            assert!(lines[n - 1].contains("ADAPT"), "{l}");
        }
        let c = ferry(&path, &["check"]);
        assert!(c.status.success(), "{}", stdout(&c));
    }
}

#[test]
fn add_refuses_a_name_already_there_and_a_broken_config_and_leaves_the_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let shipped = shipped_text();
    std::fs::write(&path, &shipped).expect("write");
    let o = ferry(&path, &["template", "add", "shops-to-stocks"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("already has a scheme named `shops-to-stocks`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), shipped);

    // A config with a mistake: nothing is written, the mistake is named.
    let broken =
        without(&shipped, "offline-returns", &[]).replace("every = \"1h\"", "every = \"soon\"");
    std::fs::write(&path, &broken).expect("write");
    let o = ferry(&path, &["template", "add", "offline-returns"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("every"), "{}", stdout(&o));
    assert!(stderr(&o).contains("nothing was added"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&path).expect("read"), broken);
    assert!(
        !Path::new(&dir.path().join(".config.toml.ferry-new")).exists(),
        "no temporary file left"
    );
}

/// Every template of the library added to one copy of the shipped config: each original line
/// kept in order, and `ferry check` lists every scheme.
#[test]
fn every_template_added_to_the_shipped_config_passes_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let shipped = shipped_text();
    std::fs::write(&path, &shipped).expect("write");
    let mut added = 0;
    for t in ferry::template::LIBRARY {
        if shipped.contains(&format!("name = \"{}\"", t.name)) {
            continue;
        }
        let o = ferry(&path, &["template", "add", t.name]);
        assert!(
            o.status.success(),
            "{}: {}{}",
            t.name,
            stdout(&o),
            stderr(&o)
        );
        added += 1;
    }
    let after = std::fs::read_to_string(&path).expect("read");
    let mut rest = after.lines();
    for line in shipped.lines() {
        assert!(
            rest.any(|l| l == line),
            "line of the original lost or moved: {line}"
        );
    }
    let c = ferry(&path, &["check"]);
    assert!(c.status.success(), "{}", stdout(&c));
    let out = stdout(&c);
    assert!(out.contains(&format!("({} schemes)", 2 + added)), "{out}");
    for t in ferry::template::LIBRARY {
        assert!(out.contains(&format!("  {} [enabled]", t.name)), "{out}");
    }
}
