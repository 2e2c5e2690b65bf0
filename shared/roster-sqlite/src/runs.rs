//! Run records: one per sync, newest first.

use super::{db_error, json_error, SqliteStore};
use roster::run::RunRecord;
use roster::store::*;
use rusqlite::params;
use rusqlite::OptionalExtension;

impl Runs for SqliteStore {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        let text = serde_json::to_string(run).map_err(json_error)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO runs (run_id, tenant, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run_id) DO UPDATE SET record = excluded.record",
                params![run.run_id, run.tenant, text],
            )
            .map_err(db_error)?;
            Ok(())
        })
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<RunRecord>> {
        self.with(|c| {
            let text: Option<String> = c
                .query_row("SELECT record FROM runs WHERE run_id = ?1", [run_id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db_error)?;
            text.map(|t| serde_json::from_str(&t).map_err(json_error))
                .transpose()
        })
    }

    async fn list_runs(&self, tenant: Option<&str>, limit: usize) -> StoreResult<Vec<RunRecord>> {
        self.with(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT record FROM runs WHERE (?1 IS NULL OR tenant = ?1) ORDER BY run_id DESC LIMIT ?2",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map(params![tenant, limit as i64], |r| r.get::<_, String>(0))
                .map_err(db_error)?;
            rows.map(|t| serde_json::from_str(&t.map_err(db_error)?).map_err(json_error))
                .collect()
        })
    }
}
