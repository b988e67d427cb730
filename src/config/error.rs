//! Config errors: every one names the file, line, column, scheme (inside a `[[scheme]]`) and the
//! field path, and `load` returns all of them at once.

use std::fmt;
use std::path::PathBuf;

/// One mistake in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the error has no position (e.g. the file cannot be read).
    pub line: usize,
    /// 1-based, in characters; 0 when unknown.
    pub column: usize,
    /// The `name` of the `[[scheme]]` the error is in (or `#N` when the scheme has no valid name).
    pub scheme: Option<String>,
    /// Dotted field path, e.g. `kingdee.app_secret` or `mapping.FEntity.fields.FQty`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(":")?;
        if let Some(s) = &self.scheme {
            write!(f, " [scheme {s}]")?;
        }
        if !self.field.is_empty() {
            write!(f, " {}:", self.field)?;
        }
        write!(f, " {}", self.message)
    }
}

/// All the mistakes found in a config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_format() {
        let e = ConfigError {
            file: PathBuf::from("config.toml"),
            line: 3,
            column: 7,
            scheme: Some("退货".into()),
            field: "target.batch_size".into(),
            message: "must be 1..=1000".into(),
        };
        assert_eq!(
            e.to_string(),
            "config.toml:3:7: [scheme 退货] target.batch_size: must be 1..=1000"
        );
        let e = ConfigError {
            line: 0,
            scheme: None,
            field: String::new(),
            ..e
        };
        assert_eq!(e.to_string(), "config.toml: must be 1..=1000");
    }
}
