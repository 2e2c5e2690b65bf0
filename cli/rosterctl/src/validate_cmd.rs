//! `rosterctl validate`: read a package, print the report, exit 0/1/2.

use crate::outcome::{Outcome, EXIT_OK, EXIT_REFUSED, EXIT_USAGE};
use oneroster::report::IssueCode;
use oneroster::{validate_package, EntityKind, Role, RoleSet, ValidationOptions, ValidationReport};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How many row errors the human output lists before summarising.
const HUMAN_ERRORS_SHOWN: usize = 20;

/// Parses `student,teacher,...` into a role set.
pub fn parse_roles(text: &str) -> Result<RoleSet, String> {
    let mut set = RoleSet::EMPTY;
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let role = Role::ALL
            .iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(item))
            .ok_or_else(|| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role `{item}`; expected some of {}", all.join(", "))
            })?;
        set.insert(*role);
    }
    if set == RoleSet::EMPTY {
        return Err("at least one role is needed".into());
    }
    Ok(set)
}

/// The arguments of `rosterctl validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// The package: a .zip file or a folder holding manifest.csv.
    pub path: PathBuf,
    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
    /// User roles the tenant imports (comma-separated); others are skipped.
    #[arg(
        long,
        value_name = "ROLES",
        default_value = "student,teacher,administrator,aide",
        value_parser = parse_roles
    )]
    pub tenant_roles: RoleSet,
    /// Also write the report as a self-contained HTML page (for the district's data manager).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

impl ValidateArgs {
    /// Runs `rosterctl validate`.
    pub fn run(self) -> Outcome {
        run(
            &self.path,
            self.tenant_roles,
            self.json,
            self.html.as_deref(),
        )
    }
}

/// Runs `validate` on `path`.
pub fn run(path: &Path, roles: RoleSet, json: bool, html: Option<&Path>) -> Outcome {
    if !path.exists() {
        let message = format!("{}: no such file or folder", path.display());
        return crate::outcome::failure(json, &message);
    }
    let options = ValidationOptions {
        imported_roles: roles,
        progress: crate::progress::for_command(json),
        ..ValidationOptions::default()
    };
    let validation = validate_package(path, &options);
    options.progress.finish();
    let report = validation.report;
    let exit_code = if report.ok {
        EXIT_OK
    } else if report.fatal().any(|f| f.code == IssueCode::Io) {
        EXIT_USAGE
    } else {
        EXIT_REFUSED
    };
    if let Some(page) = html {
        let findings = present::report_page::Findings::of(&report);
        if let Err(e) = std::fs::write(page, present::report_page::render(None, Some(&findings))) {
            return crate::outcome::failure(json, &format!("{}: {e}", page.display()));
        }
    }
    let stdout = if json {
        serde_json::to_string(&report).expect("report serialises") + "\n"
    } else {
        render_human(path, &report)
    };
    Outcome { stdout, exit_code }
}

/// The human-readable report: a table per file, the first errors, the warnings, a verdict.
pub fn render_human(path: &Path, report: &ValidationReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Package: {}", path.display());
    if let Some(version) = &report.oneroster_version {
        let _ = writeln!(out, "OneRoster version: {version}");
    }
    if !report.files.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<18} {:<7} {:>10} {:>10} {:>9} {:>8} {:>9}",
            "file", "mode", "rows", "accepted", "rejected", "skipped", "warnings"
        );
        // Rostering files in dependency order, then files that are only counted.
        let rostering = EntityKind::ALL.map(|k| k.file_name());
        let ordered = rostering
            .iter()
            .filter_map(|name| report.files.get_key_value(*name))
            .chain(
                report
                    .files
                    .iter()
                    .filter(|(name, _)| !rostering.contains(&name.as_str())),
            );
        for (name, f) in ordered {
            let _ = write!(
                out,
                "{:<18} {:<7} {:>10} {:>10} {:>9} {:>8} {:>9}",
                name, f.mode, f.rows, f.accepted, f.rejected, f.skipped, f.warnings
            );
            let _ = writeln!(out, "{}", if f.imported { "" } else { "  (not imported)" });
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\nErrors ({} in all):", report.error_count);
        for issue in report.errors.iter().take(HUMAN_ERRORS_SHOWN) {
            let _ = writeln!(out, "  {}", issue.render());
        }
        if report.error_count as usize > HUMAN_ERRORS_SHOWN {
            let _ = writeln!(
                out,
                "  ... and {} more (use --json for the first {})",
                report.error_count as usize - HUMAN_ERRORS_SHOWN,
                report.errors.len()
            );
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings (tolerated):");
        for issue in &report.warnings {
            let _ = writeln!(out, "  {}", issue.render());
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if report.ok {
            "Package acceptable."
        } else {
            "Package REJECTED: nothing from it may be applied."
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_case_insensitively_and_refuse_unknown_ones() {
        let set = parse_roles("Student, teacher").unwrap();
        assert!(set.contains(Role::Student) && set.contains(Role::Teacher));
        assert!(!set.contains(Role::Aide));
        assert!(parse_roles("student,janitor")
            .unwrap_err()
            .contains("janitor"));
        assert!(parse_roles(" , ").is_err());
    }

    #[test]
    fn a_missing_path_is_a_usage_error() {
        let outcome = run(
            Path::new("/nonexistent/package.zip"),
            RoleSet::default(),
            true,
            None,
        );
        assert_eq!(outcome.exit_code, EXIT_USAGE);
        assert!(outcome.stdout.contains("no such file"));
    }
}
