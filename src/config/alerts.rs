//! `[[alert]]` entries: where ferry sends a message when something needs a person (a WeCom or
//! DingTalk group robot, or a plain JSON webhook), on which events, and how often at most.
//!
//! The URL is a secret (a robot's URL carries its key): it is never printed; errors name the
//! alert and the field, never the value.

use std::time::Duration;

use super::reader::{Ctx, Secrets, Table};
use super::tree::{line_col, Kind, Node};
use crate::secret::Secret;

/// One `[[alert]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `name`, or `alert-N` (N counts the entries from 1).
    pub name: String,
    pub kind: AlertKind,
    /// The robot's or webhook's URL (WeCom's carries `key=`, DingTalk's `access_token=`).
    pub url: Secret,
    /// DingTalk's 加签 signing secret (`SEC...`), when the robot has one.
    pub secret: Option<Secret>,
    /// Which events go out (every one when `on` is left out).
    pub on: Vec<Trigger>,
    /// At most one message per this long; what arrives meanwhile is folded into a digest.
    pub min_interval: Duration,
}

impl Alert {
    pub fn wants(&self, t: Trigger) -> bool {
        self.on.contains(&t)
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// 企业微信群机器人.
    WeCom,
    /// 钉钉自定义机器人.
    DingTalk,
    /// A plain JSON POST (shape in `alert::send`).
    Webhook,
}

/// What the config knows about each kind: its name in config.toml, the query parameter its URL
/// must carry, and whether it signs.
struct KindSpec {
    name: &'static str,
    kind: AlertKind,
    /// The query parameter that holds the robot's key, with how the URL looks.
    key_param: Option<(&'static str, &'static str)>,
    signs: bool,
}

const KINDS: &[KindSpec] = &[
    KindSpec {
        name: "wecom",
        kind: AlertKind::WeCom,
        key_param: Some((
            "key",
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
        )),
        signs: false,
    },
    KindSpec {
        name: "dingtalk",
        kind: AlertKind::DingTalk,
        key_param: Some((
            "access_token",
            "https://oapi.dingtalk.com/robot/send?access_token=...",
        )),
        signs: true,
    },
    KindSpec {
        name: "webhook",
        kind: AlertKind::Webhook,
        key_param: None,
        signs: false,
    },
];

impl AlertKind {
    /// The name written in config.toml.
    pub fn as_str(self) -> &'static str {
        KINDS
            .iter()
            .find(|k| k.kind == self)
            .map(|k| k.name)
            .unwrap_or("webhook")
    }
}

/// The events an alert can be sent on (`on = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Trigger {
    /// A document went to the dead letters.
    DeadLetter,
    /// A scheme's catch-up keeps failing (and when it recovers).
    SchemeFailing,
    /// Kingdee cannot be reached (and when it answers again).
    KingdeeUnreachable,
    /// Jushuitan cannot be reached (and when it answers again).
    JushuitanUnreachable,
    /// Credentials are expiring or were refused.
    TokenExpiring,
}

/// Each trigger with its name in config.toml.
pub const TRIGGERS: &[(&str, Trigger)] = &[
    ("dead_letter", Trigger::DeadLetter),
    ("scheme_failing", Trigger::SchemeFailing),
    ("kingdee_unreachable", Trigger::KingdeeUnreachable),
    ("jushuitan_unreachable", Trigger::JushuitanUnreachable),
    ("token_expiring", Trigger::TokenExpiring),
];

impl Trigger {
    pub fn as_str(self) -> &'static str {
        TRIGGERS
            .iter()
            .find(|(_, t)| *t == self)
            .map(|(n, _)| *n)
            .unwrap_or("dead_letter")
    }
}

/// `min_interval` when not given.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(300);

