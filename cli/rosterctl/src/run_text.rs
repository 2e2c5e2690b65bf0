//! A run record in words for the terminal (`runs show`, and every command
//! that ends with a run): its header, counts, notes and first errors.

use oneroster::report::escape_controls;
use oneroster::EntityKind;
use roster::RunRecord;
use std::fmt::Write as _;

/// Human rendering of a run record.
pub fn render_run(run: &RunRecord) -> String {
    let mut out = String::new();
    render_header(&mut out, run);
    render_counts(&mut out, run);
    render_notes(&mut out, run);
    render_errors(&mut out, run);
    if let Some(report) = &run.report_ref {
        let _ = writeln!(out, "report: {report}");
    }
    out
}

/// The run's id, status, message, source and times.
fn render_header(out: &mut String, run: &RunRecord) {
    let _ = writeln!(
        out,
        "Run {}  tenant {}  status {}",
        run.run_id,
        run.tenant,
        run.status.as_str()
    );
    let _ = writeln!(out, "  {}", escape_controls(&run.message));
    let _ = writeln!(
        out,
        "  source: {} {}",
        run.source.kind, run.source.reference
    );
    if let Some(generated) = run.generated_at {
        let _ = writeln!(out, "  generated: {generated}");
    }
    if let Some(received) = run.received_at {
        let _ = writeln!(out, "  received: {received}");
    }
    if let Some(reverted) = &run.reverts {
        let _ = writeln!(out, "  reverts run {reverted}");
    }
    if let Some(by) = &run.reverted_by {
        let _ = writeln!(out, "  reverted by run {by}");
    }
    let _ = writeln!(
        out,
        "  started: {}  ended: {}",
        run.started_at,
        run.ended_at
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".into())
    );
}

/// The table of counts per type, the items written and the store's usage.
fn render_counts(out: &mut String, run: &RunRecord) {
    if !run.counts.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<18} {:>9} {:>9} {:>10} {:>9} {:>7} {:>11} {:>9} {:>8}",
            "type",
            "inserted",
            "updated",
            "unchanged",
            "archived",
            "ended",
            "unarchived",
            "rejected",
            "skipped"
        );
        for kind in EntityKind::ALL {
            if let Some(c) = run.counts.get(kind.file_name()) {
                let _ = writeln!(
                    out,
                    "{:<18} {:>9} {:>9} {:>10} {:>9} {:>7} {:>11} {:>9} {:>8}",
                    kind.file_name(),
                    c.inserted,
                    c.updated,
                    c.unchanged,
                    c.archived,
                    c.ended,
                    c.unarchived,
                    c.rejected,
                    c.skipped
                );
            }
        }
        let _ = writeln!(out, "items written: {}", run.items_written);
        if let Some(usage) = &run.store_usage {
            let _ = writeln!(
                out,
                "store requests: {}, {:.1} read units, {:.1} write units, {} retries",
                usage.requests, usage.read_units, usage.write_units, usage.retries
            );
        }
    }
}

/// The rollover, what was ended or held, the calendar notes and the warnings.
fn render_notes(out: &mut String, run: &RunRecord) {
    if let Some(rollover) = &run.rollover {
        let _ = writeln!(out, "{rollover}");
    }
    for (kind, ended) in &run.mass_ended {
        let _ = writeln!(
            out,
            "ENDED {kind}: {ended} (beyond the hold's limits: a notice goes to the district's contacts)"
        );
    }
    for (kind, hold) in &run.hold {
        let _ = writeln!(out, "HOLD {kind}: {}", hold.message);
    }
    if let Some(rekey) = &run.rekey {
        match rekey.applied {
            Some(n) => {
                let _ = writeln!(out, "REKEY: applied as a re-key of {n} users");
            }
            None => {
                let _ = writeln!(out, "REKEY: {} (`runs show {} --rekey map.csv` writes the pairs; `runs approve {} --rekey [map.csv]` applies them)", rekey.sentence(), run.run_id, run.run_id);
            }
        }
    }
    for line in present::notice::school_hold_lines(run) {
        let _ = writeln!(out, "HOLD SCHOOL: {line}");
    }
    for note in &run.calendar_notes {
        let _ = writeln!(out, "the delivery's dates: {}", escape_controls(note));
    }
    for warning in &run.warnings {
        let _ = writeln!(out, "warning: {}", escape_controls(warning));
    }
    for note in &run.delivery_notes {
        let _ = writeln!(out, "warning: {}", escape_controls(note));
    }
}

/// The first errors.
fn render_errors(out: &mut String, run: &RunRecord) {
    if run.error_count > 0 {
        let _ = writeln!(
            out,
            "\nErrors ({} in all; first {}):",
            run.error_count,
            run.errors.len().min(20)
        );
        for e in run.errors.iter().take(20) {
            let column = e
                .column
                .as_ref()
                .map(|c| format!(" [{}]", escape_controls(c)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}{column} {}: {}",
                escape_controls(&e.place()),
                e.code,
                escape_controls(&e.message)
            );
        }
    }
}
