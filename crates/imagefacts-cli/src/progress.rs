//! Progress on stderr: an indicatif bar on a terminal, JSON lines on request, or nothing. Data
//! never goes to stderr, progress never to stdout.
//!
//! Every JSON event carries the run's counts so far ([`Counts`]); the last one, `finish`, adds
//! the totals of facts.json's summary and the requests the registry client sent. On a terminal
//! the bar ends with one summary line ([`summary_line`]); elsewhere (`--progress auto` with
//! stderr not a terminal, `--progress none`, `-q`) nothing but errors is printed.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use imagefacts_engine::{Event, EventSink};
use imagefacts_model::facts::Summary;
use imagefacts_registry::{Observer, RetryEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::json;

use crate::args::ProgressArg;
use crate::human::duration as human_duration;

/// Where progress goes.
#[derive(Debug)]
enum Output {
    /// Nothing.
    Quiet,
    /// JSON lines on stderr.
    Json(Mutex<std::io::Stderr>),
    /// A bar on stderr (a terminal), then a summary line.
    Bar(ProgressBar),
}

/// The run's counts so far, in every JSON event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Counts {
    /// Entries finished, with facts or an error.
    pub(crate) completed: usize,
    /// Entries the run will produce (0 before `start`).
    pub(crate) total: usize,
    /// Entries finished with an error.
    pub(crate) failed: usize,
    /// Milliseconds since the reporter was made (the run's start).
    pub(crate) elapsed_ms: u64,
    /// `completed` per second of `elapsed_ms`, to two decimals.
    pub(crate) images_per_second: f64,
    /// Milliseconds left at the rate so far; `null` until an entry has finished, 0 at the end.
    pub(crate) eta_ms: Option<u64>,
}

impl Counts {
    /// The counts of `completed` (of them `failed`) out of `total` after `elapsed`.
    fn new(completed: usize, total: usize, failed: usize, elapsed: Duration) -> Counts {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            completed as f64 / secs
        } else {
            0.0
        };
        let left = total.saturating_sub(completed);
        let eta_ms = match (left, rate > 0.0) {
            (0, _) if completed > 0 || total == 0 => Some(0),
            (_, true) => Some((left as f64 / rate * 1000.0).round() as u64),
            _ => None,
        };
        Counts {
            completed,
            total,
            failed,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            images_per_second: (rate * 100.0).round() / 100.0,
            eta_ms,
        }
    }

    /// `12.3/s eta 4s` for the bar.
    fn rate_and_eta(&self) -> String {
        let eta = self.eta_ms.map_or_else(
            || "-".to_owned(),
            |ms| human_duration(Duration::from_millis(ms)),
        );
        format!("{:.1}/s eta {eta}", self.images_per_second)
    }
}

/// Reports the progress of one collection.
#[derive(Debug)]
pub(crate) struct Reporter {
    output: Output,
    started: Instant,
    total: AtomicUsize,
    completed: AtomicUsize,
    failed: AtomicUsize,
}

