//! Every fault profile still delivers every document.

use super::*;

fn profile_delivers_everything(profile: &str, timeout: Duration) {
    let sim = fast_sim(200, profile);
    let mut s = settings(&sim);
    s.timeout = timeout;
    s.max_tries = 3;
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let got =
        bounded(120, all_documents(&c, now, 32, 8)).unwrap_or_else(|e| panic!("{profile}: {e}"));
    assert_eq!(ids(&got), ids(&sim.documents_at(now)), "{profile}");
    assert!(sim.faults_injected() > 0, "{profile} injected nothing");
    eprintln!("{profile}: {} faults injected", sim.faults_injected());
    sim.stop();
}

#[test]
fn fault_rate_storm_delivers_everything() {
    profile_delivers_everything("rate-storm", Duration::from_secs(5));
}

#[test]
fn fault_http5xx_delivers_everything() {
    profile_delivers_everything("http5xx", Duration::from_secs(5));
}

#[test]
fn fault_timeouts_deliver_everything() {
    profile_delivers_everything("timeouts", Duration::from_millis(700));
}

#[test]
fn fault_latency_delivers_everything() {
    profile_delivers_everything("latency", Duration::from_secs(5));
}

#[test]
fn fault_session_loss_and_chaos_deliver_everything() {
    profile_delivers_everything("session-loss", Duration::from_secs(5));
    profile_delivers_everything("chaos", Duration::from_millis(700));
}

#[test]
fn unknown_fault_profile_is_an_error() {
    let e = sim::start(JstSimOptions {
        faults: "earthquake".into(),
        ..Default::default()
    });
    assert!(e.is_err_and(|e| e.to_string().contains("earthquake")));
}
