//! The Chinese text of an alert: one section per topic (how many, the first few documents or
//! errors, what to do), fitted within the byte limit of the robot it goes to. What does not fit
//! is counted ("…及另外 9 条"), never cut in the middle of a line.

use std::time::Duration;

use super::digest::{Digest, Group, Topic};
use crate::http::printable;
use crate::telemetry::{Event, System};

/// An item line is at most this many characters (Kingdee's messages are short; a hostile one
/// is not allowed to fill the message).
const LINE_CHARS: usize = 200;

fn system_cn(s: System) -> &'static str {
    match s {
        System::Kingdee => "金蝶云星空",
        System::Jushuitan => "聚水潭",
    }
}

/// A period in whole seconds, as the text says it (at least 1).
pub fn period_secs(d: Duration) -> u64 {
    (d.as_secs_f64().round() as u64).max(1)
}

/// "5 分钟", "40 秒", "2 小时 5 分钟".
pub fn period_text(d: Duration) -> String {
    let s = period_secs(d);
    if s < 60 {
        format!("{s} 秒")
    } else if s < 3600 {
        format!("{} 分钟", (s + 30) / 60)
    } else {
        let m = (s % 3600 + 30) / 60;
        if m == 0 || m == 60 {
            format!("{} 小时", (s + 1800) / 3600)
        } else {
            format!("{} 小时 {m} 分钟", s / 3600)
        }
    }
}

/// A section's fixed text: heading, the unit of "及另外 N …", and a hint on what to do.
struct Section {
    heading: String,
    unit: &'static str,
    hint: Option<&'static str>,
    /// Whether the heading counts events over the period (said before it; a recovery is not).
    over_period: bool,
}

/// A section with its item lines and how many events it counts.
struct Filled {
    section: Section,
    lines: Vec<(String, u64)>,
    count: u64,
}

fn section(g: &Group, period: &str) -> Section {
    let n = g.count;
    let mut s = section_words(g.topic, n);
    // "过去 5 分钟 12 条单据…", "过去 5 分钟无法连接…": a space only before a number.
    if !period.is_empty() && s.over_period {
        let space = if s.heading.starts_with(|c: char| c.is_ascii_digit()) {
            " "
        } else {
            ""
        };
        s.heading = format!("{period}{space}{}", s.heading);
    }
    s
}

fn section_words(topic: Topic, n: u64) -> Section {
    match topic {
        Topic::DeadLetter => Section {
            heading: format!("{n} 条单据进入死信："),
            unit: "条",
            hint: Some("处理：用 ferry dlq list（或控制台）查看全部原因，修正后用 ferry dlq replay 重新提交。"),
            over_period: true,
        },
        Topic::SchemeFailing => Section {
            heading: format!("方案同步失败 {n} 次："),
            unit: "次",
            hint: Some("ferry 会在下次定时自动重试；请按上面的错误检查。"),
            over_period: true,
        },
        Topic::SchemeRecovered => Section {
            heading: "方案已恢复同步：".into(),
            unit: "次",
            hint: None,
            over_period: false,
        },
        Topic::Unreachable(s) => Section {
            heading: format!("无法连接{}（{n} 次）：", system_cn(s)),
            unit: "次",
            hint: Some(match s {
                System::Kingdee => "单据保留在 ferry 中，恢复连接后自动送出；请检查金蝶服务器和网络。",
                System::Jushuitan => "恢复连接后自动补抓；请检查网络和聚水潭开放平台状态。",
            }),
            over_period: true,
        },
        Topic::Reachable(s) => Section {
            heading: format!("{}已恢复连接。", system_cn(s)),
            unit: "次",
            hint: None,
            over_period: false,
        },
        Topic::TokenExpiring(s) => Section {
            heading: format!("{}的凭据需要人工处理（{n} 次）：", system_cn(s)),
            unit: "次",
            hint: None,
            over_period: true,
        },
    }
}

