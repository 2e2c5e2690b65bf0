//! Roster records: summaries, lookups, writes, the platform-owned Primary
//! Administrator flag, and the platform's own edits.

use super::*;
use roster::school_year::RecordFacts;
use std::sync::Arc;

pub(super) fn summary_of(kind: EntityKind, item: Item) -> StoreResult<StoredSummary> {
    let sis = SisContent::from_value(
        item.get("sis")
            .map(attribute_to_json)
            .unwrap_or(Value::Null),
    );
    let archived = item.contains_key("archived_by");
    Ok(StoredSummary {
        sourced_id: need_s(&item, "sid")?.into(),
        digest: sis.digest(),
        facts: RecordFacts::for_summary(kind, &sis, archived),
        archived,
        first_seen: Arc::new(FirstSeen {
            at: parse_ts(need_s(&item, "first_seen_at")?)?,
            run: need_s(&item, "first_seen_run")?.to_string(),
        }),
        provisional: is_provisional(&item),
    })
}

/// A stored record from its entity item (`primary_admin` from its platform item).
pub(super) fn entity_of(
    kind: EntityKind,
    sourced_id: &str,
    item: &Item,
    primary_admin: bool,
) -> StoreResult<StoredEntity> {
    let archive = match (get_s(item, "archived_by"), get_s(item, "archived_at")) {
        (Some(by), Some(at)) => Some(ArchiveInfo {
            by: ArchivedBy::parse(by),
            at: parse_ts(at)?,
            run: get_s(item, "archived_run").map(String::from),
            reason: get_s(item, "archive_reason").and_then(ArchiveReason::parse),
        }),
        _ => None,
    };
    Ok(StoredEntity {
        kind,
        sourced_id: sourced_id.to_string(),
        sis: SisContent::from_value(
            item.get("sis")
                .map(attribute_to_json)
                .unwrap_or(Value::Null),
        ),
        archive,
        first_seen_at: parse_ts(need_s(item, "first_seen_at")?)?,
        first_seen_run: need_s(item, "first_seen_run")?.to_string(),
        updated_at: parse_ts(need_s(item, "updated_at")?)?,
        updated_run: need_s(item, "updated_run")?.to_string(),
        primary_admin,
        provisional: is_provisional(item),
        rekey: RekeyLinks::default(),
        erasure: super::erasure::erasure_of(item)?,
    })
}

