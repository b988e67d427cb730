//! `[store]`: how long the store keeps the full record of a delivered document.
//!
//! ```toml
//! [store]
//! keep_delivered = "90d"
//! ```

use std::time::Duration;

use super::reader::{Ctx, Table};
use super::tree::Kind;

/// Settings of the store's upkeep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// Delivered documents older than this lose their Kingdee model and their trace; what
    /// dedupe needs (source key, fingerprint, state, line keys) stays.
    pub keep_delivered: Duration,
}

const DAY: u64 = 86_400;

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            keep_delivered: Duration::from_secs(90 * DAY),
        }
    }
}

/// Shortest `keep_delivered`: a day, so a document is never stripped while anyone could still
/// be asking what happened to it today.
pub const MIN_KEEP_DELIVERED: Duration = Duration::from_secs(DAY);
/// Longest `keep_delivered`: about ten years.
pub const MAX_KEEP_DELIVERED: Duration = Duration::from_secs(3660 * DAY);

pub(super) fn store(ctx: &mut Ctx, root: &mut Table) -> Option<StoreConfig> {
    let mut c = StoreConfig::default();
    let Some(mut t) = root.table(ctx, "store") else {
        return Some(c);
    };
    if let Some(e) = t.get("keep_delivered") {
        let field = t.field("keep_delivered");
        match keep_delivered(&e.value.kind) {
            Ok(d) => c.keep_delivered = d,
            Err(message) => ctx.err(&e.value.span, &field, message),
        }
    }
    t.finish(ctx);
    Some(c)
}

/// `keep_delivered` from its TOML value, or what is wrong with it in plain words.
fn keep_delivered(value: &Kind) -> Result<Duration, String> {
    let Kind::Str(s) = value else {
        return Err(format!(
            "expected a duration string like \"90d\", found {}",
            value.type_name()
        ));
    };
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like \"90d\", \"30d\", \"1y\": {e}"))?;
    if d < MIN_KEEP_DELIVERED {
        return Err(format!(
            "`{s}` is too short: delivered documents are kept at least 1 day (\"1d\")"
        ));
    }
    if d > MAX_KEEP_DELIVERED {
        return Err(format!(
            "`{s}` is too long: at most 3660 days (about ten years)"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Result<Duration, String> {
        keep_delivered(&Kind::Str(v.into()))
    }

    #[test]
    fn keep_delivered_takes_days_to_years_and_says_what_is_wrong() {
        assert_eq!(parse("90d").unwrap(), Duration::from_secs(90 * DAY));
        assert_eq!(parse(" 1d ").unwrap(), MIN_KEEP_DELIVERED);
        assert_eq!(parse("1y").unwrap().as_secs() / DAY, 365);
        assert_eq!(parse("3660d").unwrap(), MAX_KEEP_DELIVERED);
        let short = parse("23h").unwrap_err();
        assert!(
            short.contains("too short") && short.contains("1 day"),
            "{short}"
        );
        let long = parse("11y").unwrap_err();
        assert!(long.contains("too long") && long.contains("3660"), "{long}");
        let bad = parse("ninety days").unwrap_err();
        assert!(bad.contains("`ninety days` is not a duration"), "{bad}");
        let int = keep_delivered(&Kind::Int(90)).unwrap_err();
        assert!(int.contains("expected a duration string"), "{int}");
    }
}
