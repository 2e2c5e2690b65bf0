//! Which store a command works on: the embedded SQLite file (default,
//! `./roster.db`) or a DynamoDB table; and where run files are kept.

use roster::{LocalArtifacts, StoreError};
use roster_dynamodb::DynamoStore;
use roster_sqlite::SqliteStore;
use std::path::PathBuf;

/// Store selection shared by every command that touches the roster.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// SQLite database file (the default store).
    #[arg(long, value_name = "FILE", conflicts_with = "dynamodb")]
    pub db: Option<PathBuf>,
    /// Use this DynamoDB table instead (AWS credentials and region from the
    /// environment; AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB for an emulator).
    #[arg(long, value_name = "TABLE")]
    pub dynamodb: Option<String>,
    /// With --dynamodb: create the table if it does not exist (local emulators).
    #[arg(long, requires = "dynamodb")]
    pub create_table: bool,
    /// Where run files (validation reports, held plans) are kept
    /// [default: `runs/` beside the database, or `./runs` with --dynamodb].
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
}

/// An opened store.
pub enum OpenStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// DynamoDB.
    Dynamo(DynamoStore),
}

impl StoreArgs {
    fn db_path(&self) -> PathBuf {
        self.db
            .clone()
            .unwrap_or_else(|| PathBuf::from("roster.db"))
    }

    /// Opens the selected store, which must exist: a command that reads the
    /// roster refuses a SQLite file that is not there (rather than reading an
    /// empty new one), and says where it looked.
    pub async fn open(&self) -> Result<OpenStore, String> {
        if self.dynamodb.is_none() {
            let path = self.db_path();
            if !path.exists() {
                let shown = std::path::absolute(&path).unwrap_or(path);
                return Err(format!(
                    "no roster database at {}: give --db FILE (or --dynamodb TABLE); `rosterctl sync` or `rosterctl tenants add` creates one",
                    shown.display()
                ));
            }
        }
        self.open_or_create().await.map_err(|e| e.to_string())
    }

    /// Opens the selected store, creating the SQLite file if it does not exist
    /// (the commands that write a roster: sync, pull, tenants add).
    pub async fn open_or_create(&self) -> Result<OpenStore, StoreError> {
        match &self.dynamodb {
            Some(table) => {
                let store = DynamoStore::new(DynamoStore::client_from_env().await, table.clone());
                if self.create_table {
                    store.ensure_table().await?;
                }
                Ok(OpenStore::Dynamo(store))
            }
            None => Ok(OpenStore::Sqlite(SqliteStore::open(&self.db_path())?)),
        }
    }

    /// Where run files go.
    pub fn artifacts(&self) -> LocalArtifacts {
        let dir = match (&self.runs_dir, &self.dynamodb) {
            (Some(dir), _) => dir.clone(),
            (None, Some(_)) => PathBuf::from("runs"),
            (None, None) => self
                .db_path()
                .parent()
                .map(|p| p.join("runs"))
                .unwrap_or_else(|| PathBuf::from("runs")),
        };
        LocalArtifacts::new(dir)
    }
}

/// Runs `$body` with `$store` bound to the concrete store type.
#[macro_export]
macro_rules! with_store {
    ($open:expr, $store:ident => $body:expr) => {
        match $open {
            $crate::stores::OpenStore::Sqlite($store) => $body,
            $crate::stores::OpenStore::Dynamo($store) => $body,
        }
    };
}

/// Opens the store `$args` (a [`StoreArgs`]) names and runs `$body` with
/// `$store` bound to it; when it cannot be opened, the failure (exit 2).
#[macro_export]
macro_rules! on_store {
    ($args:expr, $json:expr, $store:ident => $body:expr) => {
        match $args.open().await {
            Ok(open) => $crate::with_store!(open, $store => $body),
            Err(e) => $crate::outcome::failure($json, &e),
        }
    };
}

/// As [`on_store!`], for the commands that may create the SQLite file.
#[macro_export]
macro_rules! on_new_store {
    ($args:expr, $json:expr, $store:ident => $body:expr) => {
        match $args.open_or_create().await {
            Ok(open) => $crate::with_store!(open, $store => $body),
            Err(e) => $crate::outcome::failure($json, &e.to_string()),
        }
    };
}
