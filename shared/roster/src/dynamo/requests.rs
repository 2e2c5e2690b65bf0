//! Single requests every role uses: get, put, queries of a partition or an index.

use super::*;

impl DynamoStore {
    pub(super) async fn get_item(&self, key: Item) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .metered(&self.meter)
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }

    /// The items of up to 100 `keys` (strongly consistent; those not stored
    /// are left out), unprocessed keys retried with backoff.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut items = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::permanent("building a DynamoDB request").because(e))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request.clone())
                .metered(&self.meter)
                .await;
            match out {
                Ok(mut out) => {
                    items.extend(
                        out.responses
                            .as_mut()
                            .and_then(|r| r.remove(&self.table))
                            .unwrap_or_default(),
                    );
                    pending = out
                        .unprocessed_keys
                        .and_then(|mut u| u.remove(&self.table))
                        .map(|k| k.keys)
                        .unwrap_or_default();
                    if pending.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    let err = sdk_error(e);
                    if !err.is_retryable() {
                        return Err(err);
                    }
                    pending = request.keys;
                }
            }
            attempt += 1;
            if attempt >= MAX_ATTEMPTS {
                return Err(StoreError::unavailable(format!(
                    "{} records still unread after {MAX_ATTEMPTS} attempts (throttled)",
                    pending.len()
                )));
            }
            tokio::time::sleep(super::writes::backoff(attempt)).await;
        }
        Ok(items)
    }

    pub(super) async fn put_item(&self, item: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .metered(&self.meter)
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Every item of a partition whose sort key starts with `prefix`, paged,
    /// each converted as its page arrives (raw items are large; only the
    /// converted values are kept).
    pub(super) async fn query_prefix<T>(
        &self,
        pk: &str,
        prefix: &str,
        projection: Option<&str>,
        convert: impl Fn(Item) -> StoreResult<T> + Send + Sync,
    ) -> StoreResult<Vec<T>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start.take());
            q = in_partition(q, pk, prefix);
            if let Some(p) = projection {
                q = q.projection_expression(p);
            }
            let out = q.metered(&self.meter).await.map_err(sdk_error)?;
            for item in out.items.unwrap_or_default() {
                items.push(convert(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// The first `limit` items of a partition (whose sort key starts with
    /// `prefix`, unless empty), highest sort key (newest) first. One page:
    /// `limit` is at most 1,000.
    pub(super) async fn newest_in_partition(
        &self,
        pk: &str,
        prefix: &str,
        limit: i32,
    ) -> StoreResult<Vec<Item>> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(limit)
            .consistent_read(true);
        q = in_partition(q, pk, prefix);
        let out = q.metered(&self.meter).await.map_err(sdk_error)?;
        Ok(out.items.unwrap_or_default())
    }

    /// Items of a GSI partition, newest (highest sort key) first.
    pub(super) async fn query_index(
        &self,
        index: &str,
        pk: &str,
        limit: Option<usize>,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("{index}pk = :pk"))
                .expression_attribute_values(":pk", s(pk))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take())
                .metered(&self.meter)
                .await
                .map_err(sdk_error)?;
            items.extend(out.items.unwrap_or_default());
            if limit.is_some_and(|l| items.len() >= l) {
                items.truncate(limit.unwrap_or(usize::MAX));
                return Ok(items);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}
