//! `ferry check` says exactly what is wrong, once: broken configs and the exact set of errors
//! each gives (nothing invented by a neighbouring mistake, nothing said twice).

use std::path::Path;

use ferry::config;

use crate::helpers::shipped_config;

fn shipped() -> String {
    std::fs::read_to_string(shipped_config()).expect("shipped config")
}

/// `text` with `from` replaced (once), which must be there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` not in the config");
    text.replacen(from, to, 1)
}

pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "`{needle}` must be on exactly one line");
    lines[0]
}

/// One expected mistake: the line holding `at` (if given), the field, words of the message.
pub(crate) struct Expect<'a> {
    at: Option<&'a str>,
    scheme: Option<&'a str>,
    field: &'a str,
    says: &'a str,
}

pub(crate) fn expect<'a>(
    at: Option<&'a str>,
    scheme: Option<&'a str>,
    field: &'a str,
    says: &'a str,
) -> Expect<'a> {
    Expect {
        at,
        scheme,
        field,
        says,
    }
}

/// Asserts that `text` gives exactly the `expected` mistakes, one each.
pub(crate) fn assert_mistakes(text: &str, expected: &[Expect]) {
    let errors = config::load_str(Path::new("x.toml"), text).expect_err("a broken config");
    let all = errors.to_string();
    assert_eq!(
        errors.len(),
        expected.len(),
        "expected {} mistakes, got:\n{all}",
        expected.len()
    );
    for x in expected {
        let line = x.at.map(|n| line_of(text, n));
        let hits = errors
            .iter()
            .filter(|e| {
                e.field == x.field
                    && e.scheme.as_deref() == x.scheme
                    && e.message.contains(x.says)
                    && line.is_none_or(|l| e.line == l)
            })
            .count();
        assert_eq!(
            hits, 1,
            "expected `{}` ({:?}) saying `{}` on line {line:?} once:\n{all}",
            x.field, x.scheme, x.says
        );
    }
}

/// The shipped config against the real systems, with the Kingdee secret written in.
fn without_simulator() -> String {
    let t = edit(&shipped(), "enabled = true\ndocs", "enabled = false\ndocs");
    edit(
        &t,
        "# app_secret = \"${KD_APP_SECRET}\"",
        "app_secret = \"kd-secret\"",
    )
}

#[test]
fn a_duplicate_scheme_name_is_reported_even_when_that_scheme_has_other_mistakes() {
    let text = edit(
        &shipped(),
        "name = \"shops-to-stocks\"",
        "name = \"offline-returns\"",
    );
    let text = edit(
        &text,
        "on_change = \"record\"    # or",
        "on_change = \"ignore\"    # or",
    );
    assert_mistakes(
        &text,
        &[
            expect(
                Some("on_change = \"ignore\""),
                Some("offline-returns"),
                "on_change",
                "unknown policy `ignore`",
            ),
            expect(
                None,
                Some("offline-returns"),
                "name",
                "a scheme named `offline-returns` is defined twice (first on line",
            ),
        ],
    );
}

#[test]
fn a_missing_jushuitan_secret_is_one_mistake_and_the_schemes_stay_correct() {
    // shops.query with page_size = 100 is correct (its cap is 100), whatever else is wrong in
    // [jushuitan].
    assert_mistakes(
        &without_simulator(),
        &[expect(
            None,
            None,
            "jushuitan.app_secret",
            "missing required key",
        )],
    );
    let text = edit(
        &without_simulator(),
        "per_second = 5 ",
        "per_second = \"five\" ",
    );
    let text = edit(
        &text,
        "# app_secret = \"${JST_APP_SECRET}\"",
        "app_secret = \"jst-secret\"",
    );
    assert_mistakes(
        &text,
        &[expect(
            Some("per_second = \"five\""),
            None,
            "jushuitan.per_second",
            "expected an integer",
        )],
    );
}

