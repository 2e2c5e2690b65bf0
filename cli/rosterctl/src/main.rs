//! `rosterctl`: the operators' command line for the ClassLink OneRoster bridge.

use clap::{Parser, Subcommand};
use rosterctl::generate::{generate, GenerateOptions};
use rosterctl::validate_cmd::{self, EXIT_OK, EXIT_USAGE};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rosterctl",
    version,
    about = "Operate the ClassLink OneRoster roster bridge"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read and validate a OneRoster 1.1 CSV package (a .zip or a folder).
    ///
    /// Exit code 0: acceptable (warnings allowed); 1: rejected; 2: usage or I/O error.
    Validate {
        /// The package: a .zip file or a folder holding manifest.csv.
        path: PathBuf,
        /// Print one JSON object instead of the human report.
        #[arg(long)]
        json: bool,
        /// User roles the tenant imports (comma-separated); others are skipped.
        #[arg(
            long,
            value_name = "ROLES",
            default_value = "student,teacher,administrator,aide"
        )]
        tenant_roles: String,
    },
    /// Write a deterministic synthetic district as a OneRoster 1.1 package.
    Generate {
        /// Number of students.
        #[arg(long, default_value_t = 1000)]
        students: u32,
        /// Random seed: the same seed and size give byte-identical output.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output folder, or a path ending in .zip.
        #[arg(long)]
        out: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Validate {
            path,
            json,
            tenant_roles,
        } => match validate_cmd::parse_roles(&tenant_roles) {
            Err(message) => {
                eprintln!("error: --tenant-roles: {message}");
                EXIT_USAGE
            }
            Ok(roles) => {
                let outcome = validate_cmd::run(&path, roles, json);
                print(&outcome.stdout);
                outcome.exit_code
            }
        },
        Command::Generate {
            students,
            seed,
            out,
            json,
        } => match generate(&GenerateOptions { students, seed }, &out) {
            Ok(summary) => {
                if json {
                    print(&(serde_json::to_string(&summary).expect("summary serialises") + "\n"));
                } else {
                    let mut text = format!(
                        "Wrote {} ({} bytes of CSV)\n",
                        summary.out.display(),
                        summary.csv_bytes
                    );
                    for (file, rows) in &summary.files {
                        text.push_str(&format!("  {file:<18} {rows:>10} rows\n"));
                    }
                    print(&text);
                }
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_USAGE
            }
        },
    };
    ExitCode::from(code as u8)
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
