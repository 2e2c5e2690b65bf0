//! `rosterctl sync` and `rosterctl pull`: a package or a district's OneRoster API
//! through the engine into the store.

use crate::lasting::RunFilesBucketArg;
use crate::outcome::*;
use crate::runs_cmd::*;
use crate::stores::StoreArgs;
use api_pull::RequestedMode;
use chrono::{DateTime, Utc};
use oneroster_rest::client::Auth;
use roster::{Artifacts, Delivered, Engine, RunSource, Store, SyncOptions, TenantConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The arguments of `rosterctl sync`.
#[derive(Debug, Clone, clap::Args)]
pub struct SyncArgs {
    /// The package: a .zip file or a folder holding manifest.csv.
    pub path: PathBuf,
    /// The tenant (created with default settings if it does not exist).
    #[arg(long)]
    pub tenant: String,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub run_files: RunFilesBucketArg,
    /// Plan only: show what would be written; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the run record as JSON.
    #[arg(long)]
    pub json: bool,
    /// When the delivery was generated and received (RFC 3339), as the operator states it
    /// (a replay) [default: the files' modification time, never later than this machine's clock].
    #[arg(long, value_name = "TIME")]
    pub generated_at: Option<DateTime<Utc>>,
    /// Seconds to wait for another run of the tenant before ending busy.
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
}

impl SyncArgs {
    /// Runs `rosterctl sync`: opens (or creates) the store and syncs the package.
    pub async fn run(self) -> Outcome {
        if let Err(outcome) = crate::outcome::default_pause(self.json) {
            return outcome;
        }
        let artifacts = self.store.artifacts();
        let params = SyncParams {
            path: &self.path,
            tenant: &self.tenant,
            dry_run: self.dry_run,
            json: self.json,
            generated_at: self.generated_at,
            wait: self.wait,
        };
        crate::on_new_store!(self.store, self.json, s => {
            match crate::lasting::run_files(&s, artifacts, &self.tenant, &self.run_files, None).await {
                Ok(artifacts) => noted(sync(&s, &artifacts, params).await),
                Err(e) => failure(self.json, &e),
            }
        })
    }
}

/// An outcome, its note (if any) printed on stderr.
fn noted((outcome, note): (Outcome, Option<String>)) -> Outcome {
    if let Some(note) = note {
        eprintln!("{note}");
    }
    outcome
}

/// Which pull `rosterctl pull --mode` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullMode {
    /// Every record.
    Full,
    /// Records modified since the last applied pull.
    Delta,
    /// Full when the last full pull is older than the tenant's full_every_days, else delta.
    Auto,
}

impl From<PullMode> for RequestedMode {
    fn from(mode: PullMode) -> RequestedMode {
        match mode {
            PullMode::Full => RequestedMode::Full,
            PullMode::Delta => RequestedMode::Delta,
            PullMode::Auto => RequestedMode::Auto,
        }
    }
}