/// The line an event contributes to its section (`None`: the heading says it all).
fn item(event: &Event) -> Option<String> {
    let line = match event {
        Event::DeadLetter {
            scheme,
            source_key,
            identity,
            reason,
        } => {
            let doc = if identity.is_empty() || identity == source_key {
                source_key.clone()
            } else {
                format!("{source_key}（{identity}）")
            };
            format!("方案 {scheme}，单据 {doc}：{reason}")
        }
        Event::SchemeFailing {
            scheme,
            error,
            failures,
        } => format!("方案 {scheme} 连续 {failures} 次失败：{error}"),
        Event::SchemeRecovered { scheme } => format!("方案 {scheme}"),
        Event::Unreachable { error, .. } => error.clone(),
        Event::TokenExpiring {
            detail, expires_at, ..
        } => match expires_at {
            Some(t) => format!("{detail}（到期时间 {}）", crate::time::format_beijing(*t)),
            None => detail.clone(),
        },
        Event::Reachable { .. } | Event::BatchSaved { .. } => return None,
    };
    Some(printable(&line, LINE_CHARS))
}

/// The distinct lines of a group, each with how many of its events said it.
fn lines(g: &Group) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for e in &g.kept {
        let Some(l) = item(e) else { continue };
        match out.iter_mut().find(|(m, _)| *m == l) {
            Some((_, n)) => *n += 1,
            None => out.push((l, 1)),
        }
    }
    out
}

/// The message for a digest. `period` is how long it gathered (said as "过去 5 分钟"; `None`
/// for a first message that went out at once); the text is at most `max_bytes` long.
pub fn digest_text(d: &Digest, period: Option<Duration>, host: &str, max_bytes: usize) -> String {
    let period = period
        .map(|p| format!("过去 {}", period_text(p)))
        .unwrap_or_default();
    let header = format!("【ferry 告警】主机 {}", printable(host, 64));
    let sections: Vec<Filled> = d
        .groups
        .iter()
        .map(|g| Filled {
            section: section(g, &period),
            lines: lines(g),
            count: g.count,
        })
        .collect();
    let lost = (d.lost > 0).then(|| {
        format!(
            "另有 {} 条事件来得太快，未能逐条统计（详见 ferry 日志）。",
            d.lost
        )
    });
    // What is always written: header, headings, hints, a "及另外" line per section and the lost
    // line. Item lines share what is left, in order.
    let rest_line = |n: u64, unit: &str| format!("…及另外 {n} {unit}。");
    let fixed: usize = header.len()
        + 1
        + sections
            .iter()
            .map(|f| {
                let s = &f.section;
                // A blank line before the heading.
                s.heading.len()
                    + 2
                    + s.hint.map_or(0, |h| h.len() + 1)
                    + rest_line(f.count, s.unit).len()
                    + 1
            })
            .sum::<usize>()
        + lost.as_ref().map_or(0, |l| l.len() + 2);
    let mut budget = max_bytes.saturating_sub(fixed);
    let mut out = header;
    for Filled {
        section: s,
        lines,
        count,
    } in &sections
    {
        out.push_str("\n\n");
        out.push_str(&s.heading);
        let mut shown = 0u64;
        for (i, (l, n)) in lines.iter().enumerate() {
            let line = if *n > 1 {
                format!("\n{}. {l}（{n} 次）", i + 1)
            } else {
                format!("\n{}. {l}", i + 1)
            };
            if line.len() > budget {
                // The rest of this section is counted; a later section may still list some.
                break;
            }
            budget -= line.len();
            out.push_str(&line);
            shown += n;
        }
        let listed = !lines.is_empty();
        if listed && *count > shown {
            out.push('\n');
            out.push_str(&rest_line(count - shown, s.unit));
        }
        if let Some(h) = s.hint {
            out.push('\n');
            out.push_str(h);
        }
    }
    if let Some(l) = lost {
        out.push_str("\n\n");
        out.push_str(&l);
    }
    clip(out, max_bytes)
}

/// The test message of `ferry alert test`.
pub fn test_text(alert: &str, host: &str, max_bytes: usize) -> String {
    clip(
        format!(
            "【ferry 测试】这是 ferry 在主机 {} 上发出的测试消息（告警“{}”）。收到它，说明单据进入死信、同步失败等告警能送到这里。",
            printable(host, 64),
            printable(alert, 64)
        ),
        max_bytes,
    )
}

