//! Alerts (`[[alert]]`): a task per configured alert listens to the pipeline's telemetry, keeps
//! the events it is `on`, and sends them in Chinese to a WeCom or DingTalk group robot or a
//! plain webhook.
//!
//! Bursts are folded: the first events go out after a short gathering pause ([`GATHER`], so a
//! batch that dead-letters 50 documents is one message), then at most one message per
//! `min_interval`, a digest of everything that arrived meanwhile. A failing webhook is retried a
//! few times and then given up (logged); it never holds up the pipeline: events reach the task
//! through the telemetry's broadcast channel, which never waits, and the task holds nothing
//! else of the pipeline's. On shutdown ([`Alerts::close`]) a pending digest is sent if that
//! takes at most [`FLUSH`].

pub mod digest;
pub mod message;
pub mod send;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::config::Config;
use crate::telemetry::Event;
use digest::Digest;
use send::{Payload, SendError, Sender};

/// How long the first events of a quiet spell are gathered before they go out.
pub const GATHER: Duration = Duration::from_secs(2);
/// How long shutdown waits for pending messages.
pub const FLUSH: Duration = Duration::from_secs(2);

/// The running alert tasks.
pub struct Alerts {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Starts one task per `[[alert]]` of `config`, each with its own subscription to `events`.
/// Must be called inside a tokio runtime.
pub fn spawn(config: &Config, events: broadcast::Receiver<Arc<Event>>) -> Alerts {
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    for alert in &config.alerts {
        match Sender::new(alert) {
            Ok(sender) => {
                let rx = events.resubscribe();
                tasks.push(tokio::spawn(run(sender, rx, stopped.clone())));
            }
            Err(e) => {
                tracing::error!(alert = %alert.name, "alert cannot be sent: {e}");
            }
        }
    }
    Alerts { stop, tasks }
}

impl Alerts {
    /// Stops the tasks after they sent what is pending (at most [`FLUSH`], and a little more).
    pub async fn close(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(FLUSH + Duration::from_millis(500), all).await;
    }
}

/// This machine's name, for the messages ("主机 srv01").
pub fn host_name() -> String {
    if let Some(n) = std::env::var_os("COMPUTERNAME").filter(|n| !n.is_empty()) {
        return n.to_string_lossy().into_owned();
    }
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let n = String::from_utf8_lossy(&buf[..end]).trim().to_string();
            if !n.is_empty() {
                return n;
            }
        }
    }
    "未知主机".into()
}

/// The message for `digest`, sized for the alert's kind.
fn payload(sender: &Sender, digest: Digest, period: Option<Duration>, host: &str) -> Payload {
    let text = message::digest_text(&digest, period, host, sender.protocol().max_bytes);
    let kept: u64 = digest.groups.iter().map(|g| g.kept.len() as u64).sum();
    Payload {
        source: "ferry",
        alert: sender.alert().name.clone(),
        host: host.to_string(),
        test: false,
        text,
        period_secs: period.map(message::period_secs),
        counts: digest
            .groups
            .iter()
            .map(|g| (g.topic.key(), g.count))
            .collect(),
        omitted: digest.total().saturating_sub(kept),
        lost: digest.lost,
        events: digest
            .groups
            .iter()
            .flat_map(|g| g.kept.iter())
            .filter_map(|e| serde_json::to_value(&**e).ok())
            .collect(),
    }
}

/// The test message of `ferry alert test`.
pub fn test_payload(sender: &Sender, host: &str) -> Payload {
    Payload {
        source: "ferry",
        alert: sender.alert().name.clone(),
        host: host.to_string(),
        test: true,
        text: message::test_text(&sender.alert().name, host, sender.protocol().max_bytes),
        period_secs: None,
        counts: Default::default(),
        events: Vec::new(),
        omitted: 0,
        lost: 0,
    }
}

/// Sends one test message (no retries: the admin sees the failure at once).
pub async fn send_test(sender: &Sender) -> Result<(), SendError> {
    sender.attempt(&test_payload(sender, &host_name())).await
}

type Delivery = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Waits for the message being sent, if any.
async fn in_flight(d: &mut Option<Delivery>) {
    match d.as_mut() {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// One alert: fold events, send at most one message per `min_interval`.
async fn run(
    sender: Sender,
    mut events: broadcast::Receiver<Arc<Event>>,
    mut stop: watch::Receiver<bool>,
) {
    let alert = sender.alert().clone();
    let host = host_name();
    let gather = GATHER.min(alert.min_interval);
    let mut digest = Digest::default();
    // When the digest got its first event, and when the last message went out.
    let mut first: Option<Instant> = None;
    let mut last_sent: Option<Instant> = None;
    let mut sending: Option<Delivery> = None;
    loop {
        let due = first.map(|f| {
            let gathered = f + gather;
            match last_sent {
                Some(l) => gathered.max(l + alert.min_interval),
                None => gathered,
            }
        });
        tokio::select! {
            biased;
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            () = in_flight(&mut sending) => sending = None,
            got = events.recv() => match got {
                Ok(event) => {
                    if digest.add(&alert, event) && first.is_none() {
                        first = Some(Instant::now());
                    }
                }
                // Counted, and said in the next message (the lost ones may be saved batches
                // no alert is about, so they alone send nothing).
                Err(broadcast::error::RecvError::Lagged(n)) => digest.add_lost(n),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            () = sleep_until(due), if due.is_some() && sending.is_none() => {
                let now = Instant::now();
                // A digest that waited for min_interval says over how long it gathered.
                let period = last_sent
                    .filter(|l| *l + alert.min_interval > first.unwrap_or(now))
                    .map(|l| now - l);
                let p = payload(&sender, digest.take(), period, &host);
                first = None;
                last_sent = Some(now);
                let s = sender.clone();
                sending = Some(Box::pin(async move {
                    let _ = s.deliver(&p, None).await;
                }));
            }
        }
    }
    // Shutdown: what was emitted before is in the channel already.
    loop {
        match events.try_recv() {
            Ok(event) => {
                digest.add(&alert, event);
            }
            Err(broadcast::error::TryRecvError::Lagged(n)) => digest.add_lost(n),
            Err(_) => break,
        }
    }
    let deadline = Instant::now() + FLUSH;
    let pending = (!digest.is_empty()).then(|| {
        let period = last_sent.map(|l| Instant::now() - l);
        payload(&sender, digest.take(), period, &host)
    });
    let last = async {
        if let Some(p) = &pending {
            let _ = sender.deliver(p, Some(deadline)).await;
        }
    };
    let earlier = async {
        if let Some(s) = sending.take() {
            s.await;
        }
    };
    let both = futures_util::future::join(earlier, last);
    if tokio::time::timeout_at(deadline, both).await.is_err() {
        tracing::warn!(
            alert = %alert.name, host = %sender.host(),
            "ferry is stopping: an alert message could not be sent within {} s and is dropped \
             (the events are in this log)",
            FLUSH.as_secs()
        );
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
