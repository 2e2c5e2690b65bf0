//! `rosterctl`: the operators' command line for the ClassLink OneRoster bridge.
//! Arguments are parsed here; the commands live in the library.

mod cli;

use clap::Parser;
use cli::*;
use district::{generate_with_progress, GenerateEvent, GenerateOptions};
use rosterctl::outcome::{Outcome, EXIT_OK, EXIT_USAGE};
use rosterctl::sync_cmd::{self, SyncParams};
use rosterctl::validate_cmd;
use rosterctl::with_store;
use rosterctl::{outcome, runs_cmd, sso_cmd, status_cmd, users_cmd};
use std::io::Write;
use std::process::ExitCode;

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
            Err(e) => outcome::failure($json, &e),
        }
    };
}

/// As `on_store!`, for the commands that may create the SQLite file.
macro_rules! on_new_store {
    ($args:expr, $json:expr, $store:ident => $body:expr) => {
        match $args.open_or_create().await {
            Ok(open) => with_store!(open, $store => $body),
            Err(e) => outcome::failure($json, &e.to_string()),
        }
    };
}

async fn run(command: Command) -> Outcome {
    match command {
        Command::Validate {
            path,
            json,
            tenant_roles,
            html,
        } => match validate_cmd::parse_roles(&tenant_roles) {
            Err(message) => {
                eprintln!("error: --tenant-roles: {message}");
                Outcome {
                    stdout: String::new(),
                    exit_code: EXIT_USAGE,
                }
            }
            Ok(roles) => validate_cmd::run(&path, roles, json, html.as_deref()),
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
            on_new_store!(store, json, s => {
                let params = SyncParams { path: &path, tenant: &tenant, dry_run, json, generated_at, wait };
                let (outcome, note) = sync_cmd::sync(&s, &artifacts, params).await;
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
            let outcome = on_new_store!(store, json, s => {
                let params = sync_cmd::PullParams { tenant: &tenant, api_url: api_url.as_deref(), auth, mode, page_size, json, scratch: &scratch };
                let (outcome, note) = sync_cmd::pull(&s, params).await;
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
                on_store!(store, json, s => runs_cmd::runs_list(&s, tenant.as_deref(), limit, json).await)
            }
            RunsCommand::Show {
                run_id,
                store,
                json,
                html,
            } => {
                on_store!(store, json, s => runs_cmd::runs_show(&s, &run_id, json, html.as_deref()).await)
            }
            RunsCommand::Approve {
                run_id,
                by,
                store,
                json,
            } => {
                let artifacts = store.artifacts();
                on_store!(store, json, s => runs_cmd::runs_decide(&s, &artifacts, &run_id, true, &operator(by), json).await)
            }
            RunsCommand::Revert {
                run_id,
                force,
                dry_run,
                by,
                store,
                json,
            } => {
                let artifacts = store.artifacts();
                let request = roster::revert::RevertRequest {
                    force,
                    by: operator(by),
                };
                on_store!(store, json, s => runs_cmd::runs_revert(&s, &artifacts, &run_id, &request, dry_run, json).await)
            }
            RunsCommand::Discard {
                run_id,
                by,
                store,
                json,
            } => {
                let artifacts = store.artifacts();
                on_store!(store, json, s => runs_cmd::runs_decide(&s, &artifacts, &run_id, false, &operator(by), json).await)
            }
        },
        Command::Records {
            command:
                RecordsCommand::History {
                    sourced_id,
                    tenant,
                    kind,
                    limit,
                    store,
                    json,
                },
        } => match oneroster::EntityKind::from_file_name(&kind) {
            None => outcome::failure(
                json,
                &format!("--kind `{kind}` is not a OneRoster type (orgs, academicSessions, courses, classes, users, enrollments, demographics)"),
            ),
            Some(kind) => {
                let artifacts = store.artifacts();
                on_store!(store, json, s => rosterctl::history_cmd::record_history(&s, &artifacts, &tenant, kind, &sourced_id, limit, json).await)
            }
        },
        Command::Users {
            command:
                UsersCommand::History {
                    sourced_id,
                    tenant,
                    limit,
                    store,
                    json,
                },
        } => {
            let artifacts = store.artifacts();
            on_store!(store, json, s => rosterctl::history_cmd::record_history(&s, &artifacts, &tenant, oneroster::EntityKind::Users, &sourced_id, limit, json).await)
        }
        Command::Users {
            command:
                UsersCommand::List {
                    tenant,
                    provisional,
                    store,
                    json,
                },
        } => {
            on_store!(store, json, s => users_cmd::users_list(&s, &tenant, provisional, json).await)
        }
        Command::Users {
            command:
                UsersCommand::Show {
                    sourced_id,
                    tenant,
                    store,
                    json,
                },
        } => {
            on_store!(store, json, s => users_cmd::users_show(&s, &tenant, &sourced_id, json).await)
        }
        Command::Sso {
            command:
                SsoCommand::Serve {
                    db,
                    listen,
                    secrets_file,
                },
        } => sso_cmd::sso_serve(&db, &listen, secrets_file.as_deref()).await,
        Command::Sso {
            command:
                SsoCommand::Audit {
                    tenant,
                    limit,
                    store,
                    json,
                },
        } => {
            on_store!(store, json, s => sso_cmd::sso_audit(&s, tenant.as_deref(), limit, json).await)
        }
        Command::Tenants { command } => match command {
            TenantsCommand::CheckSftp {
                tenant,
                sftp_server_id,
                inbound_bucket,
                json,
            } => {
                let server = sftp_server_id
                    .or_else(|| std::env::var("ROSTER_SFTP_SERVER_ID").ok())
                    .filter(|s| !s.is_empty());
                rosterctl::tenants_cmd::check_sftp(
                    &tenant,
                    server.as_deref(),
                    inbound_bucket.as_deref(),
                    json,
                )
                .await
            }
            TenantsCommand::Check {
                tenant,
                sftp_server_id,
                inbound_bucket,
                schedule_group,
                notice_topic_arn,
                store,
                json,
            } => {
                let args = rosterctl::tenants_cmd::CheckArgs {
                    notice_topic_arn: rosterctl::tenants_cmd::notices::notice_topic_arn(
                        notice_topic_arn.as_deref(),
                    ),
                    sftp_server_id: sftp_server_id
                        .or_else(|| std::env::var("ROSTER_SFTP_SERVER_ID").ok())
                        .filter(|s| !s.is_empty()),
                    inbound_bucket,
                    schedule_group,
                };
                on_store!(store, json, s => rosterctl::tenants_cmd::check_tenant(&s, &tenant, &args, json).await)
            }
            TenantsCommand::Notices {
                notice_topic_arn,
                dry_run,
                store,
                json,
            } => {
                on_store!(store, json, s => rosterctl::tenants_cmd::sync_notices(&s, notice_topic_arn.as_deref(), dry_run, json).await)
            }
            TenantsCommand::Status {
                tenant,
                overdue_days,
                store,
                json,
            } => {
                on_store!(store, json, s => status_cmd::tenants_status(&s, tenant.as_deref(), overdue_days, json).await)
            }
            TenantsCommand::Add {
                tenant,
                settings,
                store,
                json,
            } => {
                on_new_store!(store, json, s => rosterctl::tenants_cmd::add_or_update(&s, &tenant, &settings, true, json).await)
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
            on_store!(store, json, s => users_cmd::admins_set(&s, &tenant, &sourced_id, promote, json).await)
        }
        Command::Generate {
            students,
            seed,
            rollovers,
            out,
            json,
        } => {
            let progress = rosterctl::progress::for_command(json);
            let result = generate_with_progress(
                &GenerateOptions {
                    students,
                    seed,
                    rollovers,
                },
                &out,
                &|event| match event {
                    GenerateEvent::File(name) => progress.stage(&format!("writing {name}"), None),
                    GenerateEvent::Rows(n) => progress.advance(n),
                },
            );
            progress.finish();
            match result {
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
            }
        }
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