/// The arguments of `rosterctl pull` (no `Debug`: they hold secrets).
#[derive(Clone, clap::Args)]
pub struct PullArgs {
    /// The tenant (created with default settings if it does not exist).
    #[arg(long)]
    pub tenant: String,
    /// The API URL [default: the tenant's configured URL].
    #[arg(long)]
    pub api_url: Option<String>,
    /// The OneRoster version of the API, 1.1 or 1.2 [default: the tenant's,
    /// else told by the API URL's path, else 1.1].
    #[arg(long, value_name = "1.1|1.2", value_parser = crate::tenants_cmd::parse_oneroster_version)]
    pub oneroster_version: Option<oneroster::OneRosterVersion>,
    /// OAuth 1.0a Application Key.
    #[arg(long)]
    pub key: Option<String>,
    /// OAuth 1.0a Application Secret (or ONEROSTER_API_SECRET).
    #[arg(long)]
    pub secret: Option<String>,
    /// Bearer token.
    #[arg(long, conflicts_with_all = ["key", "client_id"])]
    pub token: Option<String>,
    /// OAuth 2 token URL.
    #[arg(long, requires = "client_id")]
    pub token_url: Option<String>,
    /// OAuth 2 client id.
    #[arg(long, requires = "token_url")]
    pub client_id: Option<String>,
    /// OAuth 2 client secret (or ONEROSTER_API_SECRET).
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Which pull to run (auto: full or delta by the tenant's cadence).
    #[arg(long, value_enum, default_value_t = PullMode::Auto)]
    pub mode: PullMode,
    /// Records per page (1-10000).
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub run_files: RunFilesBucketArg,
    /// Print the run record as JSON.
    #[arg(long)]
    pub json: bool,
}

impl PullArgs {
    /// Runs `rosterctl pull`: checks the credentials, opens (or creates) the
    /// store, pulls into a scratch folder (removed after) and syncs; the
    /// run's report and page are kept in the runs folder, as `sync`'s.
    pub async fn run(self) -> Outcome {
        let auth = match self.auth(std::env::var("ONEROSTER_API_SECRET").ok()) {
            Ok(auth) => auth,
            Err(message) => return usage(message),
        };
        if let Err(outcome) = crate::outcome::default_pause(self.json) {
            return outcome;
        }
        let scratch = std::env::temp_dir().join(format!("rosterctl-pull-{}", std::process::id()));
        let artifacts = self.store.artifacts();
        let params = PullParams {
            tenant: &self.tenant,
            api_url: self.api_url.as_deref(),
            oneroster_version: self.oneroster_version,
            auth,
            mode: self.mode.into(),
            page_size: self.page_size,
            json: self.json,
            scratch: &scratch,
        };
        let outcome = crate::on_new_store!(self.store, self.json, s => {
            match crate::lasting::run_files(&s, artifacts, &self.tenant, &self.run_files, None).await {
                Ok(artifacts) => noted(pull(&s, &artifacts, params).await),
                Err(e) => failure(self.json, &e),
            }
        });
        let _ = std::fs::remove_dir_all(&scratch);
        outcome
    }

    /// The credentials given: exactly one of the three kinds, a secret from
    /// `env_secret` (ONEROSTER_API_SECRET) when the flag is absent.
    fn auth(&self, env_secret: Option<String>) -> Result<Auth, &'static str> {
        match (&self.key, &self.token, &self.token_url, &self.client_id) {
            (Some(key), None, None, None) => match self.secret.clone().or(env_secret) {
                Some(secret) => Ok(Auth::OAuth1 {
                    key: key.clone(),
                    secret,
                }),
                None => Err("--key needs --secret (or ONEROSTER_API_SECRET)"),
            },
            (None, Some(token), None, None) => Ok(Auth::Bearer {
                token: token.clone(),
            }),
            (None, None, Some(token_url), Some(client_id)) => {
                match self.client_secret.clone().or(env_secret) {
                    Some(client_secret) => Ok(Auth::ClientCredentials {
                        token_url: token_url.clone(),
                        client_id: client_id.clone(),
                        client_secret,
                    }),
                    None => Err("--client-id needs --client-secret (or ONEROSTER_API_SECRET)"),
                }
            }
            _ => Err("give credentials: --key and --secret, --token, or --token-url, --client-id and --client-secret"),
        }
    }
}

/// When a package was generated: the newest modification time of its files.
pub fn package_time(path: &Path) -> Option<DateTime<Utc>> {
    let meta = std::fs::metadata(path).ok()?;
    let newest = if meta.is_dir() {
        std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
            .max()?
    } else {
        meta.modified().ok()?
    };
    Some(DateTime::<Utc>::from(newest))
}