#[test]
fn a_mistyped_api_is_one_mistake_about_the_api() {
    let text = edit(&shipped(), "api = \"shops.query\"", "api = \"shop.query\"");
    assert_mistakes(
        &text,
        &[expect(
            Some("api = \"shop.query\""),
            Some("shops-to-stocks"),
            "source.api",
            "unknown Jushuitan API `shop.query`: did you mean `shops.query`? (if `shop.query` is right",
        )],
    );
    // A page too large for a known API is still caught, naming the API and its cap.
    let text = edit(&shipped(), "page_size = 50\n", "page_size = 60\n");
    assert_mistakes(
        &text,
        &[expect(
            Some("page_size = 60"),
            Some("offline-returns"),
            "source.page_size",
            "60 is over the largest page other.inout.query accepts (50",
        )],
    );
    // A near miss that is meant is known once its cap is written.
    let text = edit(&shipped(), "api = \"shops.query\"", "api = \"shop.query\"");
    let text = edit(
        &text,
        "\"shops.query\" = 100",
        "\"shops.query\" = 100\n\"shop.query\" = 100",
    );
    config::load_str(Path::new("x.toml"), &text).expect("an API with its cap is valid");
    // Any other paged API is taken, with the default cap of 50 (purchasein.query and the other
    // flows' APIs have built-in caps now; inventory.query has none).
    let text = edit(
        &shipped(),
        "api = \"shops.query\"",
        "api = \"inventory.query\"",
    );
    assert_mistakes(
        &text,
        &[expect(
            Some("page_size = 100"),
            Some("shops-to-stocks"),
            "source.page_size",
            "100 is over 50, the page size ferry assumes for an API it has no cap for",
        )],
    );
    let text = edit(&text, "page_size = 100", "page_size = 50");
    config::load_str(Path::new("x.toml"), &text).expect("another API is valid");
    // The flows' APIs have their caps built in.
    let text = edit(
        &shipped(),
        "api = \"shops.query\"",
        "api = \"purchasein.query\"",
    );
    assert_mistakes(
        &text,
        &[expect(
            Some("page_size = 100"),
            Some("shops-to-stocks"),
            "source.page_size",
            "100 is over the largest page purchasein.query accepts (50",
        )],
    );
}

#[test]
fn a_bad_start_from_is_one_mistake() {
    let text = edit(
        &shipped(),
        "start_from = \"2026-09-01 00:00:00\"",
        "start_from = \"next tuesday\"",
    );
    assert_mistakes(
        &text,
        &[expect(
            Some("start_from = \"next tuesday\""),
            Some("offline-returns"),
            "source.start_from",
            "`next tuesday` is not a Beijing time",
        )],
    );
    let errors = config::load_str(Path::new("x.toml"), &text).expect_err("broken");
    let line = line_of(&text, "start_from = \"next tuesday\"");
    assert!(
        errors.to_string().starts_with(&format!(
            "x.toml:{line}:14: [scheme offline-returns] source.start_from: `next tuesday`"
        )),
        "{errors}"
    );
    // A bad window beside a good start_from: one mistake too.
    let text = edit(&shipped(), "window = \"7d\"", "window = \"a week\"");
    assert_mistakes(
        &text,
        &[expect(
            Some("window = \"a week\""),
            Some("offline-returns"),
            "source.window",
            "is not a duration",
        )],
    );
}

#[test]
fn zero_and_endless_durations_are_rejected() {
    let text = edit(&shipped(), "timeout = \"30s\"", "timeout = \"0ms\"");
    let text = edit(
        &text,
        "connect_timeout = \"10s\"",
        "connect_timeout = \"0s\"",
    );
    let text = edit(&text, "timeout = \"120s\"", "timeout = \"0m\"");
    let text = edit(&text, "every = \"1h\"", "every = \"0s\"");
    let text = edit(&text, "every = \"10s\"", "every = \"1000y\"");
    let text = edit(&text, "window = \"7d\"", "window = \"0d\"");
    let text = edit(
        &text,
        "backoff = [\"5s\", \"20s\", \"5m\", \"1h\", \"4h\", \"20h\"]\n\n[scheme.source]\napi = \"other",
        "backoff = [\"0s\", \"20s\", \"5m\", \"1h\", \"4h\", \"20h\"]\n\n[scheme.source]\napi = \"other",
    );
    assert_mistakes(
        &text,
        &[
            expect(
                Some("timeout = \"0ms\""),
                None,
                "jushuitan.timeout",
                "must be more than 0",
            ),
            expect(
                Some("connect_timeout = \"0s\""),
                None,
                "kingdee.connect_timeout",
                "must be more than 0",
            ),
            expect(
                Some("timeout = \"0m\""),
                None,
                "kingdee.timeout",
                "must be more than 0",
            ),
            expect(
                Some("every = \"0s\""),
                Some("shops-to-stocks"),
                "every",
                "must be at least 1s",
            ),
            expect(
                Some("every = \"1000y\""),
                Some("offline-returns"),
                "every",
                "`1000y` is too long: at most 366 days",
            ),
            expect(
                Some("window = \"0d\""),
                Some("offline-returns"),
                "source.window",
                "must be more than 0",
            ),
            expect(
                Some("backoff = [\"0s\""),
                Some("offline-returns"),
                "retry.backoff[0]",
                "must be more than 0",
            ),
        ],
    );
}

