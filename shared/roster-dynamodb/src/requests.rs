//! Single requests every role uses: get, put, queries of a partition or an index.

use super::*;

/// Sends `pending` with `send`, which returns what it got and what the
/// service left unprocessed, until nothing is left: leftovers and retryable
/// errors are sent again after a backoff with jitter. Gives up after
/// [`MAX_ATTEMPTS`] rounds in a row that made no progress, saying how many
/// `what` remain. Each round sent again is counted in `meter`'s retries.
pub(super) async fn until_processed<T, R, Fut>(
    meter: &Meter,
    mut pending: Vec<T>,
    what: &str,
    mut send: impl FnMut(Vec<T>) -> Fut,
) -> StoreResult<Vec<R>>
where
    T: Clone,
    Fut: std::future::Future<Output = StoreResult<(Vec<R>, Vec<T>)>>,
{
    let mut done = Vec::new();
    let mut attempt = 0;
    loop {
        match send(pending.clone()).await {
            Ok((results, left)) => {
                done.extend(results);
                if left.is_empty() {
                    return Ok(done);
                }
                if left.len() < pending.len() {
                    attempt = 0; // progress: a throttled table, not a stuck one
                }
                pending = left;
            }
            Err(e) if e.is_retryable() => {}
            Err(e) => return Err(e),
        }
        attempt += 1;
        if attempt >= MAX_ATTEMPTS {
            return Err(StoreError::unavailable(format!(
                "{} {what} after {MAX_ATTEMPTS} attempts (throttled)",
                pending.len()
            )));
        }
        tokio::time::sleep(super::writes::backoff(attempt)).await;
        meter.retried();
    }
}

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

    /// The items of up to 100 distinct `keys` (strongly consistent; those not
    /// stored are left out), unprocessed keys retried with backoff.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        until_processed(
            &self.meter,
            keys,
            "records still unread",
            |keys| async move {
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::permanent("building a DynamoDB request").because(e))?;
                let mut out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .metered(&self.meter)
                    .await
                    .map_err(sdk_error)?;
                let items = out
                    .responses
                    .as_mut()
                    .and_then(|r| r.remove(&self.table))
                    .unwrap_or_default();
                let left = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                Ok((items, left))
            },
        )
        .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn leftovers_are_sent_again_and_progress_is_not_counted_as_failure() {
        let mut calls = 0;
        let meter = Meter::default();
        // 12 rounds of one item each: more than MAX_ATTEMPTS, yet each made progress.
        let got: Vec<u32> =
            until_processed(&meter, (0..12).collect(), "items", |mut left: Vec<u32>| {
                calls += 1;
                async move {
                    let first = left.remove(0);
                    Ok((vec![first], left))
                }
            })
            .await
            .unwrap();
        assert_eq!(got, (0..12).collect::<Vec<_>>());
        assert_eq!(calls, 12);
        assert_eq!(meter.usage().retries, 11, "every round after the first");
    }

    #[tokio::test]
    async fn an_error_that_retrying_cannot_fix_ends_at_once() {
        let mut calls = 0;
        let meter = Meter::default();
        let failed = until_processed(&meter, vec![1u32], "items", |_| {
            calls += 1;
            async { Err::<(Vec<u32>, Vec<u32>), _>(StoreError::permanent("bad request")) }
        })
        .await;
        assert!(failed.is_err());
        assert_eq!(calls, 1);
        assert_eq!(meter.usage().retries, 0);
    }
}
