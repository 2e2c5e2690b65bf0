//! Hand edits: records archived or edited by hand are set back by the next
//! sync; configurations edited past the store keep a ClassLink TenantId to
//! one tenant.

use crate::common::*;
use chrono::Utc;
use oneroster::EntityKind;
use roster::*;

async fn manual_archives_and_edits_are_overridden<S: Store + PlatformEdits>(store: S) {
    let bench = Bench::new();
    let t = tenant(&store, "d1").await;
    let district = District::new(40, 4);
    sync(&store, &bench, &t, &district, None).await;
    store
        .archive_by_hand("d1", EntityKind::Classes, "cl-2", Utc::now())
        .await
        .unwrap();
    store
        .edit_sis_field(
            "d1",
            EntityKind::Users,
            "stu-0004",
            "givenName",
            "Hand Edited",
        )
        .await
        .unwrap();
    let edited = entity(&store, "d1", EntityKind::Users, "stu-0004").await;
    assert_eq!(edited.sis.str("givenName"), Some("Hand Edited"));
    assert_eq!(
        entity(&store, "d1", EntityKind::Classes, "cl-2")
            .await
            .archive
            .unwrap()
            .by,
        ArchivedBy::Manual
    );

    let run = sync(&store, &bench, &t, &district, None).await;
    assert_eq!(counts(&run, EntityKind::Classes).unarchived, 1);
    assert_eq!(counts(&run, EntityKind::Users).updated, 1);
    assert_eq!(run.items_written, 2);
    let user = entity(&store, "d1", EntityKind::Users, "stu-0004").await;
    assert_eq!(
        user.sis.str("givenName"),
        Some("Given4"),
        "the SIS value wins"
    );
    assert!(entity(&store, "d1", EntityKind::Classes, "cl-2")
        .await
        .archive
        .is_none());
}

conformance!(manual_archives_and_edits_are_overridden);

/// Configurations edited past the store (a hand edit of the table) that give
/// one ClassLink TenantId to two tenants: the mapping's tenant keeps it while
/// it still carries the id; without a mapping, sign-in sees a misconfiguration.
mod classlink_tenant_ids {
    use super::*;
    use crate::sign_in_records::{owner_of, with_classlink};
    use aws_sdk_dynamodb::types::AttributeValue;

    fn config_text(tenant: &str, classlink: &str) -> String {
        serde_json::to_string(&with_classlink(tenant, Some(classlink))).unwrap()
    }

    async fn misconfigured<S: Store>(store: &S, classlink: &str) -> Vec<String> {
        match tenant_for_classlink(store, classlink).await.unwrap() {
            ClassLinkOwner::Misconfigured { mut tenants } => {
                tenants.sort();
                tenants
            }
            other => panic!("expected a misconfiguration, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn sqlite_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roster.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .put_tenant(&with_classlink("a", Some("4242")))
            .await
            .unwrap();
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute(
            "INSERT INTO tenants (tenant, config) VALUES ('b', ?1)",
            [config_text("b", "4242")],
        )
        .unwrap();
        assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));
        // The owner's own configuration edited away from the id: nobody has it cleanly.
        raw.execute(
            "UPDATE tenants SET config = ?1 WHERE tenant = 'a'",
            [config_text("a", "9999")],
        )
        .unwrap();
        assert_eq!(misconfigured(&store, "4242").await, ["a", "b"]);
        raw.execute(
            "UPDATE tenants SET config = ?1 WHERE tenant = 'a'",
            [config_text("a", "4242")],
        )
        .unwrap();
        // The mapping deleted by hand: two claimants and no mapping stay
        // unmapped, also in the next process.
        raw.execute("DELETE FROM classlink_tenants", []).unwrap();
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.classlink_mapping("4242").await.unwrap(), None);
        assert_eq!(misconfigured(&store, "4242").await, ["a", "b"]);
    }

    #[tokio::test]
    async fn dynamodb_store() {
        let store = dynamo().await;
        store
            .put_tenant(&with_classlink("a", Some("4242")))
            .await
            .unwrap();
        let raw = testkit::dynamodb_client(&testkit::dynamodb());
        let s = |v: &str| AttributeValue::S(v.into());
        raw.put_item()
            .table_name(store.table())
            .item("pk", s("TENANTS"))
            .item("sk", s("b"))
            .item("config", s(&config_text("b", "4242")))
            .send()
            .await
            .unwrap();
        assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));
        // A tenant saved before the mapping existed: no mapping, two claimants.
        raw.delete_item()
            .table_name(store.table())
            .key("pk", s("CLASSLINK#4242"))
            .key("sk", s("TENANT"))
            .send()
            .await
            .unwrap();
        assert_eq!(misconfigured(&store, "4242").await, ["a", "b"]);
        // Saving `a` again writes its mapping back; `b` cannot be saved with the id.
        store
            .put_tenant(&with_classlink("a", Some("4242")))
            .await
            .unwrap();
        assert_eq!(owner_of(&store, "4242").await.as_deref(), Some("a"));
        let refused = store
            .put_tenant(&with_classlink("b", Some("4242")))
            .await
            .unwrap_err();
        assert!(refused.is_conflict());
    }
}
