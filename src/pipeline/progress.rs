//! Progress of a run: one bar per scheme on a terminal, plain log lines otherwise.

use std::collections::BTreeMap;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::time::format_beijing;

pub struct Progress {
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
}

impl Progress {
    pub fn new(bars: bool, schemes: impl IntoIterator<Item = String>) -> Self {
        if !bars {
            return Progress { bars: None };
        }
        let multi = MultiProgress::new();
        let style =
            ProgressStyle::with_template("{prefix:<24} [{bar:30}] {pos}/{len} windows  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let map = schemes
            .into_iter()
            .map(|name| {
                let pb = multi.add(ProgressBar::new(1));
                pb.set_style(style.clone());
                pb.set_prefix(name.clone());
                (name, pb)
            })
            .collect();
        Progress {
            bars: Some((multi, map)),
        }
    }

    /// A window of `scheme` is durably stored (`done` of `total`, up to `end`).
    pub fn window_done(&self, scheme: &str, done: u64, total: u64, end: Option<i64>) {
        match &self.bars {
            Some((_, map)) => {
                if let Some(pb) = map.get(scheme) {
                    pb.set_length(total);
                    pb.set_position(done);
                }
            }
            None => tracing::info!(
                scheme,
                window = done,
                of = total,
                checkpoint = %end.map(format_beijing).unwrap_or_else(|| "-".into()),
                "window stored"
            ),
        }
    }

    /// `n` documents of `scheme` delivered so far in this run.
    pub fn delivered(&self, scheme: &str, n: u64) {
        if let Some((_, map)) = &self.bars {
            if let Some(pb) = map.get(scheme) {
                pb.set_message(format!("{n} delivered"));
            }
        }
    }

    pub fn finish(&self) {
        if let Some((_, map)) = &self.bars {
            for pb in map.values() {
                pb.finish();
            }
        }
    }
}