/// Whether an entity item is a provisional user made at sign-in.
fn is_provisional(item: &Item) -> bool {
    item.get("provisional")
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

impl Records for DynamoStore {
    fn name(&self) -> &'static str {
        "dynamodb"
    }

    fn usage(&self) -> Option<StoreUsage> {
        Some(self.meter.usage())
    }

    async fn load_summaries(
        &self,
        tenant: &str,
        kind: EntityKind,
    ) -> StoreResult<Vec<StoredSummary>> {
        let projection = "sid, sis, archived_by, first_seen_at, first_seen_run, provisional";
        let shards = stream::iter((0..SHARDS).map(|shard| {
            let pk = shard_pk(tenant, kind, shard);
            async move {
                self.query_prefix(&pk, "E#", Some(projection), |item| summary_of(kind, item))
                    .await
            }
        }))
        .buffer_unordered(8)
        .try_collect::<Vec<Vec<StoredSummary>>>()
        .await?;
        Ok(shards.into_iter().flatten().collect())
    }

    /// One small query a partition until one holds a record, users' first
    /// (most records are users): a tenant with records answers within a few
    /// queries, an empty one after one query per shard and type.
    async fn has_records(&self, tenant: &str) -> StoreResult<bool> {
        let mut kinds = EntityKind::ALL;
        kinds.sort_by_key(|kind| *kind != EntityKind::Users);
        let partitions: Vec<String> = kinds
            .into_iter()
            .flat_map(|kind| (0..SHARDS).map(move |shard| (kind, shard)))
            .map(|(kind, shard)| shard_pk(tenant, kind, shard))
            .collect();
        let mut found = stream::iter(partitions.into_iter().map(|pk| async move {
            let items = self.newest_in_partition(&pk, "E#", 1).await?;
            Ok::<bool, StoreError>(!items.is_empty())
        }))
        .buffer_unordered(CONCURRENCY);
        while let Some(one) = found.next().await {
            if one? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn get_entity(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
    ) -> StoreResult<Option<StoredEntity>> {
        let pk = entity_pk(tenant, kind, sourced_id);
        let Some(item) = self
            .get_item(key(pk.clone(), format!("E#{sourced_id}")))
            .await?
        else {
            return Ok(None);
        };
        let platform = self
            .get_item(key(pk, format!("P#{sourced_id}")))
            .await?
            .unwrap_or_default();
        let primary_admin = platform
            .get("primary_admin")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false);
        let mut entity = entity_of(kind, sourced_id, &item, primary_admin)?;
        entity.rekey = RekeyLinks {
            rekeyed_to: get_s(&platform, "rekeyed_to").map(String::from),
            previous_sourced_ids: platform
                .get("previous_ids")
                .and_then(|v| v.as_l().ok())
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| id.as_s().ok().cloned())
                        .collect()
                })
                .unwrap_or_default(),
        };
        Ok(Some(entity))
    }

    /// `BatchGetItem` of the records' items (100 keys a request, strongly
    /// consistent, unprocessed keys retried), several requests at once.
    async fn record_states(
        &self,
        tenant: &str,
        kind: EntityKind,
        ids: &[String],
    ) -> StoreResult<HashMap<String, RecordState>> {
        // BatchGetItem refuses a request that names a key twice.
        let ids: Vec<&String> = ids
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let batches: Vec<Vec<Item>> = ids
            .chunks(100)
            .map(|batch| {
                batch
                    .iter()
                    .map(|id| key(entity_pk(tenant, kind, id), format!("E#{id}")))
                    .collect()
            })
            .collect();
        let items = stream::iter(batches.into_iter().map(|keys| self.batch_get(keys)))
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<Vec<Item>>>()
            .await?;
        let mut states = HashMap::with_capacity(ids.len());
        for item in items.into_iter().flatten() {
            let id = need_s(&item, "sid")?.to_string();
            let entity = entity_of(kind, &id, &item, false)?;
            states.insert(id, RecordState::of(&entity));
        }
        Ok(states)
    }

    async fn lookup(&self, tenant: &str, lookup: &Lookup) -> StoreResult<Vec<String>> {
        let (index, pk) = match lookup {
            Lookup::UsersByEmail(v) => ("gsi1", format!("T#{tenant}#EMAIL#{}", v.to_lowercase())),
            Lookup::UsersByUsername(v) => {
                ("gsi2", format!("T#{tenant}#USERNAME#{}", v.to_lowercase()))
            }
            Lookup::ClassesOfSchool(v) => ("gsi1", format!("T#{tenant}#SCHOOL#{v}")),
            Lookup::EnrollmentsOfClass(v) => ("gsi1", format!("T#{tenant}#CLASS#{v}")),
            Lookup::EnrollmentsOfUser(v) => ("gsi2", format!("T#{tenant}#USER#{v}")),
        };
        let kind = lookup.kind().file_name();
        let items = self.query_index(index, &pk, None).await?;
        let mut ids: Vec<String> = items
            .iter()
            .filter(|i| get_s(i, "kind") == Some(kind))
            .filter_map(|i| get_s(i, "sid").map(String::from))
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn write(&self, tenant: &str, lease: &Lease, writes: &[EntityWrite]) -> StoreResult<u64> {
        let fence = super::writes::Fence::hold(self, tenant, lease).await?;
        let fence = &fence;
        let puts: Vec<Item> = writes
            .iter()
            .filter_map(|w| Self::entity_item(tenant, w))
            .collect();
        let mut written = self.batch_put(puts, fence).await?;
        type Archive = (
            EntityKind,
            String,
            DateTime<Utc>,
            String,
            Option<ArchiveReason>,
            ArchivedBy,
        );
        let archives: Vec<Archive> = writes
            .iter()
            .filter_map(|w| match w {
                EntityWrite::Archive {
                    kind,
                    sourced_id,
                    at,
                    run,
                    reason,
                    by,
                } => Some((*kind, sourced_id.clone(), *at, run.clone(), *reason, *by)),
                EntityWrite::Put { .. } | EntityWrite::Restore { .. } => None,
            })
            .collect();
        let archived = archives.len() as u64;
        stream::iter(
            archives
                .into_iter()
                .map(|(kind, id, at, run, reason, by)| async move {
                    let mark = ArchiveInfo {
                        by,
                        at,
                        run: Some(run),
                        reason,
                    };
                    self.archive_one(tenant, kind, &id, &mark, fence).await
                }),
        )
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        written += archived;
        Ok(written)
    }
}

impl ProvisionalUsers for DynamoStore {
    async fn provision_user(
        &self,
        tenant: &str,
        sourced_id: &str,
        sis: &SisContent,
        now: DateTime<Utc>,
        origin: &str,
    ) -> StoreResult<bool> {
        let write = EntityWrite::Put {
            kind: EntityKind::Users,
            sourced_id: sourced_id.to_string(),
            keys: sis.index_keys(EntityKind::Users),
            sis: sis.clone(),
            first_seen_at: now,
            first_seen_run: origin.to_string(),
            updated_at: now,
            run: origin.to_string(),
        };
        let mut item = Self::entity_item(tenant, &write).expect("a put has an item");
        item.insert("provisional".into(), AttributeValue::Bool(true));
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .metered(&self.meter)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn provisional_users(&self, tenant: &str) -> StoreResult<Vec<StoredEntity>> {
        let shards = stream::iter((0..SHARDS).map(|shard| {
            let pk = shard_pk(tenant, EntityKind::Users, shard);
            async move {
                self.query_prefix(&pk, "E#", Some("sid, provisional"), |item| {
                    is_provisional(&item)
                        .then(|| need_s(&item, "sid").map(String::from))
                        .transpose()
                })
                .await
            }
        }))
        .buffer_unordered(8)
        .try_collect::<Vec<Vec<Option<String>>>>()
        .await?;
        let mut ids: Vec<String> = shards.into_iter().flatten().flatten().collect();
        ids.sort();
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(user) = self.get_entity(tenant, EntityKind::Users, &id).await? {
                users.push(user);
            }
        }
        Ok(users)
    }
}

