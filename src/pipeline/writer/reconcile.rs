//! Reconciliation of uncertain entries (crash mid-send, timeout, lost reply): each InFlight
//! entry is looked up in Kingdee by identity, once its request can no longer be running there,
//! and becomes Delivered (found) or Pending (absent) before anything is sent again.

use std::collections::BTreeMap;

use super::WriteCore;
use crate::pipeline::blocking;
use crate::pipeline::delivery::after_lookup;
use crate::pipeline::PipelineError;
use crate::store::{Finish, OutboxEntry};
use crate::time::now_unix;

/// Identities per reconciliation query.
const LOOKUP_CHUNK: usize = 100;

impl WriteCore {
    /// How long a request whose reply we never saw may still be running inside Kingdee: a save
    /// looked up sooner could still land after the lookup said "absent" (and be posted twice).
    fn grace(&self) -> i64 {
        self.shared.config.kingdee.timeout.as_secs() as i64 + 2
    }

    /// Looks every InFlight entry up in Kingdee by identity: Delivered if it is there, Pending
    /// (to be sent again) if not. Entries sent less than [`grace`](Self::grace) ago are left
    /// for a later call (the request may still be running inside Kingdee).
    pub async fn reconcile(&mut self) -> Result<(), PipelineError> {
        let all = blocking(&self.shared.store, |s| s.in_flight()).await?;
        let now = now_unix();
        let grace = self.grace();
        let (entries, young): (Vec<OutboxEntry>, Vec<OutboxEntry>) =
            all.into_iter().partition(|e| match e.state {
                crate::store::Delivery::InFlight { since, .. } => since + grace <= now,
                _ => true,
            });
        let next = young
            .iter()
            .filter_map(|e| match e.state {
                crate::store::Delivery::InFlight { since, .. } => Some(since + grace),
                _ => None,
            })
            .min();
        if let Some(at) = next {
            tracing::info!(
                entries = young.len(),
                wait_s = at - now,
                "uncertain entries are looked up in Kingdee once their request can no longer be running"
            );
        }
        if entries.is_empty() {
            self.needs_reconcile = next.is_some();
            self.reconcile_at = next.unwrap_or(0);
            return Ok(());
        }
        let mut by_scheme: BTreeMap<String, Vec<OutboxEntry>> = BTreeMap::new();
        for e in entries {
            by_scheme.entry(e.scheme.clone()).or_default().push(e);
        }
        for (name, group) in by_scheme {
            let Some(scheme) = self.scheme(&name).cloned() else {
                let fin = group
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
                tracing::info!(scheme = %name, checked = chunk.len(), found = found.len(), "reconciled uncertain entries");
                blocking(&self.shared.store, move |s| s.finish(fin)).await?;
            }
        }
        self.needs_reconcile = next.is_some();
        self.reconcile_at = next.unwrap_or(0);
        Ok(())
    }
}
