//! `rosterctl sso audit`: a district's recent sign-in attempts (ids and
//! outcomes); `rosterctl sso serve`: the sign-in router locally, on a SQLite roster.

use crate::on_store;
use crate::outcome::*;
use crate::stores::StoreArgs;
use roster::Store;
use serde_json::json;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The arguments of `rosterctl sso audit`.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// The tenant; without it, attempts from districts that were not recognised.
    #[arg(long)]
    pub tenant: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub store: StoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

impl AuditArgs {
    /// Runs `rosterctl sso audit`.
    pub async fn run(self) -> Outcome {
        let (tenant, limit, json) = (self.tenant.as_deref(), self.limit, self.json);
        on_store!(self.store, json, s => sso_audit(&s, tenant, limit, json).await)
    }
}

/// The arguments of `rosterctl sso serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The SQLite roster (for example the main job's target/demo/roster.db).
    #[arg(long, value_name = "FILE")]
    pub db: PathBuf,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    pub listen: String,
    /// A file of `CLASSLINK_CLIENT_SECRET=…` and `SSO_REDEEM_SECRET=…` lines
    /// (instead of the environment variables).
    #[arg(long, value_name = "FILE")]
    pub secrets_file: Option<PathBuf>,
}

impl ServeArgs {
    /// Runs `rosterctl sso serve` until the process is stopped.
    pub async fn run(self) -> Outcome {
        sso_serve(&self.db, &self.listen, self.secrets_file.as_deref()).await
    }
}

/// `sso audit`: a district's recent sign-in attempts (ids and outcomes only).
pub async fn sso_audit<S: Store>(
    store: &S,
    tenant: Option<&str>,
    limit: usize,
    json: bool,
) -> Outcome {
    match store
        .list_sign_in_audits(tenant, limit, chrono::Utc::now())
        .await
    {
        Err(e) => store_failure(json, &e),
        Ok(audits) if json => ok(json!({ "attempts": audits }).to_string() + "\n"),
        Ok(audits) => {
            let mut out = format!(
                "Sign-in attempts ({}), newest first: {}\n",
                tenant.unwrap_or("unrecognised districts"),
                audits.len()
            );
            let _ = writeln!(
                out,
                "{:<24}  {:<22}  {:<12}  {:<14}  {:<14}  {:<10}  reference",
                "time", "outcome", "classlink", "user", "sourcedId", "matched by"
            );
            for a in &audits {
                let _ = writeln!(
                    out,
                    "{:<24}  {:<22}  {:<12}  {:<14}  {:<14}  {:<10}  {}",
                    a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    a.outcome,
                    a.classlink_tenant_id.as_deref().unwrap_or("-"),
                    a.classlink_user_id.as_deref().unwrap_or("-"),
                    a.sourced_id.as_deref().unwrap_or("-"),
                    a.matched_by.as_deref().unwrap_or("-"),
                    a.request_id
                );
            }
            ok(out)
        }
    }
}

/// The environment variable (or secrets-file line) of the ClassLink client secret.
pub const CLIENT_SECRET_VAR: &str = "CLASSLINK_CLIENT_SECRET";
/// The environment variable (or secrets-file line) of the teacher app's redeem secret.
pub const REDEEM_SECRET_VAR: &str = "SSO_REDEEM_SECRET";

/// The two secrets of a local server, each with where it came from.
fn local_secrets(file: Option<&std::path::Path>) -> Result<[(String, String); 2], String> {
    let names = [CLIENT_SECRET_VAR, REDEEM_SECRET_VAR];
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the secrets file {}: {e}", path.display()))?;
            let mut found: [Option<String>; 2] = [None, None];
            for (number, raw) in text.lines().enumerate() {
                let line = raw.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((key, value)) = line.split_once('=') else {
                    return Err(format!(
                        "{} line {}: expected NAME=value ({} or {})",
                        path.display(),
                        number + 1,
                        names[0],
                        names[1]
                    ));
                };
                match names.iter().position(|n| *n == key.trim()) {
                    Some(i) => found[i] = Some(value.trim().to_string()),
                    None => {
                        return Err(format!(
                            "{} line {}: unknown name `{}` (expected {} or {})",
                            path.display(),
                            number + 1,
                            key.trim(),
                            names[0],
                            names[1]
                        ))
                    }
                }
            }
            let [client, redeem] = found;
            let origin = |name: &str| format!("{name} in {}", path.display());
            match (client, redeem) {
                (Some(c), Some(r)) => Ok([(origin(names[0]), c), (origin(names[1]), r)]),
                _ => Err(format!(
                    "{} must hold both {} and {}",
                    path.display(),
                    names[0],
                    names[1]
                )),
            }
        }
        None => {
            let read = |name: &str| {
                std::env::var(name)
                    .ok()
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name.to_string(), v))
                    .ok_or_else(|| {
                        format!("{name} is not set: give the secrets in the environment ({} and {}) or with --secrets-file FILE", names[0], names[1])
                    })
            };
            Ok([read(names[0])?, read(names[1])?])
        }
    }
}

/// `sso serve`: the sso-callback router on a SQLite roster, on `listen`,
/// until the process is stopped. Returns only when it cannot start.
pub async fn sso_serve(
    db: &std::path::Path,
    listen: &str,
    secrets_file: Option<&std::path::Path>,
) -> Outcome {
    use sso_callback::app::{router, App};
    use sso_callback::config::{SsoConfig, CALLBACK_PATH};
    use sso_callback::oidc::ClassLink;
    use sso_callback::secrets::CachedSecret;
    if !db.is_file() {
        return failure(
            false,
            &format!(
                "no roster database at {}: sync a roster into it first (rosterctl sync PACKAGE --tenant T --db {})",
                db.display(),
                db.display()
            ),
        );
    }
    let [(client_origin, client), (redeem_origin, redeem)] = match local_secrets(secrets_file) {
        Ok(s) => s,
        Err(e) => return failure(false, &e),
    };
    let config = match SsoConfig::from_env_local(&format!("http://{listen}{CALLBACK_PATH}")) {
        Ok(c) => c,
        Err(e) => return failure(false, &e.to_string()),
    };
    let store = match roster_sqlite::SqliteStore::open(db) {
        Ok(s) => s,
        Err(e) => return failure(false, &e.to_string()),
    };
    let secrets = CachedSecret::given(client_origin, &client)
        .and_then(|c| CachedSecret::given(redeem_origin, &redeem).map(|r| (c, r)));
    let (client_secret, redeem_secret) = match secrets {
        Ok(s) => s,
        Err(e) => return failure(false, &e.to_string()),
    };
    let classlink = match ClassLink::new(config.clone()) {
        Ok(c) => c,
        Err(e) => return failure(false, &e.to_string()),
    };
    let app = std::sync::Arc::new(App {
        store,
        classlink,
        client_secret,
        redeem_secret,
        config: config.clone(),
    });
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => return failure(false, &format!("cannot listen on {listen}: {e}")),
    };
    cloud::init_tracing();
    eprintln!(
        "serving ClassLink sign-in on http://{listen} (roster {}; issuer {}; redirect {}); the LaunchPad tile: http://{listen}/sso/classlink/launch",
        db.display(),
        config.issuer,
        config.redirect_url
    );
    match axum::serve(listener, router(app)).await {
        Ok(()) => ok(String::new()),
        Err(e) => failure(false, &format!("the server stopped: {e}")),
    }
}