/// The tenant's config, or a default one (not stored yet) with a note saying so.
pub(crate) async fn tenant_or_default<S: Store>(
    store: &S,
    tenant: &str,
    json: bool,
) -> Result<(TenantConfig, Option<String>), Outcome> {
    match store.get_tenant(tenant).await {
        Ok(Some(t)) => Ok((t, None)),
        Ok(None) => TenantConfig::new(tenant)
            .map(|t| {
                (
                    t,
                    Some(format!(
                        "note: tenant `{tenant}` did not exist; created with default settings"
                    )),
                )
            })
            .map_err(|e| failure(json, &e.to_string())),
        Err(e) => Err(store_failure(json, &e)),
    }
}

/// Parameters of `rosterctl sync`.
pub struct SyncParams<'p> {
    /// Package path.
    pub path: &'p Path,
    /// Tenant id.
    pub tenant: &'p str,
    /// Plan only.
    pub dry_run: bool,
    /// JSON output.
    pub json: bool,
    /// Generation time override.
    pub generated_at: Option<DateTime<Utc>>,
    /// Seconds to wait for another run of the tenant.
    pub wait: u64,
}

/// `rosterctl sync`.
pub async fn sync<S: Store, A: Artifacts>(
    store: &S,
    artifacts: &A,
    p: SyncParams<'_>,
) -> (Outcome, Option<String>) {
    if !p.path.exists() {
        return (
            failure(
                p.json,
                &format!("{}: no such file or folder", p.path.display()),
            ),
            None,
        );
    }
    let (tenant, note) = match tenant_or_default(store, p.tenant, p.json).await {
        Ok(found) => found,
        Err(outcome) => return (outcome, None),
    };
    if note.is_some() && !p.dry_run {
        if let Err(e) = store.put_tenant(&tenant).await {
            return (store_failure(p.json, &e), None);
        }
    }
    let engine = Engine {
        store,
        artifacts,
        options: SyncOptions {
            dry_run: p.dry_run,
            lease_wait: Duration::from_secs(p.wait),
            progress: crate::progress::for_command(p.json),
            this_process: roster::run::RunProcess::current(),
            ..SyncOptions::default()
        },
    };
    let source = RunSource {
        kind: "csv".into(),
        reference: p.path.display().to_string(),
    };
    // An operator's `--generated-at` is taken as stated (a replay, a rehearsal);
    // the files' own time is a claim, received now by this machine's clock.
    let delivered = match p.generated_at {
        Some(stated) => Delivered::at(stated),
        None => Delivered::now(package_time(p.path)),
    };
    match engine
        .sync_package(&tenant, p.path, source, delivered)
        .await
    {
        Ok(run) => {
            // The page a district reads, beside report.json in the runs folder.
            if let Err(e) = present::report_page::write_beside(&run) {
                eprintln!("warning: report.html not written: {e}");
            }
            (run_outcome(&run, p.json), note)
        }
        Err(e) => (sync_failure(p.json, &e), note),
    }
}

/// Parameters of `rosterctl pull`.
pub struct PullParams<'p> {
    /// Tenant id.
    pub tenant: &'p str,
    /// API URL (default: the tenant's).
    pub api_url: Option<&'p str>,
    /// OneRoster version (default: the tenant's, else told by the URL).
    pub oneroster_version: Option<oneroster::OneRosterVersion>,
    /// Credentials.
    pub auth: Auth,
    /// Full, delta or by cadence.
    pub mode: RequestedMode,
    /// Records per page.
    pub page_size: usize,
    /// JSON output.
    pub json: bool,
    /// Scratch folder for the pulled package.
    pub scratch: &'p Path,
}

