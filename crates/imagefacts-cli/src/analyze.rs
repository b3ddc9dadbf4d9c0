//! `imagefacts analyze FILE|BUNDLE`: the insights over facts, with no request to any registry;
//! and the shared pieces `report` and `bundle` use.

use imagefacts_analysis::{AnalysisResult, Options, Severity, analyze};
use imagefacts_model::facts::FactsFile;
use time::OffsetDateTime;

use crate::Outcome;
use crate::args::{AnalysisArgs, AnalyzeArgs, AnalyzeFormat};
use crate::output::write_output;

/// The analyzers' options from the command line.
pub(crate) fn options(args: &AnalysisArgs, now: OffsetDateTime) -> Options {
    Options {
        now,
        stale_after: args.stale_after,
        production_namespaces: args.production_namespaces.clone(),
    }
}

/// `--now`, else the clock.
pub(crate) fn now(flag: Option<OffsetDateTime>) -> OffsetDateTime {
    flag.unwrap_or_else(OffsetDateTime::now_utc)
}

/// The insights of `file`, as troubleshoot's analysis.json (pretty, with a final newline).
pub(crate) fn analysis_json(results: &[AnalysisResult]) -> anyhow::Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(results)?;
    v.push(b'\n');
    Ok(v)
}

/// One line per insight, worst first: `ERROR  name  detail`; passes only with `all`.
pub(crate) fn text(results: &[AnalysisResult], all: bool) -> String {
    let shown: Vec<&AnalysisResult> = results
        .iter()
        .filter(|r| all || r.severity != Severity::Debug)
        .collect();
    let mut out = String::new();
    for r in &shown {
        let detail = imagefacts_model::text::printable(&r.insight.detail).into_owned();
        out.push_str(&format!(
            "{:<5}  {}\n       {}\n",
            r.severity.as_str().to_uppercase(),
            r.insight.primary,
            detail
        ));
    }
    if shown.is_empty() {
        out.push_str("No insight: every check passed.\n");
    }
    out
}

pub(crate) fn run(args: AnalyzeArgs) -> anyhow::Result<Outcome> {
    let file: FactsFile = crate::report::load(&args.input)?;
    let results = analyze(&file, &options(&args.analysis, now(args.now)));
    let out = match args.format {
        AnalyzeFormat::Json => analysis_json(&results)?,
        AnalyzeFormat::Text => text(&results, args.all).into_bytes(),
    };
    write_output(None, &out)?;
    Ok(Outcome::Success)
}