/// Reads every `[[alert]]`; absent is none.
pub(super) fn alerts(ctx: &mut Ctx, root: &mut Table) -> Vec<Alert> {
    let Some(e) = root.get("alert") else {
        return Vec::new();
    };
    let nodes: Vec<&Node> = match &e.value.kind {
        Kind::Array(a) => a.iter().collect(),
        Kind::Table(_) => vec![&e.value],
        other => {
            ctx.err(
                &e.value.span,
                "alert",
                format!("expected [[alert]] tables, found {}", other.type_name()),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    // Names seen so far, with their line.
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        if let Some(a) = alert(ctx, node, i, &mut names) {
            out.push(a);
        }
    }
    out
}

fn alert(
    ctx: &mut Ctx,
    node: &Node,
    index: usize,
    names: &mut Vec<(String, usize)>,
) -> Option<Alert> {
    let mut t = Table::of(ctx, node, &format!("alert[{}]", index + 1))?;
    let name = name(ctx, &mut t, index, names);
    let kind = kind(ctx, &mut t);
    let url = url(ctx, &mut t, kind);
    let secret = secret(ctx, &mut t, kind);
    let on = on(ctx, &mut t);
    let min_interval = match t.get("min_interval").map(|e| e.value.span.clone()) {
        None => Some(DEFAULT_MIN_INTERVAL),
        Some(span) => match t.duration(ctx, "min_interval") {
            Some(d) if d < Duration::from_secs(1) => {
                ctx.err(
                    &span,
                    &t.field("min_interval"),
                    "must be at least 1s (robots refuse more than 20 messages a minute)",
                );
                None
            }
            d => d,
        },
    };
    t.finish(ctx);
    Some(Alert {
        name: name?,
        kind: kind?,
        url: url?,
        secret: secret?,
        on: on?,
        min_interval: min_interval?,
    })
}

fn name(
    ctx: &mut Ctx,
    t: &mut Table,
    index: usize,
    names: &mut Vec<(String, usize)>,
) -> Option<String> {
    let (name, span) = match t.get("name").map(|e| e.value.span.clone()) {
        None => (format!("alert-{}", index + 1), t.span.clone()),
        Some(span) => {
            let n = t.string(ctx, "name")?;
            if n.trim().is_empty() {
                ctx.err(&span, &t.field("name"), "must not be empty");
                return None;
            }
            (n, span)
        }
    };
    if let Some((_, first)) = names.iter().find(|(m, _)| *m == name) {
        ctx.err(
            &span,
            &t.field("name"),
            format!(
                "an alert named `{name}` is defined twice (first on line {first}); alert names \
                 must be unique (`ferry alert test --name` picks one by it)"
            ),
        );
        return None;
    }
    names.push((name.clone(), line_col(ctx.text, span.start).0));
    Some(name)
}

fn kind(ctx: &mut Ctx, t: &mut Table) -> Option<AlertKind> {
    let known = || {
        KINDS
            .iter()
            .map(|k| format!("\"{}\"", k.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(span) = t.get("kind").map(|e| e.value.span.clone()) else {
        ctx.err(
            &t.span,
            &t.field("kind"),
            format!("missing required key (one of {})", known()),
        );
        return None;
    };
    let k = t.string(ctx, "kind")?;
    if let Some(spec) = KINDS.iter().find(|s| s.name == k) {
        return Some(spec.kind);
    }
    let hint = super::suggest::closest(&k, KINDS.iter().map(|s| s.name))
        .map(|n| format!("did you mean `{n}`? "))
        .unwrap_or_default();
    ctx.err(
        &span,
        &t.field("kind"),
        format!("unknown kind `{k}`: {hint}(use one of {})", known()),
    );
    None
}

/// The URL, checked without ever printing it. `kind` is `None` when the kind was wrong (then only
/// what every kind needs is checked).
fn url(ctx: &mut Ctx, t: &mut Table, kind: Option<AlertKind>) -> Option<Secret> {
    let Some(span) = t.get("url").map(|e| e.value.span.clone()) else {
        ctx.err(&t.span, &t.field("url"), "missing required key");
        return None;
    };
    let url = t.secret(ctx, "url")?;
    if url.is_empty() && ctx.secrets == Secrets::NotNeeded {
        return Some(url);
    }
    let field = t.field("url");
    let parsed = match reqwest::Url::parse(url.expose().trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        _ => {
            ctx.err(
                &span,
                &field,
                "is not an http:// or https:// URL (the value is not shown: it holds the robot's key)",
            );
            return None;
        }
    };
    let spec = kind.and_then(|k| KINDS.iter().find(|s| s.kind == k));
    if let Some((param, example)) = spec.and_then(|s| s.key_param) {
        let has_key = parsed
            .query_pairs()
            .any(|(k, v)| k == param && !v.trim().is_empty());
        if !has_key {
            ctx.err(
                &span,
                &field,
                format!(
                    "a {} robot's URL carries its `{param}` ({example}); this one has none (copy \
                     the whole webhook address from the robot's settings)",
                    spec.map(|s| s.name).unwrap_or_default()
                ),
            );
            return None;
        }
    }
    Some(Secret::new(url.expose().trim()))
}

/// DingTalk's signing secret; `Some(None)` when absent.
fn secret(ctx: &mut Ctx, t: &mut Table, kind: Option<AlertKind>) -> Option<Option<Secret>> {
    let Some(span) = t.get("secret").map(|e| e.value.span.clone()) else {
        return Some(None);
    };
    let secret = t.secret(ctx, "secret")?;
    let signs = kind
        .and_then(|k| KINDS.iter().find(|s| s.kind == k))
        .map(|s| s.signs);
    if signs == Some(false) {
        ctx.err(
            &span,
            &t.field("secret"),
            "only DingTalk robots sign their messages (加签); remove `secret` or use kind = \"dingtalk\"",
        );
        return None;
    }
    if secret.is_empty() && ctx.secrets == Secrets::Required {
        ctx.err(
            &span,
            &t.field("secret"),
            "is empty (leave `secret` out if the robot does not use 加签)",
        );
        return None;
    }
    Some(Some(secret))
}

fn on(ctx: &mut Ctx, t: &mut Table) -> Option<Vec<Trigger>> {
    let Some(e) = t.get("on") else {
        return Some(TRIGGERS.iter().map(|(_, t)| *t).collect());
    };
    let field = t.field("on");
    let known = || {
        TRIGGERS
            .iter()
            .map(|(n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Kind::Array(items) = &e.value.kind else {
        ctx.err(
            &e.value.span,
            &field,
            format!(
                "expected a list of events like [\"dead_letter\"], found {} (events: {})",
                e.value.kind.type_name(),
                known()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Kind::Str(word) = &item.kind else {
            ctx.err(
                &item.span,
                &field,
                format!("expected an event name, found {}", item.kind.type_name()),
            );
            ok = false;
            continue;
        };
        match TRIGGERS.iter().find(|(n, _)| n == word) {
            Some((_, trigger)) if !out.contains(trigger) => out.push(*trigger),
            Some(_) => {}
            None => {
                let hint = super::suggest::closest(word, TRIGGERS.iter().map(|(n, _)| *n))
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                ctx.err(
                    &item.span,
                    &field,
                    format!("unknown event `{word}`: {hint}(events: {})", known()),
                );
                ok = false;
            }
        }
    }
    if ok && out.is_empty() {
        ctx.err(
            &e.value.span,
            &field,
            format!(
                "is empty: this alert would never send anything (events: {})",
                known()
            ),
        );
        return None;
    }
    ok.then_some(out)
}
