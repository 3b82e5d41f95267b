//! Progress of a long simulation on stderr.
//!
//! On a terminal an `indicatif` bar (steps, steps/s, ETA) appears once the run has lasted
//! about a second; elsewhere (a log file, CI) a plain line is printed at most every five
//! seconds after that first second. Short runs print nothing either way, and `quiet` runs never
//! print.
//!
//! [`Progress::set`] may be called once per step. It is cheap because it usually only stores
//! the position and decrements a counter: the clock is read only every `stride` calls, and the
//! stride adapts so that reads happen roughly every 10 ms whatever the call rate (doubling
//! while calls come fast, halving when they come slowly). Output is produced only when due
//! (indicatif limits its own redraws to 20 per second), so there are no syscalls in between.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Nothing is shown before the run has lasted this long.
const SHOW_AFTER: Duration = Duration::from_secs(1);
/// Interval between plain lines when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);
/// The clock is read about this often; the stride between reads adapts to stay near it.
const CHECK_EVERY: Duration = Duration::from_millis(10);
/// The most calls between two reads of the clock (bounds the delay after a sudden slowdown).
const MAX_STRIDE: u32 = 1024;

enum Mode {
    Quiet,
    /// An indicatif bar, hidden until the run has lasted `SHOW_AFTER` (it is fed from the
    /// start so its steps/s estimate covers the whole run); `true` once shown.
    Bar(ProgressBar, bool),
    /// Plain lines; the time of the last one.
    Lines(Option<Instant>),
}

/// Reports how far a run of `total_steps` steps has come (see the module docs).
pub struct Progress {
    total: u64,
    pos: u64,
    /// Where this process started (a resumed run): rates count from here.
    first: u64,
    mode: Mode,
    start: Instant,
    /// Calls left before the next read of the clock.
    countdown: u32,
    /// Calls between reads of the clock.
    stride: u32,
    last_check: Instant,
    finished: bool,
}

impl Progress {
    /// Starts timing a run of `total_steps` steps. With `quiet` nothing is ever printed.
    pub fn new(total_steps: u64, quiet: bool) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bar(new_bar(total_steps), false)
        } else {
            Mode::Lines(None)
        };
        let now = Instant::now();
        Progress {
            total: total_steps,
            pos: 0,
            first: 0,
            mode,
            start: now,
            countdown: 1,
            stride: 1,
            last_check: now,
            finished: false,
        }
    }

    /// A run resumed at step `steps_done`: the position starts there, and steps/s and the ETA
    /// count only the steps this process runs.
    pub fn resumed_at(mut self, steps_done: u64) -> Progress {
        self.pos = steps_done;
        self.first = steps_done;
        if let Mode::Bar(bar, _) = &self.mode {
            bar.set_position(steps_done);
            bar.reset_eta();
        }
        self
    }

    /// Records that `steps_done` steps are done. O(1): mostly a store and a decrement.
    #[inline]
    pub fn set(&mut self, steps_done: u64) {
        self.pos = steps_done;
        if self.countdown > 1 {
            self.countdown -= 1;
            return;
        }
        self.check();
    }

    /// Ends the report: the bar is completed, or a last line is printed if any was before.
    /// Short and quiet runs still print nothing. Calling it again does nothing.
    pub fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let elapsed = self.start.elapsed();
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar, shown) => {
                if *shown {
                    bar.set_position(self.pos);
                    bar.finish();
                }
            }
            Mode::Lines(last) => {
                if last.is_some() {
                    let rate = rate(self.pos - self.first.min(self.pos), elapsed);
                    let line = format!(
                        "step {}/{} ({}), {rate:.0} steps/s, done in {}",
                        self.pos,
                        self.total,
                        percent(self.pos, self.total),
                        duration(elapsed)
                    );
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                }
            }
        }
    }

    /// Reads the clock, adapts the stride, and prints if due.
    #[cold]
    fn check(&mut self) {
        let now = Instant::now();
        let since = now - self.last_check;
        self.last_check = now;
        if since < CHECK_EVERY / 2 {
            self.stride = (self.stride * 2).min(MAX_STRIDE);
        } else if since > CHECK_EVERY * 2 {
            self.stride = (self.stride / 2).max(1);
        }
        self.countdown = self.stride;
        if self.finished {
            return;
        }
        let elapsed = now - self.start;
        match &mut self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar, shown) => {
                if !*shown && elapsed >= SHOW_AFTER {
                    *shown = true;
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                }
                // Redraws are rate-limited by indicatif itself (20 per second).
                bar.set_position(self.pos);
            }
            Mode::Lines(last) => {
                if elapsed >= SHOW_AFTER && last.is_none_or(|t| now - t >= LINE_EVERY) {
                    *last = Some(now);
                    let rate = rate(self.pos - self.first.min(self.pos), elapsed);
                    let eta = if rate > 0.0 {
                        duration(Duration::from_secs_f64(
                            self.total.saturating_sub(self.pos) as f64 / rate,
                        ))
                    } else {
                        "unknown".to_string()
                    };
                    let line = format!(
                        "step {}/{} ({}), {rate:.0} steps/s, ETA {eta}",
                        self.pos,
                        self.total,
                        percent(self.pos, self.total)
                    );
                    let _ = writeln!(std::io::stderr().lock(), "{line}");
                }
            }
        }
    }
}

/// A hidden bar of `total` steps, shown later with `set_draw_target`.
fn new_bar(total: u64) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} steps, {rate}, ETA {eta}",
    )
    .expect("valid progress template")
    .progress_chars("=> ")
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0} steps/s", state.per_sec());
        },
    );
    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()).with_style(style)
}

fn rate(pos: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        pos as f64 / secs
    } else {
        0.0
    }
}

fn percent(pos: u64, total: u64) -> String {
    if total == 0 {
        "100%".to_string()
    } else {
        format!("{:.0}%", 100.0 * pos as f64 / total as f64)
    }
}

/// "16 s", "3 min 20 s", "2 h 05 min".
fn duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..=99 => format!("{s} s"),
        100..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_prints_nothing() {
        let mut p = Progress::new(1000, true);
        for i in 0..=1000 {
            p.set(i);
        }
        p.finish();
        assert!(matches!(p.mode, Mode::Quiet));
    }

    #[test]
    fn zero_steps_do_not_panic() {
        for quiet in [true, false] {
            let mut p = Progress::new(0, quiet);
            p.set(0);
            p.finish();
            p.finish();
            p.set(0);
        }
        assert_eq!(percent(0, 0), "100%");
    }

    #[test]
    fn short_runs_stay_silent() {
        let mut p = Progress::new(100_000, false);
        for i in 0..100_000 {
            p.set(i);
        }
        p.finish();
        match p.mode {
            Mode::Bar(_, shown) => assert!(!shown),
            Mode::Lines(last) => assert!(last.is_none()),
            Mode::Quiet => unreachable!(),
        }
    }

    #[test]
    fn stride_grows_for_fast_calls() {
        let mut p = Progress::new(u64::MAX, true);
        for i in 0..1_000_000 {
            p.set(i);
        }
        assert!(p.stride > 1, "stride {}", p.stride);
    }

    #[test]
    fn resumed_runs_count_their_own_steps() {
        let p = Progress::new(1000, true).resumed_at(600);
        assert_eq!((p.pos, p.first), (600, 600));
        assert_eq!(rate(p.pos - p.first, Duration::from_secs(1)), 0.0);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Duration::from_secs(16)), "16 s");
        assert_eq!(duration(Duration::from_secs(200)), "3 min 20 s");
        assert_eq!(duration(Duration::from_secs(7500)), "2 h 05 min");
    }
}
