//! `rosterctl`: the operators' command line for the ClassLink OneRoster bridge.
//! Arguments are parsed here; the commands live in the library.

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use district::{generate, GenerateOptions};
use rosterctl::roster_cmds::{self, SyncParams};
use rosterctl::stores::StoreArgs;
use rosterctl::validate_cmd::{self, Outcome, EXIT_OK, EXIT_USAGE};
use rosterctl::with_store;
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

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
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
    /// Validate, plan and apply a package to a tenant's roster.
    ///
    /// Exit code 0: applied (or planned with --dry-run); 1: held, rejected,
    /// stale or busy; 2: usage, I/O or store error.
    Sync {
        /// The package: a .zip file or a folder holding manifest.csv.
        path: PathBuf,
        /// The tenant (created with default settings if it does not exist).
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Plan only: show what would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the run record as JSON.
        #[arg(long)]
        json: bool,
        /// When the delivery was generated (RFC 3339) [default: the files' modification time].
        #[arg(long, value_name = "TIME")]
        generated_at: Option<DateTime<Utc>>,
        /// Seconds to wait for another run of the tenant before ending busy.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Pull a tenant's OneRoster 1.1 API now and sync it (locally; the Lambda
    /// does the same on the tenant's schedule with credentials from Secrets Manager).
    ///
    /// Credentials: --key with --secret (OAuth 1.0a, ClassLink Roster Server),
    /// --token (bearer), or --token-url with --client-id and --client-secret
    /// (OAuth 2). A secret may come from ONEROSTER_API_SECRET instead of the
    /// command line (shell history).
    Pull {
        /// The tenant (created with default settings if it does not exist).
        #[arg(long)]
        tenant: String,
        /// The API URL [default: the tenant's configured URL].
        #[arg(long)]
        api_url: Option<String>,
        /// OAuth 1.0a Application Key.
        #[arg(long)]
        key: Option<String>,
        /// OAuth 1.0a Application Secret (or ONEROSTER_API_SECRET).
        #[arg(long)]
        secret: Option<String>,
        /// Bearer token.
        #[arg(long, conflicts_with_all = ["key", "client_id"])]
        token: Option<String>,
        /// OAuth 2 token URL.
        #[arg(long, requires = "client_id")]
        token_url: Option<String>,
        /// OAuth 2 client id.
        #[arg(long, requires = "token_url")]
        client_id: Option<String>,
        /// OAuth 2 client secret (or ONEROSTER_API_SECRET).
        #[arg(long)]
        client_secret: Option<String>,
        /// full, delta, or auto (by the tenant's cadence).
        #[arg(long, default_value = "auto")]
        mode: String,
        /// Records per page (1-10000).
        #[arg(long, default_value_t = 1000)]
        page_size: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the run record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run records: list, show, approve or discard held runs.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Stored users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Tenants.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Primary Administrators (platform-owned; syncs never change them).
    /// ClassLink single sign-on: the sign-in audit trail.
    Sso {
        #[command(subcommand)]
        command: SsoCommand,
    },
    Admins {
        #[command(subcommand)]
        command: AdminsCommand,
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

#[derive(Subcommand)]
enum RunsCommand {
    /// Recent runs, newest first.
    List {
        /// Only this tenant's runs.
        #[arg(long)]
        tenant: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One run record.
    Show {
        /// The run id.
        run_id: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Apply a held run's plan (re-checked against the store first).
    Approve {
        /// The run id.
        run_id: String,
        /// Who approves (recorded) [default: $USER].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Discard a held run; nothing is applied.
    Discard {
        /// The run id.
        run_id: String,
        /// Who discards (recorded) [default: $USER].
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum SsoCommand {
    /// Recent ClassLink sign-in attempts of a district: time, outcome, ClassLink
    /// user id, roster user, and the support reference shown to the person.
    Audit {
        /// The tenant; without it, attempts from districts that were not recognised.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many, newest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// A stored user: SIS fields, archive state, Primary Administrator flag.
    Show {
        /// The user's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum TenantsCommand {
    /// Onboard a district: config, API credentials (Secrets Manager), pull schedule.
    Add {
        /// Tenant id (lower-case letters, digits, `-`, `_`).
        tenant: String,
        #[command(flatten)]
        settings: rosterctl::tenants_cmd::TenantArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Change a district's settings (only the options given change).
    Update {
        /// Tenant id.
        tenant: String,
        #[command(flatten)]
        settings: rosterctl::tenants_cmd::TenantArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// A district's config (never its credentials).
    Show {
        /// Tenant id.
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// All districts.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Stop syncing a district (its pull schedule is disabled too).
    Disable {
        /// Tenant id.
        tenant: String,
        #[command(flatten)]
        settings: rosterctl::tenants_cmd::TenantArgs,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Per tenant: last run, counts, and whether a Primary Administrator exists.
    Status {
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum AdminsCommand {
    /// Make an active administrator a Primary Administrator.
    Promote {
        /// The administrator's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Clear the Primary Administrator flag.
    Demote {
        /// The administrator's sourcedId.
        sourced_id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        store: StoreArgs,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn usage(message: &str) -> Outcome {
    eprintln!("error: {message}");
    Outcome {
        stdout: String::new(),
        exit_code: EXIT_USAGE,
    }
}

fn operator(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into())
}

/// Opens the store and runs `$body`, or reports the failure to open it.
macro_rules! on_store {
    ($args:expr, $json:expr, $store:ident => $body:expr) => {
        match $args.open().await {
            Ok(open) => with_store!(open, $store => $body),
            Err(e) => roster_cmds::failure($json, &e.to_string()),
        }
    };
}

async fn run(command: Command) -> Outcome {
    match command {
        Command::Validate {
            path,
            json,
            tenant_roles,
        } => match validate_cmd::parse_roles(&tenant_roles) {
            Err(message) => {
                eprintln!("error: --tenant-roles: {message}");
                Outcome {
                    stdout: String::new(),
                    exit_code: EXIT_USAGE,
                }
            }
            Ok(roles) => validate_cmd::run(&path, roles, json),
        },
        Command::Sync {
            path,
            tenant,
            store,
            dry_run,
            json,
            generated_at,
            wait,
        } => {
            let artifacts = store.artifacts();
            on_store!(store, json, s => {
                let params = SyncParams { path: &path, tenant: &tenant, dry_run, json, generated_at, wait };
                let (outcome, note) = roster_cmds::sync(&s, &artifacts, params).await;
                if let Some(note) = note {
                    eprintln!("{note}");
                }
                outcome
            })
        }
        Command::Pull {
            tenant,
            api_url,
            key,
            secret,
            token,
            token_url,
            client_id,
            client_secret,
            mode,
            page_size,
            store,
            json,
        } => {
            let env_secret = std::env::var("ONEROSTER_API_SECRET").ok();
            let auth = match (key, token, token_url, client_id) {
                (Some(key), None, None, None) => match secret.or(env_secret) {
                    Some(secret) => oneroster::rest::client::Auth::OAuth1 { key, secret },
                    None => return usage("--key needs --secret (or ONEROSTER_API_SECRET)"),
                },
                (None, Some(token), None, None) => oneroster::rest::client::Auth::Bearer { token },
                (None, None, Some(token_url), Some(client_id)) => match client_secret.or(env_secret) {
                    Some(client_secret) => oneroster::rest::client::Auth::ClientCredentials { token_url, client_id, client_secret },
                    None => return usage("--client-id needs --client-secret (or ONEROSTER_API_SECRET)"),
                },
                _ => return usage("give credentials: --key and --secret, --token, or --token-url, --client-id and --client-secret"),
            };
            let mode = match mode.as_str() {
                "auto" => roster::api::RequestedMode::Auto,
                "full" => roster::api::RequestedMode::Full,
                "delta" => roster::api::RequestedMode::Delta,
                other => {
                    return usage(&format!(
                        "--mode is `{other}`; expected full, delta or auto"
                    ))
                }
            };
            let scratch =
                std::env::temp_dir().join(format!("rosterctl-pull-{}", std::process::id()));
            let outcome = on_store!(store, json, s => {
                let params = roster_cmds::PullParams { tenant: &tenant, api_url: api_url.as_deref(), auth, mode, page_size, json, scratch: &scratch };
                let (outcome, note) = roster_cmds::pull(&s, params).await;
                if let Some(note) = note {
                    eprintln!("{note}");
                }
                outcome
            });
            let _ = std::fs::remove_dir_all(&scratch);
            outcome
        }
        Command::Runs { command } => match command {
            RunsCommand::List {
                tenant,
                limit,
                store,
                json,
            } => {
                on_store!(store, json, s => roster_cmds::runs_list(&s, tenant.as_deref(), limit, json).await)
            }
            RunsCommand::Show {
                run_id,
                store,
                json,
            } => {
                on_store!(store, json, s => roster_cmds::runs_show(&s, &run_id, json).await)
            }
            RunsCommand::Approve {
                run_id,
                by,
                store,
                json,
            } => {
                let artifacts = store.artifacts();
                on_store!(store, json, s => roster_cmds::runs_decide(&s, &artifacts, &run_id, true, &operator(by), json).await)
            }
            RunsCommand::Discard {
                run_id,
                by,
                store,
                json,
            } => {
                let artifacts = store.artifacts();
                on_store!(store, json, s => roster_cmds::runs_decide(&s, &artifacts, &run_id, false, &operator(by), json).await)
            }
        },
        Command::Users {
            command:
                UsersCommand::Show {
                    sourced_id,
                    tenant,
                    store,
                    json,
                },
        } => {
            on_store!(store, json, s => roster_cmds::users_show(&s, &tenant, &sourced_id, json).await)
        }
        Command::Sso {
            command:
                SsoCommand::Audit {
                    tenant,
                    limit,
                    store,
                    json,
                },
        } => {
            on_store!(store, json, s => roster_cmds::sso_audit(&s, tenant.as_deref(), limit, json).await)
        }
        Command::Tenants { command } => match command {
            TenantsCommand::Status {
                tenant,
                store,
                json,
            } => {
                on_store!(store, json, s => roster_cmds::tenants_status(&s, tenant.as_deref(), json).await)
            }
            TenantsCommand::Add {
                tenant,
                settings,
                store,
                json,
            } => {
                on_store!(store, json, s => rosterctl::tenants_cmd::add_or_update(&s, &tenant, &settings, true, json).await)
            }
            TenantsCommand::Update {
                tenant,
                settings,
                store,
                json,
            } => {
                on_store!(store, json, s => rosterctl::tenants_cmd::add_or_update(&s, &tenant, &settings, false, json).await)
            }
            TenantsCommand::Show {
                tenant,
                store,
                json,
            } => {
                on_store!(store, json, s => rosterctl::tenants_cmd::show(&s, &tenant, json).await)
            }
            TenantsCommand::List { store, json } => {
                on_store!(store, json, s => rosterctl::tenants_cmd::list(&s, json).await)
            }
            TenantsCommand::Disable {
                tenant,
                settings,
                store,
                json,
            } => {
                on_store!(store, json, s => rosterctl::tenants_cmd::disable(&s, &tenant, &settings, json).await)
            }
        },
        Command::Admins { command } => {
            let (sourced_id, tenant, store, json, promote) = match command {
                AdminsCommand::Promote {
                    sourced_id,
                    tenant,
                    store,
                    json,
                } => (sourced_id, tenant, store, json, true),
                AdminsCommand::Demote {
                    sourced_id,
                    tenant,
                    store,
                    json,
                } => (sourced_id, tenant, store, json, false),
            };
            on_store!(store, json, s => roster_cmds::admins_set(&s, &tenant, &sourced_id, promote, json).await)
        }
        Command::Generate {
            students,
            seed,
            out,
            json,
        } => match generate(&GenerateOptions { students, seed }, &out) {
            Ok(summary) => {
                let stdout = if json {
                    serde_json::to_string(&summary).expect("summary serialises") + "\n"
                } else {
                    let mut text = format!(
                        "Wrote {} ({} bytes of CSV)\n",
                        summary.out.display(),
                        summary.csv_bytes
                    );
                    for (file, rows) in &summary.files {
                        text.push_str(&format!("  {file:<18} {rows:>10} rows\n"));
                    }
                    text
                };
                Outcome {
                    stdout,
                    exit_code: EXIT_OK,
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                Outcome {
                    stdout: String::new(),
                    exit_code: EXIT_USAGE,
                }
            }
        },
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(run(cli.command));
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = stdout.write_all(outcome.stdout.as_bytes());
    let _ = stdout.flush();
    ExitCode::from(outcome.exit_code as u8)
}
