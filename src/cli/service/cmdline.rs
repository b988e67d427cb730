//! Reading back the command line a Windows service is registered with (the service manager
//! keeps it as one string), to find the config it runs with.

use std::path::PathBuf;

/// Splits a Windows command line the way programs' `argv` is built (CommandLineToArgvW):
/// whitespace separates arguments outside double quotes; `2n` backslashes before a quote are `n`
/// backslashes and the quote opens or closes quoting, `2n+1` are `n` and a literal quote;
/// other backslashes are themselves.
pub fn split_command_line(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let mut n = 1;
                while chars.peek() == Some(&'\\') {
                    chars.next();
                    n += 1;
                }
                if chars.peek() == Some(&'"') {
                    current.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        chars.next();
                        current.push('"');
                    }
                } else {
                    current.extend(std::iter::repeat_n('\\', n));
                }
                in_arg = true;
            }
            '"' => {
                quoted = !quoted;
                in_arg = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_arg {
                    args.push(std::mem::take(&mut current));
                    in_arg = false;
                }
            }
            c => {
                current.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(current);
    }
    args
}

/// The path after `--config` (or in `--config=PATH`) in a service's command line.
pub fn config_in_command_line(line: &str) -> Option<PathBuf> {
    let args = split_command_line(line);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_windows() {
        let line = r#""C:\Program Files\ferry\ferry.exe" --config "C:\ferry data\config.toml" service run --name ferry"#;
        assert_eq!(
            split_command_line(line),
            [
                r"C:\Program Files\ferry\ferry.exe",
                "--config",
                r"C:\ferry data\config.toml",
                "service",
                "run",
                "--name",
                "ferry"
            ]
        );
        // Backslashes before a quote, an escaped quote, an empty argument.
        assert_eq!(
            split_command_line(r#"a "b\\" c\"d "" e\f"#),
            ["a", r"b\", r#"c"d"#, "", r"e\f"]
        );
        assert_eq!(split_command_line("  "), Vec::<String>::new());
    }

    #[test]
    fn finds_the_config() {
        let line = r#"C:\ferry\ferry.exe --config "C:\ferry data\config.toml" service run"#;
        assert_eq!(
            config_in_command_line(line),
            Some(PathBuf::from(r"C:\ferry data\config.toml"))
        );
        assert_eq!(
            config_in_command_line(r"ferry.exe --config=C:\c.toml run"),
            Some(PathBuf::from(r"C:\c.toml"))
        );
        assert_eq!(config_in_command_line("ferry.exe service run"), None);
    }
}