impl PrimaryAdmins for DynamoStore {
    async fn primary_admins(&self, tenant: &str) -> StoreResult<Vec<String>> {
        let items = self
            .query_index("gsi1", &format!("T#{tenant}#PRIMARY_ADMIN"), None)
            .await?;
        let mut ids: Vec<String> = items
            .iter()
            .filter_map(|i| get_s(i, "gsi1sk").map(String::from))
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn set_primary_admin(
        &self,
        tenant: &str,
        sourced_id: &str,
        primary: bool,
    ) -> StoreResult<()> {
        let pk = entity_pk(tenant, EntityKind::Users, sourced_id);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, format!("P#{sourced_id}"))));
        let update = if primary {
            update
                .update_expression("SET primary_admin = :t, gsi1pk = :gpk, gsi1sk = :gsk")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":gpk", s(format!("T#{tenant}#PRIMARY_ADMIN")))
                .expression_attribute_values(":gsk", s(sourced_id))
        } else {
            update
                .update_expression("SET primary_admin = :f REMOVE gsi1pk, gsi1sk")
                .expression_attribute_values(":f", AttributeValue::Bool(false))
        };
        update.metered(&self.meter).await.map_err(sdk_error)?;
        Ok(())
    }
}

impl Rekeys for DynamoStore {
    /// Two `UpdateItem`s of the records' platform items (`P#`): the new one
    /// lists its earlier ids, then the old one points to the new.
    async fn link_rekey(
        &self,
        tenant: &str,
        kind: EntityKind,
        old: &str,
        new: &str,
        previous: &[String],
    ) -> StoreResult<()> {
        let platform = |id: &str| key(entity_pk(tenant, kind, id), format!("P#{id}"));
        let previous = previous.iter().map(s).collect();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(platform(new)))
            .update_expression("SET previous_ids = :previous")
            .expression_attribute_values(":previous", AttributeValue::L(previous))
            .metered(&self.meter)
            .await
            .map_err(sdk_error)?;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(platform(old)))
            .update_expression("SET rekeyed_to = :new")
            .expression_attribute_values(":new", s(new))
            .metered(&self.meter)
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    /// Two conditional `UpdateItem`s of the same platform items: each
    /// removes its link only where it is there (and makes no item).
    async fn unlink_rekey(
        &self,
        tenant: &str,
        kind: EntityKind,
        old: &str,
        new: &str,
    ) -> StoreResult<()> {
        let platform = |id: &str| key(entity_pk(tenant, kind, id), format!("P#{id}"));
        let to_new = Some([(":new".to_string(), s(new))].into());
        self.remove_where(platform(old), "rekeyed_to", "rekeyed_to = :new", to_new)
            .await?;
        let previous = "attribute_exists(previous_ids)";
        self.remove_where(platform(new), "previous_ids", previous, None)
            .await
    }
}

impl DynamoStore {
    /// Removes `attribute` from the item at `key` where `condition` (with
    /// `values`) holds; nothing, and no item made, where it does not.
    async fn remove_where(
        &self,
        key: Item,
        attribute: &str,
        condition: &str,
        values: Option<std::collections::HashMap<String, AttributeValue>>,
    ) -> StoreResult<()> {
        let removed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(format!("REMOVE {attribute}"))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .metered(&self.meter)
            .await;
        match removed {
            Err(e) if !is_condition_failed(&e) => Err(sdk_error(e)),
            _ => Ok(()),
        }
    }
}

impl PlatformEdits for DynamoStore {
    async fn archive_by_hand(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mark = ArchiveInfo {
            by: ArchivedBy::Manual,
            at: now,
            run: None,
            reason: None,
        };
        self.set_archived(tenant, kind, sourced_id, &mark)
            .await
            .map_err(sdk_error)
    }

    async fn edit_sis_field(
        &self,
        tenant: &str,
        kind: EntityKind,
        sourced_id: &str,
        field: &str,
        value: &str,
    ) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                entity_pk(tenant, kind, sourced_id),
                format!("E#{sourced_id}"),
            )))
            .update_expression("SET sis.#f = :v")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#f", field)
            .expression_attribute_values(":v", s(value))
            .metered(&self.meter)
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
