//! Every flag with a typed value refuses a bad one as a usage error that names the flag (exit 2),
//! before anything is read or asked.

use crate::support::imagefacts;

/// `(command and its required arguments, flag, a bad value)`.
const TYPED: [(&[&str], &str, &str); 24] = [
    (&["inspect", "a:1"], "--timeout", "soon"),
    (&["inspect", "a:1"], "--deadline", "-1s"),
    (&["inspect", "a:1"], "--max-retry-time", "2x"),
    (&["inspect", "a:1"], "--cache-ttl", "forever"),
    (&["inspect", "a:1"], "--credential-helper-timeout", "1y"),
    (&["inspect", "a:1"], "--per-registry", "0"),
    (&["inspect", "a:1"], "--retries", "many"),
    (&["inspect", "a:1"], "--concurrency", "0"),
    (&["inspect", "a:1"], "--max-platforms", "10001"),
    (&["inspect", "a:1"], "--platform", "linux/"),
    (&["inspect", "a:1"], "--fallback", "sometimes"),
    (&["inspect", "a:1"], "--progress", "loud"),
    (&["list"], "--page-size", "0"),
    (&["list"], "--output", "xml"),
    (&["collect"], "--page-size", "-5"),
    (&["collect"], "--deadline", "tomorrow"),
    (&["report", "f.json"], "--now", "yesterday"),
    (&["report", "f.json"], "--stale-after", "old"),
    (&["report", "f.json"], "--output", "pdf"),
    (&["analyze", "f.json"], "--now", "2026-13-01T00:00:00Z"),
    (&["analyze", "f.json"], "--stale-after", "31x"),
    (&["analyze", "f.json"], "--output", "yaml"),
    (&["bundle"], "--deadline", "1 hour"),
    (&["bundle"], "--timeout", ""),
];

#[test]
fn every_typed_flag_names_itself_in_its_usage_error() {
    for (command, flag, bad) in TYPED {
        let mut args: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("{flag}={bad}"));
        let run = imagefacts(&args);
        assert_eq!(run.status, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(flag),
            "{args:?}: the error names {flag}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}
