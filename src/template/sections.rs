//! Where the tables of a TOML text are written: each header (`[a.b]`, `[[scheme]]`), the comment
//! lines directly above it (they belong to it), and where its body ends. Works on the text as
//! written (LF or CRLF lines, comments, multi-line strings), so that an edit can insert text
//! between tables and leave every other byte alone.

use std::ops::Range;

/// One table header of a TOML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The dotted path (`["lookups", "warehouse"]`, `["scheme", "retry"]`).
    pub path: Vec<String>,
    /// `[[...]]`: an element of an array of tables.
    pub array: bool,
    /// Byte offset of the start of the header's line.
    pub line_start: usize,
}

/// A section: a header with the comments directly above it and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub header: Header,
    /// From the first comment line directly above the header (no blank line between) to the
    /// end of the body.
    pub with_comments: Range<usize>,
    /// From the header line to the end of its last non-blank body line (its line end included).
    pub table: Range<usize>,
}

/// Every header of `text`, in the order written. `Err` is TOML's own message.
pub fn headers(text: &str) -> Result<Vec<Header>, String> {
    let doc = toml_edit::ImDocument::parse(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    collect(text, doc.as_table(), &mut Vec::new(), &mut out);
    out.sort_by_key(|h| h.line_start);
    Ok(out)
}

fn collect(text: &str, table: &toml_edit::Table, path: &mut Vec<String>, out: &mut Vec<Header>) {
    for (key, item) in table.iter() {
        path.push(key.to_string());
        match item {
            toml_edit::Item::Table(t) => {
                if let Some(span) = t.span() {
                    out.push(Header {
                        path: path.clone(),
                        array: false,
                        line_start: line_start(text, span.start),
                    });
                }
                collect(text, t, path, out);
            }
            toml_edit::Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    if let Some(span) = t.span() {
                        out.push(Header {
                            path: path.clone(),
                            array: true,
                            line_start: line_start(text, span.start),
                        });
                    }
                    collect(text, t, path, out);
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// Every section of `text`, in the order written.
pub fn sections(text: &str) -> Result<Vec<Section>, String> {
    let hs = headers(text)?;
    let starts: Vec<usize> = hs
        .iter()
        .map(|h| comments_above(text, h.line_start))
        .collect();
    Ok(hs
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let next = starts.get(i + 1).copied().unwrap_or(text.len());
            let end = content_end(text, h.line_start, next);
            Section {
                with_comments: starts[i]..end,
                table: h.line_start..end,
                header: h,
            }
        })
        .collect())
}

/// The start of the line holding byte `at`.
pub fn line_start(text: &str, at: usize) -> usize {
    text.get(..at)
        .and_then(|t| t.rfind('\n'))
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// The start of the comment lines directly above the line starting at `at` (`at` when none).
pub fn comments_above(text: &str, at: usize) -> usize {
    let mut start = at;
    while start > 0 {
        let prev = line_start(text, start - 1);
        let line = text.get(prev..start).unwrap_or("");
        if line.trim_start().starts_with('#') {
            start = prev;
        } else {
            break;
        }
    }
    start
}

/// The end of the last non-blank line in `from..to` (after its line end), or `from`.
pub fn content_end(text: &str, from: usize, to: usize) -> usize {
    let mut end = to;
    while end > from {
        let prev = line_start(text, end - 1).max(from);
        let line = text.get(prev..end).unwrap_or("");
        if line.trim().is_empty() {
            end = prev;
        } else {
            break;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "a = 1\n\n# about w\n[lookups.w]   # trailing\n\"x\" = \"1\"\n\n# lonely\n\n# s1\n# s2\n[[scheme]]\nname = '''\n[not.a.header]\n'''\n[scheme.retry]\nn = 1\n";

    #[test]
    fn headers_skip_multiline_strings_and_sections_own_their_comments() {
        let s = sections(TEXT).expect("parses");
        let paths: Vec<String> = s.iter().map(|x| x.header.path.join(".")).collect();
        assert_eq!(paths, ["lookups.w", "scheme", "scheme.retry"]);
        assert_eq!(
            &TEXT[s[0].with_comments.clone()],
            "# about w\n[lookups.w]   # trailing\n\"x\" = \"1\"\n\n# lonely\n"
        );
        assert_eq!(TEXT[s[0].table.clone()].lines().count(), 4);
        assert!(s[1].header.array);
        assert_eq!(
            &TEXT[s[1].with_comments.clone()],
            "# s1\n# s2\n[[scheme]]\nname = '''\n[not.a.header]\n'''\n"
        );
        assert_eq!(&TEXT[s[2].table.clone()], "[scheme.retry]\nn = 1\n");
    }

    #[test]
    fn crlf_lines_are_sections_too() {
        let crlf = TEXT.replace('\n', "\r\n");
        let s = sections(&crlf).expect("parses");
        assert_eq!(
            &crlf[s[2].table.clone()],
            "[scheme.retry]\r\nn = 1\r\n",
            "{s:?}"
        );
        assert_eq!(
            &crlf[s[1].with_comments.clone()],
            "# s1\r\n# s2\r\n[[scheme]]\r\nname = '''\r\n[not.a.header]\r\n'''\r\n"
        );
    }
}
