//! Run records.

use super::*;

pub(super) fn record_of(item: &Item) -> StoreResult<RunRecord> {
    serde_json::from_str(need_s(item, "record")?).map_err(json_error)
}

impl DynamoStore {
    pub(super) fn run_items(run: &RunRecord) -> StoreResult<(Item, Item)> {
        let text = serde_json::to_string(run).map_err(json_error)?;
        let mut listing = key(
            format!("T#{}#RUNS", run.tenant),
            format!("RUN#{}", run.run_id),
        );
        listing.insert("record".into(), s(text.clone()));
        listing.insert("gsi1pk".into(), s("RUNS"));
        listing.insert("gsi1sk".into(), s(run.run_id.as_str()));
        let mut by_id = key(format!("RUN#{}", run.run_id), "RUN".into());
        by_id.insert("record".into(), s(text));
        by_id.insert("tenant".into(), s(run.tenant.as_str()));
        Ok((listing, by_id))
    }
}

impl Runs for DynamoStore {
    async fn put_run(&self, run: &RunRecord) -> StoreResult<()> {
        let (listing, by_id) = Self::run_items(run)?;
        self.put_item(by_id).await?;
        self.put_item(listing).await
    }

    async fn get_run(&self, run_id: &str) -> StoreResult<Option<RunRecord>> {
        self.get_item(key(format!("RUN#{run_id}"), "RUN".into()))
            .await?
            .map(|i| record_of(&i))
            .transpose()
    }

    async fn list_runs(&self, tenant: Option<&str>, limit: usize) -> StoreResult<Vec<RunRecord>> {
        let items = match tenant {
            Some(t) => {
                self.newest_in_partition(&format!("T#{t}#RUNS"), "RUN#", limit.min(1000) as i32)
                    .await?
            }
            None => self.query_index("gsi1", "RUNS", Some(limit)).await?,
        };
        items.iter().map(record_of).collect()
    }
}