#[test]
fn a_bad_value_does_not_also_count_as_missing_or_unpaired() {
    // A key that is not a source path: one mistake, not also "missing required key".
    let text = edit(&shipped(), "key = \"io_id\"", "key = \"io_id[\"");
    assert_mistakes(
        &text,
        &[expect(
            Some("key = \"io_id[\""),
            Some("offline-returns"),
            "source.key",
            "",
        )],
    );
    // A bad `lines`: one mistake, not also "lines and line_key go together".
    let text = edit(&shipped(), "lines = \"items\"", "lines = \"items[\"");
    assert_mistakes(
        &text,
        &[expect(
            Some("lines = \"items[\""),
            Some("offline-returns"),
            "source.lines",
            "",
        )],
    );
    // A lookup that is not a table: one mistake, not also "lookup is not defined" where used.
    let text = edit(
        &shipped(),
        "[lookups.customer]    # Jushuitan drp_co_name → Kingdee customer number\n\"\" = \"CUST000\"\n\"线下门店-北京\" = \"CUST001\"\n\"线下门店-上海\" = \"CUST002\"\n\"线下门店-广州\" = \"CUST003\"\n",
        "",
    );
    let text = edit(
        &text,
        "[lookups.warehouse]",
        "[lookups]\ncustomer = 5\n[lookups.warehouse]",
    );
    assert_mistakes(
        &text,
        &[expect(
            Some("customer = 5"),
            None,
            "lookups.customer",
            "expected a table",
        )],
    );
    // A section that is not a table: one mistake, not also "missing required key".
    let text = without_simulator();
    let (start, end) = (
        text.find("[jushuitan]\n").expect("[jushuitan]"),
        text.find("[kingdee]\n").expect("[kingdee]"),
    );
    let text = format!("{}{}", &text[..start], &text[end..]);
    let text = edit(
        &text,
        "data_dir = \"data\"\n",
        "data_dir = \"data\"\njushuitan = 5\n",
    );
    assert_mistakes(
        &text,
        &[expect(
            Some("jushuitan = 5"),
            None,
            "jushuitan",
            "expected a table, found an integer",
        )],
    );
    // The same unset variable twice in one value: said once.
    let text = edit(
        &shipped(),
        "# app_secret = \"${JST_APP_SECRET}\"",
        "app_secret = \"${FERRY_IT_TWICE_UNSET}${FERRY_IT_TWICE_UNSET}\"",
    );
    assert_mistakes(
        &text,
        &[expect(
            None,
            None,
            "jushuitan.app_secret",
            "environment variable `FERRY_IT_TWICE_UNSET` is not set",
        )],
    );
}

#[test]
fn without_secrets_needed_an_unset_or_missing_secret_is_no_mistake() {
    let text = edit(
        &without_simulator(),
        "app_secret = \"kd-secret\"",
        "app_secret = \"${FERRY_IT_NOT_NEEDED_UNSET}\"",
    );
    assert!(config::load_str(Path::new("x.toml"), &text).is_err());
    let c = config::load_str_with(Path::new("x.toml"), &text, config::Secrets::NotNeeded)
        .expect("status, dlq and trace need no secrets");
    assert_eq!(c.schemes.len(), 2);
    // Everything else is still checked.
    let text = edit(&text, "every = \"1h\"", "every = \"soon\"");
    let errors = config::load_str_with(Path::new("x.toml"), &text, config::Secrets::NotNeeded)
        .expect_err("a bad every");
    assert_eq!(errors.len(), 1, "{errors}");
}
