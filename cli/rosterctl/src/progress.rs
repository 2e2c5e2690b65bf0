//! Progress bars on a terminal (`indicatif`): validate, plan, apply, pull and
//! generate show a bar (or, when the total is unknown, a counter) with the
//! count and the rate. Nothing is drawn when stderr is not a terminal or the
//! output is JSON.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oneroster::progress::ProgressSink;
use oneroster::Progress;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The progress of a command: bars on stderr when it is a terminal and the
/// output is not JSON, otherwise none.
pub fn for_command(json: bool) -> Progress {
    if shows_bars(json, std::io::stderr().is_terminal()) {
        Progress::to(Arc::new(TerminalProgress::default()))
    } else {
        Progress::none()
    }
}

/// Whether bars are drawn.
pub fn shows_bars(json: bool, stderr_is_terminal: bool) -> bool {
    !json && stderr_is_terminal
}

/// One bar per stage; a finished stage stays as a line with its count and time.
#[derive(Default)]
pub struct TerminalProgress {
    bar: Mutex<Option<(String, ProgressBar)>>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the templates are valid")
        .progress_chars("=> ")
}

impl TerminalProgress {
    fn close(current: &mut Option<(String, ProgressBar)>) {
        if let Some((name, bar)) = current.take() {
            bar.set_style(style("  {msg}"));
            bar.finish_with_message(format!(
                "{name}: {} in {:.1} s",
                oneroster::progress::thousands(bar.position()),
                bar.elapsed().as_secs_f64()
            ));
        }
    }
}

impl ProgressSink for TerminalProgress {
    fn stage(&self, name: &str, total: Option<u64>) {
        let mut current = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        Self::close(&mut current);
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
                .with_style(style(
                    "  {msg} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
                )),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(style("  {spinner} {msg} {human_pos} {per_sec}")),
        };
        bar.set_message(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        *current = Some((name.to_string(), bar));
    }

    fn advance(&self, n: u64) {
        if let Some((_, bar)) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        Self::close(&mut self.bar.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_on_a_terminal_and_never_with_json() {
        assert!(shows_bars(false, true));
        assert!(!shows_bars(true, true));
        assert!(!shows_bars(false, false));
        assert!(!shows_bars(true, false));
    }
}
