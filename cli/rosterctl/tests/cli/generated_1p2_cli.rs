//! One generated district, delivered in OneRoster 1.1 and in 1.2 and synced
//! with `rosterctl sync` into two tenants, is stored alike: every field of
//! every 1.1 record is in the 1.2 record with the same value, and what 1.2
//! adds (preferred names, pronouns, the primary org, roles) is kept as well.
//! On the embedded store and on DynamoDB (Local).

use futures::{StreamExt, TryStreamExt};
use oneroster::EntityKind;
use roster::Records;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use testkit::cli::Cli;

/// Runs rosterctl in `dir`; against the local emulators when `args` name a
/// DynamoDB table.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let cli = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir);
    let cli = if args.contains(&"--dynamodb") {
        cli.aws()
    } else {
        cli
    };
    let out = cli.run(args);
    (out.code, out.combined())
}

/// Every stored record of a tenant, by type and sourcedId: its SIS content,
/// and whether it is archived.
type Stored = BTreeMap<(EntityKind, String), (Map<String, Value>, bool)>;

/// Reads every record of `tenant` through the store's port (16 reads at a time).
async fn stored<S: Records>(store: &S, tenant: &str) -> Stored {
    let mut out = Stored::new();
    for kind in EntityKind::ALL {
        let summaries = store.load_summaries(tenant, kind).await.unwrap();
        let entities: Vec<_> = futures::stream::iter(&summaries)
            .map(|s| store.get_entity(tenant, kind, &s.sourced_id))
            .buffer_unordered(16)
            .try_collect()
            .await
            .unwrap();
        for entity in entities.into_iter().flatten() {
            let sis = entity.sis.fields().clone();
            out.insert((kind, entity.sourced_id), (sis, entity.archive.is_some()));
        }
    }
    out
}

/// Generates the district in both versions: `v1p1` and `v1p2` under `d`.
fn generate_both(d: &Path) {
    for (version, out) in [("1.1", "v1p1"), ("1.2", "v1p2")] {
        let args = ["generate", "--students", "300", "--seed", "4"];
        let args = [&args[..], &["--oneroster", version, "--out", out]].concat();
        let (code, text) = rosterctl(d, &args);
        assert_eq!(code, 0, "{text}");
    }
}

/// The rows of each type of the 1.1 package, as `rosterctl validate`
/// counts them (none rejected).
fn rows(d: &Path) -> BTreeMap<EntityKind, u64> {
    let (code, out) = rosterctl(d, &["validate", "v1p1", "--json"]);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let file = |kind: EntityKind| &report["files"][kind.file_name()];
    EntityKind::ALL
        .into_iter()
        .inspect(|kind| assert_eq!(file(*kind)["rejected"], 0, "{kind}"))
        .map(|kind| (kind, file(kind)["rows"].as_u64().unwrap()))
        .collect()
}

/// Syncs each version into its own tenant (`old`, `new`) of `store`, both
/// importing every role the district has and its demographics.
fn sync_both(d: &Path, store: &[&str]) {
    for (package, tenant) in [("v1p1", "old"), ("v1p2", "new")] {
        let add = ["tenants", "add", tenant, "--demographics", "true"];
        let roles = ["--roles", "administrator,teacher,student,guardian"];
        let (code, out) = rosterctl(d, &[&add[..], &roles, store].concat());
        assert_eq!(code, 0, "{tenant}: {out}");
        let args = [&["sync", package, "--tenant", tenant, "--json"], store].concat();
        let (code, out) = rosterctl(d, &args);
        assert_eq!(code, 0, "{tenant}: {out}");
        assert!(out.contains("\"status\":\"applied\""), "{tenant}: {out}");
    }
}

/// Asserts the 1.2 tenant holds every 1.1 record with every 1.1 field equal;
/// returns, per field only 1.2 has, how many users have it.
fn compare(
    old: &Stored,
    new: &Stored,
    rows: &BTreeMap<EntityKind, u64>,
) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (kind, _) in old.keys() {
        *counts.entry(*kind).or_insert(0u64) += 1;
    }
    assert_eq!(&counts, rows, "every row is a stored record");
    let keys = |s: &Stored| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(old), keys(new), "the same records of each type");
    let mut extras = BTreeMap::new();
    for (key @ (kind, id), (before, archived)) in old {
        let (after, archived_after) = &new[key];
        assert_eq!(archived, archived_after, "{kind} {id}");
        for (field, value) in before {
            assert_eq!(after.get(field), Some(value), "{kind} {id}.{field}");
        }
        let added: Vec<&String> = after.keys().filter(|f| !before.contains_key(*f)).collect();
        if *kind != EntityKind::Users {
            assert!(added.is_empty(), "{kind} {id}: 1.2 adds {added:?}");
        }
        for field in added {
            *extras.entry(field.clone()).or_insert(0) += 1;
        }
    }
    extras
}

/// What 1.2 adds to the users is what the generator writes.
fn check_extras(old: &Stored, new: &Stored, extras: &BTreeMap<String, usize>) {
    let users = old.keys().filter(|(k, _)| *k == EntityKind::Users).count();
    assert_eq!(
        extras.get("primaryOrgSourcedId"),
        Some(&users),
        "{extras:?}"
    );
    for field in ["preferredGivenName", "pronouns", "roles"] {
        assert!(
            extras.get(field).is_some_and(|n| *n > 0),
            "{field}: {extras:?}"
        );
    }
    let mut admins = 0;
    for ((kind, id), (after, _)) in new.iter().filter(|((k, _), _)| *k == EntityKind::Users) {
        let orgs = &after["orgSourcedIds"];
        assert_eq!(
            Some(&after["primaryOrgSourcedId"]),
            orgs.get(0),
            "{kind} {id}"
        );
        // An administrator's roles say more than its platform role (the
        // kind of administrator), so they are kept; others' may be left out
        // when they say nothing more than role and orgSourcedIds.
        if after["role"] == "administrator" {
            admins += 1;
            let roles = after["roles"].as_array().expect("an administrator's roles");
            assert_eq!(roles.len(), 1, "{id}");
            assert!(
                matches!(
                    roles[0]["role"].as_str(),
                    Some("districtAdministrator" | "siteAdministrator")
                ),
                "{id}: {roles:?}"
            );
            assert_eq!(roles[0]["orgSourcedId"], orgs[0], "{id}");
        }
    }
    assert!(admins >= 3, "{admins} administrators");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_district_in_1p1_and_1p2_is_stored_alike_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate_both(d);
    sync_both(d, &[]);
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let (old, new) = (stored(&store, "old").await, stored(&store, "new").await);
    let extras = compare(&old, &new, &rows(d));
    check_extras(&old, &new, &extras);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_district_in_1p1_and_1p2_is_stored_alike_on_dynamodb() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let table = testkit::unique("versions");
    generate_both(d);
    sync_both(d, &["--dynamodb", &table, "--create-table"]);
    let store = roster_dynamodb::DynamoStore::new(
        testkit::dynamodb_client(&testkit::dynamodb()),
        table.clone(),
    );
    let (old, new) = (stored(&store, "old").await, stored(&store, "new").await);
    let extras = compare(&old, &new, &rows(d));
    check_extras(&old, &new, &extras);
}
