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
