//! `rosterctl`: the operators' command line for the ClassLink OneRoster bridge.
//! Arguments are parsed here and each command dispatched to its module of the
//! library, which opens the store it names and runs it.

mod cli;

use clap::Parser;
use cli::*;
use rosterctl::outcome::Outcome;
use std::io::Write;
use std::process::ExitCode;

/// Runs one command.
async fn run(command: Command) -> Outcome {
    match command {
        Command::Validate(a) => a.run(),
        Command::Sync(a) => a.run().await,
        Command::Pull(a) => a.run().await,
        Command::Runs { command } => runs(command).await,
        Command::Records {
            command: RecordsCommand::History(a),
        } => a.run().await,
        Command::Users { command } => users(command).await,
        Command::Tenants { command } => tenants(command).await,
        Command::Admins { command } => match command {
            AdminsCommand::Promote(a) => a.run(true).await,
            AdminsCommand::Demote(a) => a.run(false).await,
        },
        Command::Sso { command } => match command {
            SsoCommand::Audit(a) => a.run().await,
            SsoCommand::Serve(a) => a.run().await,
        },
        Command::Explain(a) => a.run().await,
        Command::Generate(a) => a.run(),
    }
}

/// `rosterctl runs ...`.
async fn runs(command: RunsCommand) -> Outcome {
    match command {
        RunsCommand::List(a) => a.run().await,
        RunsCommand::Show(a) => a.run().await,
        RunsCommand::Approve(a) => a.run().await,
        RunsCommand::Revert(a) => a.run().await,
        RunsCommand::Discard(a) => a.run().await,
    }
}

/// `rosterctl users ...`.
async fn users(command: UsersCommand) -> Outcome {
    match command {
        UsersCommand::List(a) => a.run().await,
        UsersCommand::History(a) => a.run().await,
        UsersCommand::Show(a) => a.run().await,
        UsersCommand::Forget(a) => a.run().await,
    }
}

/// `rosterctl tenants ...`.
async fn tenants(command: TenantsCommand) -> Outcome {
    match command {
        TenantsCommand::Add(a) => a.run().await,
        TenantsCommand::Update(a) => a.update().await,
        TenantsCommand::Show(a) => a.run().await,
        TenantsCommand::List(a) => a.run().await,
        TenantsCommand::Disable(a) => a.disable().await,
        TenantsCommand::CheckSftp(a) => a.run().await,
        TenantsCommand::Check(a) => a.run().await,
        TenantsCommand::Notices(a) => a.run().await,
        TenantsCommand::Status(a) => a.run().await,
        TenantsCommand::Offboard(a) => a.run().await,
        TenantsCommand::Retain(a) => a.run().await,
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
