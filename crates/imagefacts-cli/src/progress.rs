//! Progress on stderr: an indicatif bar on a terminal, JSON lines on request, or nothing. Data
//! never goes to stderr, progress never to stdout.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use imagefacts_engine::{Event, EventSink};
use imagefacts_model::facts::Summary;
use imagefacts_registry::{Observer, RetryEvent};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use crate::args::ProgressArg;

/// Where progress goes.
#[derive(Debug)]
pub(crate) enum Reporter {
    /// Nothing.
    Quiet,
    /// JSON lines on stderr.
    Json(Mutex<std::io::Stderr>),
    /// A bar on stderr (a terminal).
    Bar {
        bar: ProgressBar,
        errors: AtomicUsize,
    },
}

impl Reporter {
    /// The reporter for `mode`: `auto` is a bar only when stderr is a terminal and logs are off.
    pub(crate) fn new(mode: ProgressArg) -> Reporter {
        match mode {
            ProgressArg::None => Reporter::Quiet,
            ProgressArg::Json => Reporter::Json(Mutex::new(std::io::stderr())),
            ProgressArg::Auto => {
                let verbose = std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty());
                if std::io::stderr().is_terminal() && !verbose {
                    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} eta {eta} {msg}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    Reporter::Bar {
                        bar,
                        errors: AtomicUsize::new(0),
                    }
                } else {
                    Reporter::Quiet
                }
            }
        }
    }

    fn json_line(&self, value: serde_json::Value) {
        if let Reporter::Json(err) = self {
            let mut err = err.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(err, "{value}");
        }
    }

    /// The run is over: its totals, equal to facts.json's summary.
    pub(crate) fn finish(&self, summary: &Summary) {
        match self {
            Reporter::Quiet => {}
            Reporter::Json(_) => self.json_line(json!({
                "event": "finish",
                "totalImages": summary.total_images,
                "succeeded": summary.total_images - summary.collection_errors,
                "collectionErrors": summary.collection_errors,
                "fromCache": summary.from_cache,
                "errorsByKind": summary.errors_by_kind,
            })),
            Reporter::Bar { bar, .. } => bar.finish_and_clear(),
        }
    }
}

impl EventSink for Reporter {
    fn event(&self, event: &Event) {
        match (self, event) {
            (Reporter::Quiet, _) => {}
            (Reporter::Json(_), Event::Started { total }) => {
                self.json_line(json!({"event": "start", "total": total}));
            }
            (
                Reporter::Json(_),
                Event::ImageDone {
                    reference,
                    registry,
                    digest,
                    source,
                },
            ) => {
                self.json_line(json!({"event": "imageDone", "reference": reference,
                    "registry": registry, "digest": digest, "source": source}));
            }
            (
                Reporter::Json(_),
                Event::ImageFailed {
                    reference,
                    registry,
                    kind,
                    message,
                },
            ) => {
                self.json_line(json!({"event": "imageFailed", "reference": reference,
                    "registry": registry, "kind": kind, "message": message}));
            }
            (Reporter::Bar { bar, .. }, Event::Started { total }) => {
                bar.set_length(*total as u64);
            }
            (
                Reporter::Bar { bar, errors },
                Event::ImageDone { registry, .. } | Event::ImageFailed { registry, .. },
            ) => {
                if matches!(event, Event::ImageFailed { .. }) {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                bar.inc(1);
                bar.set_message(format!(
                    "errors: {} registry: {registry}",
                    errors.load(Ordering::Relaxed)
                ));
            }
        }
    }
}

impl Observer for Reporter {
    fn retry(&self, e: &RetryEvent) {
        match self {
            Reporter::Json(_) => self.json_line(json!({"event": "retry", "registry": e.registry,
                "what": e.what, "attempt": e.attempt, "delayMs": e.delay.as_millis() as u64,
                "kind": e.kind, "message": e.message})),
            Reporter::Bar { bar, .. } => bar.set_message(format!(
                "retrying {} (attempt {}): {}",
                e.what,
                e.attempt + 1,
                e.kind.as_str()
            )),
            Reporter::Quiet => {}
        }
    }
}
