//! `rosterctl generate`: a deterministic synthetic district as a OneRoster 1.1
//! or 1.2 package.

use crate::outcome::{ok, Outcome, EXIT_USAGE};
use district::{
    generate_with_progress, GenerateEvent, GenerateOptions, GenerateSummary, OneRosterVersion,
};
use std::path::PathBuf;

/// The arguments of `rosterctl generate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenerateArgs {
    /// Number of students.
    #[arg(long, default_value_t = 1000)]
    pub students: u32,
    /// Random seed: the same seed and size give byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the district's school year this many rollovers after the first
    /// (2026–2027): new sessions, classes and enrollments, and about 8% of
    /// the students replaced each year; the rest is byte-identical, so
    /// syncing year 0 then year 1 replays a rollover.
    #[arg(long, default_value_t = 0)]
    pub rollovers: u32,
    /// The OneRoster version of the package: 1.1, or 1.2 (the same district,
    /// with each user's roles in roles.csv and a few of 1.2's new user fields).
    #[arg(long, value_name = "VERSION", default_value = "1.1", value_parser = ["1.1", "1.2"])]
    pub oneroster: String,
    /// Output folder, or a path ending in .zip.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

impl GenerateArgs {
    /// Runs `rosterctl generate`: writes the package, with progress bars on a terminal.
    pub fn run(self) -> Outcome {
        let progress = crate::progress::for_command(self.json);
        let options = GenerateOptions {
            students: self.students,
            seed: self.seed,
            rollovers: self.rollovers,
            oneroster: if self.oneroster == "1.2" {
                OneRosterVersion::V1p2
            } else {
                OneRosterVersion::V1p1
            },
        };
        let result = generate_with_progress(&options, &self.out, &|event| match event {
            GenerateEvent::File(name) => progress.stage(&format!("writing {name}"), None),
            GenerateEvent::Rows(n) => progress.advance(n),
        });
        progress.finish();
        match result {
            Ok(summary) => ok(render(&summary, self.json)),
            Err(e) => {
                eprintln!("error: {e}");
                Outcome {
                    stdout: String::new(),
                    exit_code: EXIT_USAGE,
                }
            }
        }
    }
}

/// The summary: JSON, or the package and its rows per file.
fn render(summary: &GenerateSummary, json: bool) -> String {
    if json {
        return serde_json::to_string(summary).expect("summary serialises") + "\n";
    }
    let mut text = format!(
        "Wrote {} ({} bytes of CSV)\n",
        summary.out.display(),
        summary.csv_bytes
    );
    for (file, rows) in &summary.files {
        text.push_str(&format!("  {file:<18} {rows:>10} rows\n"));
    }
    text
}