impl Reporter {
    /// The reporter for `mode`: `auto` is a bar only when stderr is a terminal and logs are off.
    pub(crate) fn new(mode: ProgressArg) -> Reporter {
        let output = match mode {
            ProgressArg::None => Output::Quiet,
            ProgressArg::Json => Output::Json(Mutex::new(std::io::stderr())),
            ProgressArg::Auto => {
                let verbose = std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
                if std::io::stderr().is_terminal() && !verbose {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    Output::Bar(bar)
                } else {
                    Output::Quiet
                }
            }
        };
        Reporter {
            output,
            started: Instant::now(),
            total: AtomicUsize::new(0),
            completed: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// The counts now.
    fn counts(&self) -> Counts {
        Counts::new(
            self.completed.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.started.elapsed(),
        )
    }

    /// Writes `event` with the counts `counts` merged in, as one JSON line.
    fn json_line(&self, mut event: serde_json::Value, counts: Counts) {
        let Output::Json(err) = &self.output else {
            return;
        };
        if let (Some(obj), Ok(serde_json::Value::Object(c))) =
            (event.as_object_mut(), serde_json::to_value(counts))
        {
            obj.extend(c);
        }
        let mut err = err.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(err, "{event}");
    }

    /// The run is over: its totals, equal to facts.json's summary, and the `requests` the
    /// registry client sent. JSON: a `finish` event; a bar: cleared, then [`summary_line`].
    pub(crate) fn finish(&self, summary: &Summary, requests: u64) {
        let counts = Counts {
            eta_ms: Some(0),
            ..self.counts()
        };
        match &self.output {
            Output::Quiet => {}
            Output::Json(_) => self.json_line(
                json!({
                    "event": "finish",
                    "totalImages": summary.total_images,
                    "succeeded": summary.total_images - summary.collection_errors,
                    "collectionErrors": summary.collection_errors,
                    "fromCache": summary.from_cache,
                    "errorsByKind": summary.errors_by_kind,
                    "requests": requests,
                }),
                counts,
            ),
            Output::Bar(bar) => {
                bar.finish_and_clear();
                let elapsed = Duration::from_millis(counts.elapsed_ms);
                eprintln!("{}", summary_line(summary, requests, elapsed));
            }
        }
    }
}

/// The line a terminal keeps when the bar is gone:
/// `imagefacts: 5 images, 4 ok, 1 error (notFound 1), 11 requests, 0.4s`.
pub(crate) fn summary_line(summary: &Summary, requests: u64, elapsed: Duration) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let errors = summary.collection_errors;
    let mut line = format!(
        "imagefacts: {}, {} ok, {}",
        plural(summary.total_images, "image"),
        summary.total_images - errors,
        plural(errors, "error")
    );
    if !summary.errors_by_kind.is_empty() {
        let kinds: Vec<String> = summary
            .errors_by_kind
            .iter()
            .map(|(kind, n)| format!("{} {n}", kind.as_str()))
            .collect();
        line.push_str(&format!(" ({})", kinds.join(", ")));
    }
    let requests = if requests == 1 {
        "1 request".to_owned()
    } else {
        format!("{requests} requests")
    };
    line.push_str(&format!(", {requests}, {}", human_duration(elapsed)));
    line
}

impl EventSink for Reporter {
    fn event(&self, event: &Event) {
        match event {
            Event::Started { total } => self.total.store(*total, Ordering::Relaxed),
            Event::ImageDone { .. } => {
                self.completed.fetch_add(1, Ordering::Relaxed);
            }
            Event::ImageFailed { .. } => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.completed.fetch_add(1, Ordering::Relaxed);
            }
        }
        let counts = self.counts();
        match (&self.output, event) {
            (Output::Quiet, _) => {}
            (Output::Json(_), Event::Started { .. }) => {
                self.json_line(json!({"event": "start"}), counts);
            }
            (
                Output::Json(_),
                Event::ImageDone {
                    reference,
                    registry,
                    digest,
                    source,
                },
            ) => self.json_line(
                json!({"event": "imageDone", "reference": reference,
                    "registry": registry, "digest": digest, "source": source}),
                counts,
            ),
            (
                Output::Json(_),
                Event::ImageFailed {
                    reference,
                    registry,
                    kind,
                    message,
                },
            ) => self.json_line(
                json!({"event": "imageFailed", "reference": reference,
                    "registry": registry, "kind": kind, "message": message}),
                counts,
            ),
            (Output::Bar(bar), Event::Started { total }) => bar.set_length(*total as u64),
            (Output::Bar(bar), Event::ImageDone { registry, .. })
            | (Output::Bar(bar), Event::ImageFailed { registry, .. }) => {
                bar.inc(1);
                bar.set_message(format!(
                    "{} errors: {} registry: {registry}",
                    counts.rate_and_eta(),
                    counts.failed
                ));
            }
        }
    }
}

impl Observer for Reporter {
    fn retry(&self, e: &RetryEvent) {
        match &self.output {
            Output::Json(_) => self.json_line(
                json!({"event": "retry", "registry": e.registry,
                "what": e.what, "attempt": e.attempt, "delayMs": e.delay.as_millis() as u64,
                "kind": e.kind, "message": e.message}),
                self.counts(),
            ),
            Output::Bar(bar) => bar.set_message(format!(
                "{} retrying {} (attempt {}): {}",
                self.counts().rate_and_eta(),
                e.what,
                e.attempt + 1,
                e.kind.as_str()
            )),
            Output::Quiet => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_rate_and_eta() {
        let c = Counts::new(0, 10, 0, Duration::ZERO);
        assert_eq!((c.images_per_second, c.eta_ms), (0.0, None));
        let c = Counts::new(3, 10, 1, Duration::from_millis(1500));
        assert_eq!(c.images_per_second, 2.0);
        assert_eq!(c.eta_ms, Some(3500));
        assert_eq!(c.rate_and_eta(), "2.0/s eta 3.5s");
        let c = Counts::new(3, 9, 0, Duration::from_secs(7));
        assert_eq!(c.images_per_second, 0.43, "rounded to two decimals");
        let c = Counts::new(10, 10, 0, Duration::from_secs(2));
        assert_eq!(c.eta_ms, Some(0));
        assert_eq!(Counts::new(0, 0, 0, Duration::ZERO).eta_ms, Some(0));
    }
}
