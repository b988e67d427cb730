//! Reconciliation of uncertain entries (crash mid-send, timeout, lost reply): each InFlight
//! entry is looked up in Kingdee by identity, once its request can no longer be running there,
//! and becomes Delivered (found) or Pending (absent) before anything is sent again.

use std::collections::BTreeMap;

use super::WriteCore;
use crate::pipeline::blocking;
use crate::pipeline::delivery::after_lookup;
use crate::pipeline::PipelineError;
use crate::store::{Delivery, Finish, OutboxEntry};
use crate::time::now_unix;

/// Identities per reconciliation query.
const LOOKUP_CHUNK: usize = 100;
/// InFlight entries read from the store at a time.
const RECONCILE_PAGE: usize = 1_000;

impl WriteCore {
    /// How long a request whose reply we never saw may still be running inside Kingdee: a save
    /// looked up sooner could still land after the lookup said "absent" (and be posted twice).
    fn grace(&self) -> i64 {
        self.shared.config.kingdee.timeout.as_secs() as i64 + 2
    }

    /// Looks every InFlight entry up in Kingdee by identity: Delivered if it is there, Pending
    /// (to be sent again) if not. Entries sent less than [`grace`](Self::grace) ago are left
    /// for a later call (the request may still be running inside Kingdee). The entries are read
    /// [`RECONCILE_PAGE`] at a time, without their models: every reply of a long drain can come
    /// back uncertain (a store restored from an old copy, say), and 200,000 uncertain entries
    /// loaded at once took 650 MB.
    pub async fn reconcile(&mut self) -> Result<(), PipelineError> {
        let now = now_unix();
        let grace = self.grace();
        let (mut after, mut young, mut next) = (None, 0usize, None::<i64>);
        loop {
            let page = blocking(&self.shared.store, move |s| {
                s.in_flight_after(after, RECONCILE_PAGE)
            })
            .await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            let more = page.len() == RECONCILE_PAGE;
            let mut old = Vec::with_capacity(page.len());
            for e in page {
                match e.state {
                    Delivery::InFlight { since, .. } if since + grace > now => {
                        young += 1;
                        next = Some(next.map_or(since + grace, |n| n.min(since + grace)));
                    }
                    _ => old.push(e),
                }
            }
            self.look_up(old).await?;
            if !more {
                break;
            }
        }
        if let Some(at) = next {
            tracing::info!(
                entries = young,
                wait_s = at - now,
                "uncertain entries are looked up in Kingdee once their request can no longer be running"
            );
        }
        self.needs_reconcile = next.is_some();
        self.reconcile_at = next.unwrap_or(0);
        Ok(())
    }

    /// Looks `entries` up in Kingdee, scheme by scheme, [`LOOKUP_CHUNK`] identities per query,
    /// and stores what each lookup settled.
    async fn look_up(&mut self, entries: Vec<OutboxEntry>) -> Result<(), PipelineError> {
        let mut by_scheme: BTreeMap<String, Vec<OutboxEntry>> = BTreeMap::new();
        for e in entries {
            by_scheme.entry(e.scheme.clone()).or_default().push(e);
        }
        for (name, group) in by_scheme {
            let Some(scheme) = self.scheme(&name).cloned() else {
                let fin: Vec<(u64, Finish)> = group
                    .iter()
                    .map(|e| {
                        (
                            e.id,
                            Finish::Dead {
                                error: format!("scheme {name} is no longer in the config; its outcome in Kingdee is unknown"),
                            },
                        )
                    })
                    .collect();
                super::report::dead_letters(&self.shared.telemetry, &name, &group, &fin);
                blocking(&self.shared.store, move |s| s.finish(fin)).await?;
                continue;
            };
            for chunk in group.chunks(LOOKUP_CHUNK) {
                let identities: Vec<String> = chunk.iter().map(|e| e.identity.clone()).collect();
                let found = self
                    .shared
                    .kd
                    .find(
                        &scheme.target.form_id,
                        &scheme.target.id_field,
                        &scheme.target.identity_field,
                        &identities,
                    )
                    .await
                    .map_err(|e| {
                        PipelineError::Sink(format!(
                            "looking up {} identities: {e}",
                            identities.len()
                        ))
                    })?;
                let fin = after_lookup(chunk, &found, &scheme.retry, now_unix());
                self.count(&name, &fin);
                super::report::dead_letters(&self.shared.telemetry, &name, chunk, &fin);
                tracing::info!(scheme = %name, checked = chunk.len(), found = found.len(), "reconciled uncertain entries");
                blocking(&self.shared.store, move |s| s.finish(fin)).await?;
            }
        }
        Ok(())
    }
}