/// `rosterctl pull`: pulls the tenant's OneRoster API locally and syncs it.
pub async fn pull<S: Store, A: Artifacts>(
    store: &S,
    artifacts: &A,
    p: PullParams<'_>,
) -> (Outcome, Option<String>) {
    let (mut tenant, note) = match tenant_or_default(store, p.tenant, p.json).await {
        Ok(found) => found,
        Err(outcome) => return (outcome, None),
    };
    let url = match (p.api_url, tenant.api.as_ref()) {
        (Some(url), _) => url.to_string(),
        (None, Some(api)) => api.url.clone(),
        (None, None) => {
            return (
                failure(
                    p.json,
                    "no API URL: give --api-url, or configure the tenant's API connection",
                ),
                note,
            )
        }
    };
    let api = roster::ApiSettings {
        oneroster_version: p
            .oneroster_version
            .or(tenant.api.as_ref().and_then(|a| a.oneroster_version)),
        url,
        secret_name: tenant
            .api
            .as_ref()
            .map(|a| a.secret_name.clone())
            .unwrap_or_default(),
        page_size: p.page_size,
        full_every_days: tenant.api.as_ref().map(|a| a.full_every_days).unwrap_or(7),
    };
    if tenant.api.is_none() {
        tenant.api = Some(api.clone());
        if !tenant.uses(roster::Connection::Api) {
            tenant.connections.push(roster::Connection::Api);
        }
    }
    if let Err(e) = store.put_tenant(&tenant).await {
        return (store_failure(p.json, &e), note);
    }
    let config = api_pull::PullConfig {
        progress: crate::progress::for_command(p.json),
        ..api_pull::PullConfig::default()
    };
    let places = api_pull::pull::PullPlaces {
        scratch: p.scratch,
        artifacts,
    };
    match api_pull::pull_and_sync(store, &tenant, &api, p.auth, p.mode, None, &config, places).await
    {
        Ok(run) => {
            // The page a district reads, beside report.json in the runs folder.
            if let Err(e) = present::report_page::write_beside(&run) {
                eprintln!("warning: report.html not written: {e}");
            }
            (run_outcome(&run, p.json), note)
        }
        Err(e) => (sync_failure(p.json, &e), note),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        pull: PullArgs,
    }

    fn auth(args: &[&str], env_secret: Option<&str>) -> Result<Auth, &'static str> {
        let line = Line::try_parse_from([&["pull", "--tenant", "t"], args].concat()).unwrap();
        line.pull.auth(env_secret.map(String::from))
    }

    #[test]
    fn credentials_are_one_kind_with_its_secret_from_the_flag_or_the_environment() {
        let oauth1 = |secret: &str| Auth::OAuth1 {
            key: "k".into(),
            secret: secret.into(),
        };
        assert_eq!(
            auth(&["--key", "k", "--secret", "s"], Some("e")),
            Ok(oauth1("s"))
        );
        assert_eq!(auth(&["--key", "k"], Some("e")), Ok(oauth1("e")));
        assert!(auth(&["--key", "k"], None)
            .unwrap_err()
            .contains("--secret"));
        assert_eq!(
            auth(&["--token", "t"], None),
            Ok(Auth::Bearer { token: "t".into() })
        );
        let oauth2 = ["--token-url", "https://idp/token", "--client-id", "c"];
        assert_eq!(
            auth(&oauth2, Some("e")),
            Ok(Auth::ClientCredentials {
                token_url: "https://idp/token".into(),
                client_id: "c".into(),
                client_secret: "e".into(),
            })
        );
        assert!(auth(&oauth2, None).unwrap_err().contains("--client-secret"));
        assert!(auth(&[], Some("e"))
            .unwrap_err()
            .starts_with("give credentials"));
        assert!(auth(
            &["--key", "k", "--token-url", "u", "--client-id", "c"],
            Some("e")
        )
        .is_err());
    }

    #[test]
    fn the_mode_defaults_to_auto_and_maps_to_the_requested_mode() {
        let mode = |args: &[&str]| {
            let line = Line::try_parse_from([&["pull", "--tenant", "t"], args].concat());
            line.map(|l| RequestedMode::from(l.pull.mode))
        };
        assert_eq!(mode(&[]).unwrap(), RequestedMode::Auto);
        assert_eq!(mode(&["--mode", "full"]).unwrap(), RequestedMode::Full);
        assert_eq!(mode(&["--mode", "delta"]).unwrap(), RequestedMode::Delta);
        let refused = mode(&["--mode", "Full!"]).err().unwrap();
        assert_eq!(refused.kind(), clap::error::ErrorKind::InvalidValue);
    }
}
