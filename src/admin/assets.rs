//! The web console's files, embedded in the binary (no build step, nothing from the internet).
//!
//! Plain HTML, CSS and JavaScript under `src/admin/console/`: no inline script or style, so the
//! admin server can send `Content-Security-Policy: default-src 'self'`.

/// (path served, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "/index.html",
        "text/html; charset=utf-8",
        include_bytes!("console/index.html"),
    ),
    (
        "/console.css",
        "text/css; charset=utf-8",
        include_bytes!("console/console.css"),
    ),
    (
        "/i18n.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/i18n.js"),
    ),
    (
        "/dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/dom.js"),
    ),
    (
        "/console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/console.js"),
    ),
    (
        "/dlq.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/dlq.js"),
    ),
    (
        "/actions.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console/actions.js"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_bytes!("console/favicon.svg"),
    ),
];

/// The console file served at `path` (`"/"` is the page itself): its content type and bytes.
/// A query string or fragment is ignored; anything not in the console is `None`.
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, ctype, bytes)| (*ctype, *bytes))
}

/// Every path the console serves (for the server's routing and for tests).
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _, _)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(path: &str) -> &'static str {
        let (_, bytes) = asset(path).expect(path);
        std::str::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn root_is_the_page_and_unknown_paths_are_none() {
        let (ctype, bytes) = asset("/").expect("root");
        assert_eq!(ctype, "text/html; charset=utf-8");
        assert_eq!(Some((ctype, bytes)), asset("/index.html"));
        assert_eq!(Some((ctype, bytes)), asset("/?lang=en"));
        assert!(text("/").contains("ferry 数据同步"));
        for p in [
            "/api/status",
            "/console",
            "/../Cargo.toml",
            "",
            "index.html",
            "/x.js",
        ] {
            assert!(asset(p).is_none(), "{p}");
        }
        assert_eq!(
            asset("/console.js").map(|a| a.0),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            asset("/console.css").map(|a| a.0),
            Some("text/css; charset=utf-8")
        );
    }

    /// Every file the page refers to is served, and nothing comes from elsewhere.
    #[test]
    fn the_page_refers_only_to_files_it_serves() {
        let page = text("/");
        let mut refs = 0;
        for attr in ["src=\"", "href=\""] {
            for part in page.split(attr).skip(1) {
                let target = part.split('"').next().unwrap_or_default();
                assert!(target.starts_with('/'), "{attr}{target}: same origin only");
                assert!(
                    asset(target).is_some(),
                    "{target} is referred to but not served"
                );
                refs += 1;
            }
        }
        assert!(refs >= 6, "{refs}");
        for p in paths() {
            if p != "/index.html" {
                assert!(
                    page.contains(&format!("\"{p}\"")),
                    "{p} is served but unused"
                );
            }
        }
    }

    /// `default-src 'self'` forbids inline scripts, inline styles and event attributes, and the
    /// console must build every piece of text from the API as text (never as HTML).
    #[test]
    fn nothing_inline_and_no_html_from_strings() {
        let page = text("/");
        assert!(!page.contains("<style"), "inline style element");
        assert!(!page.contains(" style=\""), "inline style attribute");
        assert!(!page.contains(" onclick="), "inline handler");
        for part in page.split("<script").skip(1) {
            let tag = part.split('>').next().unwrap_or_default();
            assert!(tag.contains("src=\""), "inline script: <script{tag}>");
        }
        for p in paths().filter(|p| p.ends_with(".js")) {
            let js = text(p);
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
                "new Function",
                "window.prompt",
                "http://",
                "https://",
            ] {
                assert!(!js.contains(banned), "{p} uses {banned}");
            }
        }
        let css = text("/console.css");
        assert!(
            !css.contains("@import") && !css.contains("url(http"),
            "external CSS"
        );
    }

    /// Every word the page asks for exists in both languages.
    #[test]
    fn both_languages_have_every_word() {
        let i18n = text("/i18n.js");
        let zh_start = i18n.find("  zh: {").expect("zh table");
        let en_start = i18n.find("  en: {").expect("en table");
        let keys = |table: &str| -> Vec<String> {
            table
                .lines()
                .filter_map(|l| {
                    let l = l.trim_start();
                    let (k, _) = l.split_once(':')?;
                    (!k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
                        .then(|| k.to_string())
                })
                .collect()
        };
        let zh = keys(&i18n[zh_start + 7..en_start]);
        let en = keys(&i18n[en_start + 7..]);
        assert!(zh.len() > 50, "{}", zh.len());
        for k in &zh {
            assert!(en.contains(k), "English lacks {k}");
        }
        for k in &en {
            assert!(zh.contains(k), "Chinese lacks {k}");
        }
        let mut used = Vec::new();
        for p in paths() {
            let src = text(p);
            for marker in ["t(\"", "data-i18n=\"", "data-i18n-placeholder=\""] {
                for part in src.split(marker).skip(1) {
                    used.push(part.split('"').next().unwrap_or_default().to_string());
                }
            }
        }
        assert!(used.len() > 50, "{}", used.len());
        // `t("ev_" + kind)` builds its key: the prefix alone is not a word.
        for k in used.into_iter().filter(|k| !k.ends_with('_')) {
            assert!(
                zh.contains(&k),
                "the console asks for {k:?}, which has no words"
            );
        }
    }
}
