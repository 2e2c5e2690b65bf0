//! Offboarding: every item of a tenant, found by one parallel Scan, deleted
//! with BatchWriteItem (unprocessed items retried with backoff and jitter).
//!
//! A Scan rather than Queries of the tenant's partitions: claims (keyed by
//! the delivery's S3 key), runs' by-id items, the ClassLink mapping and login
//! tickets are not under a key that starts with the tenant, and one Scan
//! finds every kind of item by the same rules (offboarding is rare; it reads
//! the table once).

use super::*;
use aws_sdk_dynamodb::types::DeleteRequest;

/// Scan segments read at once.
const SEGMENTS: i32 = 8;

/// A found item: what it is, and its table key.
struct Found {
    item: TenantItem,
    pk: String,
    sk: String,
}

/// What an item of the table is to `tenant` (`None`: not its), from its key,
/// its `tenant` attribute and its `payload` (one-time records).
fn kind_for(
    tenant: &str,
    pk: &str,
    sk: &str,
    owner: Option<&str>,
    payload: Option<&str>,
) -> Option<TenantItemKind> {
    let mine = owner == Some(tenant);
    if let Some(rest) = pk.strip_prefix(&format!("T#{tenant}#")) {
        return Some(if rest == "RUNS" {
            TenantItemKind::Runs
        } else if sk.starts_with("P#") {
            TenantItemKind::PlatformRecords
        } else {
            TenantItemKind::Records
        });
    }
    if pk == format!("TENANT#{tenant}") {
        return Some(if sk == "LEASE" {
            TenantItemKind::Lease
        } else {
            TenantItemKind::State
        });
    }
    if pk == format!("SSOAUDIT#{tenant}") {
        return Some(TenantItemKind::SignInAudits);
    }
    if pk == "TENANTS" && sk == tenant {
        return Some(TenantItemKind::Config);
    }
    if pk.starts_with("CLASSLINK#") && mine {
        return Some(TenantItemKind::ClassLinkMapping);
    }
    if pk.starts_with("RUN#") && mine {
        return Some(TenantItemKind::Runs);
    }
    if let Some(work) = pk.strip_prefix("CLAIM#") {
        return claim_of_tenant(work, tenant).then_some(TenantItemKind::Claims);
    }
    if pk.starts_with("ONETIME#") {
        return payload
            .is_some_and(|p| one_time_of_tenant(p, tenant))
            .then_some(TenantItemKind::OneTimeRecords);
    }
    None
}

impl DynamoStore {
    /// Every item of `tenant`, by a parallel Scan (consistent) whose filter
    /// lets through a superset that [`kind_for`] then decides on.
    async fn find_tenant(&self, tenant: &str) -> StoreResult<Vec<Found>> {
        let segments =
            stream::iter((0..SEGMENTS).map(|segment| self.scan_segment(tenant, segment)))
                .buffer_unordered(SEGMENTS as usize)
                .try_collect::<Vec<Vec<Found>>>()
                .await?;
        let mut found: Vec<Found> = segments.into_iter().flatten().collect();
        found.sort_by(|a, b| a.item.cmp(&b.item));
        Ok(found)
    }

    async fn scan_segment(&self, tenant: &str, segment: i32) -> StoreResult<Vec<Found>> {
        let filter = "begins_with(pk, :tp) OR pk = :state OR pk = :audit \
            OR (pk = :tenants AND sk = :t) \
            OR ((begins_with(pk, :run) OR begins_with(pk, :map)) AND #tenant = :t) \
            OR (begins_with(pk, :claim) AND contains(pk, :inbound)) \
            OR (begins_with(pk, :once) AND contains(payload, :t))";
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(segment)
                .total_segments(SEGMENTS)
                .consistent_read(true)
                .filter_expression(filter)
                .projection_expression("pk, sk, #tenant, payload")
                .expression_attribute_names("#tenant", "tenant")
                .expression_attribute_values(":tp", s(format!("T#{tenant}#")))
                .expression_attribute_values(":state", s(format!("TENANT#{tenant}")))
                .expression_attribute_values(":audit", s(format!("SSOAUDIT#{tenant}")))
                .expression_attribute_values(":tenants", s("TENANTS"))
                .expression_attribute_values(":t", s(tenant))
                .expression_attribute_values(":run", s("RUN#"))
                .expression_attribute_values(":map", s("CLASSLINK#"))
                .expression_attribute_values(":claim", s("CLAIM#"))
                .expression_attribute_values(":inbound", s(format!("/inbound/{tenant}/")))
                .expression_attribute_values(":once", s("ONETIME#"))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(sdk_error)?;
            for item in out.items.unwrap_or_default() {
                let (pk, sk) = (need_s(&item, "pk")?, need_s(&item, "sk")?);
                let kind = kind_for(
                    tenant,
                    pk,
                    sk,
                    get_s(&item, "tenant"),
                    get_s(&item, "payload"),
                );
                if let Some(kind) = kind {
                    found.push(Found {
                        item: TenantItem::new(kind, format!("pk={pk} sk={sk}")),
                        pk: pk.to_string(),
                        sk: sk.to_string(),
                    });
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(found),
            }
        }
    }

