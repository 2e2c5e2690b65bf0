//! The table's shape: keys, indexes, TTL (kept equal to template.yaml's `RosterTable` by a test).

use super::*;

impl DynamoStore {
    /// Creates the table as `docs/data-model.md` describes (for local runs and
    /// tests; production tables come from template.yaml). Does nothing if it exists.
    pub async fn ensure_table(&self) -> StoreResult<()> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if matches!(&e, SdkError::ServiceError(s) if s.err().is_resource_not_found_exception()) =>
                {}
            Err(e) => return Err(sdk_error(e)),
        }
        self.create_table().await?;
        self.enable_ttl().await
    }

    /// Creates the table: its keys and two indexes (one made meanwhile by
    /// another process is fine).
    async fn create_table(&self) -> StoreResult<()> {
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
                    .map(attribute)
                    .to_vec(),
            ))
            .key_schema(key_element("pk", KeyType::Hash))
            .key_schema(key_element("sk", KeyType::Range))
            .global_secondary_indexes(gsi(1))
            .global_secondary_indexes(gsi(2))
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if matches!(&e, SdkError::ServiceError(s) if s.err().is_resource_in_use_exception()) => {
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Turns TTL on, on attribute `ttl`.
    async fn enable_ttl(&self) -> StoreResult<()> {
        let ttl = self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .expect("ttl spec"),
            )
            .send()
            .await;
        // Setting TTL twice is refused; either way TTL is on.
        if let Err(e) = ttl {
            let err = sdk_error(e);
            if err.is_retryable() {
                return Err(err);
            }
        }
        Ok(())
    }
}

/// A string attribute's definition.
fn attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition")
}

/// A key schema element.
fn key_element(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .expect("key schema")
}

/// Global secondary index `gsi{n}`, keyed `gsi{n}pk` and `gsi{n}sk`, all
/// attributes projected.
fn gsi(n: u8) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(format!("gsi{n}"))
        .key_schema(key_element(&format!("gsi{n}pk"), KeyType::Hash))
        .key_schema(key_element(&format!("gsi{n}sk"), KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("gsi")
}