/// At most `max` bytes, cut at a character boundary.
fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max.saturating_sub("…".len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::alert::digest::KEPT;
    use crate::config::alerts::{Alert, AlertKind, Trigger};
    use crate::secret::Secret;

    fn alert() -> Alert {
        Alert {
            name: "ops".into(),
            kind: AlertKind::WeCom,
            url: Secret::new("http://127.0.0.1:1/x?key=k"),
            secret: None,
            on: crate::config::alerts::TRIGGERS
                .iter()
                .map(|(_, t)| *t)
                .collect(),
            min_interval: Duration::from_secs(300),
        }
    }

    fn dead(i: usize, reason: &str) -> Arc<Event> {
        Arc::new(Event::DeadLetter {
            scheme: "offline-returns".into(),
            source_key: format!("99000{i}"),
            identity: format!("JST-99000{i}"),
            reason: reason.into(),
        })
    }

    #[test]
    fn periods_in_words() {
        assert_eq!(period_text(Duration::from_secs(300)), "5 分钟");
        assert_eq!(period_text(Duration::from_millis(40_400)), "40 秒");
        assert_eq!(period_text(Duration::from_millis(200)), "1 秒");
        assert_eq!(period_text(Duration::from_secs(3600)), "1 小时");
        assert_eq!(period_text(Duration::from_secs(7500)), "2 小时 5 分钟");
    }

    #[test]
    fn a_digest_names_documents_and_counts_the_rest() {
        let a = alert();
        let mut d = Digest::default();
        let reason = "第1行第2个字段“仓库”：编码为“CK999”的仓库不存在";
        for i in 0..12 {
            d.add(&a, dead(i, reason));
        }
        d.add(
            &a,
            Arc::new(Event::Unreachable {
                system: System::Kingdee,
                error: "connection refused".into(),
            }),
        );
        let text = digest_text(&d, Some(Duration::from_secs(300)), "srv01", 2048);
        assert!(
            text.contains("\n\n过去 5 分钟无法连接金蝶云星空（1 次）：\n1. connection refused\n"),
            "{text}"
        );
        assert!(text.starts_with("【ferry 告警】主机 srv01\n\n过去 5 分钟 12 条单据进入死信：\n1. 方案 offline-returns，单据 990000（JST-990000）：第1行"), "{text}");
        assert!(text.contains(reason), "{text}");
        assert!(
            text.contains(&format!("…及另外 {} 条。", 12 - KEPT)),
            "{text}"
        );
        assert!(text.contains("ferry dlq replay"), "{text}");
        assert!(text.len() <= 2048);
    }

    #[test]
    fn a_small_limit_lists_fewer_and_counts_more() {
        let a = alert();
        let mut d = Digest::default();
        for i in 0..12 {
            d.add(&a, dead(i, &"很长的原因".repeat(20)));
        }
        d.add(
            &a,
            Arc::new(Event::Unreachable {
                system: System::Kingdee,
                error: "connection refused".into(),
            }),
        );
        d.add(
            &a,
            Arc::new(Event::Unreachable {
                system: System::Kingdee,
                error: "connection refused".into(),
            }),
        );
        d.add_lost(3);
        let text = digest_text(&d, None, "srv01", 1200);
        assert!(text.len() <= 1200, "{} bytes", text.len());
        let listed = text.matches("方案 offline-returns，单据").count() as u64;
        assert!((1..12).contains(&listed), "{text}");
        assert!(
            text.contains(&format!("…及另外 {} 条。", 12 - listed)),
            "{text}"
        );
        assert!(text.contains("无法连接金蝶云星空（2 次）："), "{text}");
        assert!(text.contains("另有 3 条事件"), "{text}");
        assert!(!text.contains("过去"), "{text}");
    }

    #[test]
    fn repeated_errors_are_one_line() {
        let a = alert();
        let mut d = Digest::default();
        for _ in 0..3 {
            d.add(
                &a,
                Arc::new(Event::SchemeFailing {
                    scheme: "shops".into(),
                    error: "聚水潭答复 code 100".into(),
                    failures: 3,
                }),
            );
        }
        let text = digest_text(&d, None, "h", 2048);
        assert!(
            text.contains("\n1. 方案 shops 连续 3 次失败：聚水潭答复 code 100（3 次）"),
            "{text}"
        );
        assert!(!text.contains("及另外"), "{text}");
        assert!(a.wants(Trigger::SchemeFailing));
    }

    #[test]
    fn clipped_at_a_character() {
        let s = clip("仓库仓库".into(), 8);
        assert!(s.len() <= 8 && s.ends_with('…'), "{s}");
        assert_eq!(clip("ok".into(), 8), "ok");
    }
}