    /// Deletes one batch (at most [`BATCH`] keys), unprocessed items sent again.
    async fn delete_batch(&self, batch: &[Found]) -> StoreResult<()> {
        let requests: Vec<WriteRequest> = batch
            .iter()
            .map(|f| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key(f.pk.clone(), f.sk.clone())))
                    .build()
                    .map_err(|e| StoreError::permanent("building a DynamoDB request").because(e))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<StoreResult<_>>()?;
        self.send_batch(requests, None).await
    }

    /// Deletes `found` rank by rank ([`deletion_rank`]); stops after the
    /// first rank in which a batch failed.
    async fn delete_found(&self, found: Vec<Found>) -> TenantDeletion {
        let mut erasure = TenantDeletion::default();
        let mut ranks: BTreeMapRanks = BTreeMapRanks::new();
        for f in found {
            ranks.entry(deletion_rank(f.item.kind)).or_default().push(f);
        }
        for (_, group) in ranks {
            if erasure.error.is_some() {
                erasure.left.extend(group.into_iter().map(|f| f.item));
                continue;
            }
            let results: Vec<(Vec<Found>, StoreResult<()>)> =
                stream::iter(chunked(group).into_iter().map(|batch| async move {
                    let result = self.delete_batch(&batch).await;
                    (batch, result)
                }))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for (batch, result) in results {
                let items = batch.into_iter().map(|f| f.item);
                match result {
                    Ok(()) => erasure.deleted.extend(items),
                    Err(e) => {
                        erasure.left.extend(items);
                        erasure.error.get_or_insert(e);
                    }
                }
            }
        }
        erasure.deleted.sort();
        erasure.left.sort();
        erasure
    }
}

type BTreeMapRanks = std::collections::BTreeMap<u8, Vec<Found>>;

/// `group` in batches of at most [`BATCH`].
fn chunked(group: Vec<Found>) -> Vec<Vec<Found>> {
    let mut batches = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    for f in group {
        batch.push(f);
        if batch.len() == BATCH {
            batches.push(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

impl TenantErasure for DynamoStore {
    async fn tenant_items(&self, tenant: &str) -> StoreResult<Vec<TenantItem>> {
        Ok(self
            .find_tenant(tenant)
            .await?
            .into_iter()
            .map(|f| f.item)
            .collect())
    }

    async fn delete_tenant(&self, tenant: &str) -> TenantDeletion {
        match self.find_tenant(tenant).await {
            Ok(found) => self.delete_found(found).await,
            Err(e) => TenantDeletion {
                error: Some(e),
                ..TenantDeletion::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_the_tenants_by_key_or_by_what_they_name() {
        let k = |pk: &str, sk: &str, owner: Option<&str>, payload: Option<&str>| {
            kind_for("d1", pk, sk, owner, payload)
        };
        use TenantItemKind::*;
        assert_eq!(k("T#d1#users#03", "E#u1", None, None), Some(Records));
        assert_eq!(
            k("T#d1#users#03", "P#u1", None, None),
            Some(PlatformRecords)
        );
        assert_eq!(k("T#d1#RUNS", "RUN#r1", None, None), Some(Runs));
        assert_eq!(k("RUN#r1", "RUN", Some("d1"), None), Some(Runs));
        assert_eq!(k("TENANT#d1", "STATE", None, None), Some(State));
        assert_eq!(k("TENANT#d1", "LEASE", None, None), Some(Lease));
        assert_eq!(k("TENANTS", "d1", None, None), Some(Config));
        assert_eq!(
            k("CLASSLINK#abc", "TENANT", Some("d1"), None),
            Some(ClassLinkMapping)
        );
        assert_eq!(k("SSOAUDIT#d1", "2026#r", None, None), Some(SignInAudits));
        assert_eq!(
            k("CLAIM#OBJ#b/inbound/d1/x.zip#v", "CLAIM", None, None),
            Some(Claims)
        );
        assert_eq!(
            k(
                "ONETIME#ticket#h",
                "ONETIME",
                None,
                Some(r#"{"tenant":"d1"}"#)
            ),
            Some(OneTimeRecords)
        );
        // Another tenant's, or nobody's.
        assert_eq!(k("T#d10#users#03", "E#u1", None, None), None);
        assert_eq!(k("TENANTS", "d10", None, None), None);
        assert_eq!(k("RUN#r2", "RUN", Some("d10"), None), None);
        assert_eq!(k("CLASSLINK#x", "TENANT", Some("d2"), None), None);
        assert_eq!(k("SSOAUDIT#-", "2026#r", None, None), None);
        assert_eq!(
            k("CLAIM#OBJ#b/inbound/d10/x.zip#v", "CLAIM", None, None),
            None
        );
        assert_eq!(k("ONETIME#login-tx#h", "ONETIME", None, Some("{}")), None);
    }
}
