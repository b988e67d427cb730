//! What one alert folds together between two messages: per topic (dead letters, a failing
//! scheme, an unreachable system...) how many events came and the first few of them. Memory is
//! bounded whatever arrives: at most [`KEPT`] events per topic are kept, the rest only counted.

use std::sync::Arc;

use crate::config::alerts::{Alert, Trigger};
use crate::telemetry::{Event, System};

/// Events kept per topic (shown in the message and handed to a plain webhook); the rest are
/// counted.
pub const KEPT: usize = 10;

/// What a message section is about, in the order sections are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    DeadLetter,
    SchemeFailing,
    SchemeRecovered,
    Unreachable(System),
    Reachable(System),
    TokenExpiring(System),
}

impl Topic {
    /// The topic of an event and the `on` trigger that lets it out; `None` for events no alert
    /// is about (a saved batch).
    pub fn of(event: &Event) -> Option<(Topic, Trigger)> {
        let unreachable = |s: System| match s {
            System::Kingdee => Trigger::KingdeeUnreachable,
            System::Jushuitan => Trigger::JushuitanUnreachable,
        };
        match event {
            Event::DeadLetter { .. } => Some((Topic::DeadLetter, Trigger::DeadLetter)),
            Event::SchemeFailing { .. } => Some((Topic::SchemeFailing, Trigger::SchemeFailing)),
            Event::SchemeRecovered { .. } => Some((Topic::SchemeRecovered, Trigger::SchemeFailing)),
            Event::Unreachable { system, .. } => {
                Some((Topic::Unreachable(*system), unreachable(*system)))
            }
            Event::Reachable { system } => Some((Topic::Reachable(*system), unreachable(*system))),
            Event::TokenExpiring { system, .. } => {
                Some((Topic::TokenExpiring(*system), Trigger::TokenExpiring))
            }
            Event::BatchSaved { .. } => None,
        }
    }

    /// Where its section goes in a message.
    fn rank(self) -> u8 {
        let system = |s: System| match s {
            System::Kingdee => 0,
            System::Jushuitan => 1,
        };
        match self {
            Topic::DeadLetter => 0,
            Topic::SchemeFailing => 1,
            Topic::SchemeRecovered => 2,
            Topic::Unreachable(s) => 3 + system(s),
            Topic::Reachable(s) => 5 + system(s),
            Topic::TokenExpiring(s) => 7 + system(s),
        }
    }

    /// The name in a webhook's `counts`.
    pub fn key(self) -> &'static str {
        match self {
            Topic::DeadLetter => "dead_letter",
            Topic::SchemeFailing => "scheme_failing",
            Topic::SchemeRecovered => "scheme_recovered",
            Topic::Unreachable(System::Kingdee) => "kingdee_unreachable",
            Topic::Unreachable(System::Jushuitan) => "jushuitan_unreachable",
            Topic::Reachable(System::Kingdee) => "kingdee_reachable",
            Topic::Reachable(System::Jushuitan) => "jushuitan_reachable",
            Topic::TokenExpiring(System::Kingdee) => "kingdee_token_expiring",
            Topic::TokenExpiring(System::Jushuitan) => "jushuitan_token_expiring",
        }
    }
}

/// One topic's share of a digest.
#[derive(Debug, Clone)]
pub struct Group {
    pub topic: Topic,
    /// Every event of the topic that arrived.
    pub count: u64,
    /// The first [`KEPT`] of them.
    pub kept: Vec<Arc<Event>>,
}

/// Everything that arrived for one alert since its last message.
#[derive(Debug, Clone, Default)]
pub struct Digest {
    /// Sorted by topic.
    pub groups: Vec<Group>,
    /// Events the alert never saw because it fell too far behind.
    pub lost: u64,
}

impl Digest {
    /// Folds `event` in if `alert` is on its trigger; whether it was.
    pub fn add(&mut self, alert: &Alert, event: Arc<Event>) -> bool {
        let Some((topic, trigger)) = Topic::of(&event) else {
            return false;
        };
        if !alert.wants(trigger) {
            return false;
        }
        let i = match self
            .groups
            .binary_search_by_key(&topic.rank(), |g| g.topic.rank())
        {
            Ok(i) => i,
            Err(i) => {
                self.groups.insert(
                    i,
                    Group {
                        topic,
                        count: 0,
                        kept: Vec::new(),
                    },
                );
                i
            }
        };
        let g = &mut self.groups[i];
        g.count = g.count.saturating_add(1);
        if g.kept.len() < KEPT {
            g.kept.push(event);
        }
        true
    }

    /// Counts events lost to a lagging subscription.
    pub fn add_lost(&mut self, n: u64) {
        self.lost = self.lost.saturating_add(n);
    }

    /// Whether nothing the alert is on arrived (lost events alone send no message).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Takes everything, leaving an empty digest.
    pub fn take(&mut self) -> Digest {
        std::mem::take(self)
    }

    /// Every event counted.
    pub fn total(&self) -> u64 {
        self.groups.iter().map(|g| g.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn alert(on: &[Trigger]) -> Alert {
        Alert {
            name: "ops".into(),
            kind: crate::config::alerts::AlertKind::Webhook,
            url: Secret::new("http://127.0.0.1:1/x"),
            secret: None,
            on: on.to_vec(),
            min_interval: std::time::Duration::from_secs(60),
        }
    }

    fn dead(i: usize) -> Arc<Event> {
        Arc::new(Event::DeadLetter {
            scheme: "offline-returns".into(),
            source_key: format!("{i}"),
            identity: format!("JST-{i}"),
            reason: "x".into(),
        })
    }

    #[test]
    fn keeps_the_first_few_and_counts_the_rest() {
        let a = alert(&[Trigger::DeadLetter, Trigger::KingdeeUnreachable]);
        let mut d = Digest::default();
        for i in 0..1000 {
            assert!(d.add(&a, dead(i)));
        }
        assert!(d.add(
            &a,
            Arc::new(Event::Unreachable {
                system: System::Kingdee,
                error: "refused".into()
            })
        ));
        assert_eq!(d.groups.len(), 2);
        assert_eq!(d.groups[0].topic, Topic::DeadLetter);
        assert_eq!(d.groups[0].count, 1000);
        assert_eq!(d.groups[0].kept.len(), KEPT);
        assert_eq!(d.groups[1].count, 1);
        assert_eq!(d.total(), 1001);
        let taken = d.take();
        assert!(d.is_empty());
        assert_eq!(taken.total(), 1001);
    }

    #[test]
    fn only_what_the_alert_is_on() {
        let a = alert(&[Trigger::JushuitanUnreachable]);
        let mut d = Digest::default();
        assert!(!d.add(&a, dead(1)));
        assert!(!d.add(
            &a,
            Arc::new(Event::Unreachable {
                system: System::Kingdee,
                error: "refused".into()
            })
        ));
        assert!(!d.add(
            &a,
            Arc::new(Event::BatchSaved {
                scheme: "s".into(),
                form_id: "F".into(),
                sent: 1,
                saved: 1,
                failed: 0,
                uncertain: 0,
                elapsed_ms: 1
            })
        ));
        assert!(d.is_empty());
        assert!(d.add(
            &a,
            Arc::new(Event::Reachable {
                system: System::Jushuitan
            })
        ));
        assert_eq!(d.groups[0].topic, Topic::Reachable(System::Jushuitan));
    }
}
