//! The sync engine's behaviour, run against both stores (the conformance
//! suite): SQLite in memory and DynamoDB Local. One test binary; its tests
//! are in `engine/`, one module a subject, each ending with the
//! `conformance!` list of its tests.

mod common;

/// Runs each listed `async fn name<S: Store ..>(store: S)` of the calling
/// module on both stores: `sqlite_store::name` and `dynamodb_store::name`.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::sqlite()).await
                }
            )*
        }
        mod dynamodb_store {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::common::dynamo().await).await
                }
            )*
        }
    };
}

#[path = "engine/faults.rs"]
mod faults;
#[path = "engine/hand_edits.rs"]
mod hand_edits;
#[path = "engine/holds.rs"]
mod holds;
#[path = "engine/leases.rs"]
mod leases;
#[path = "engine/model.rs"]
mod model;
#[path = "engine/offboarding.rs"]
mod offboarding;
#[path = "engine/oneroster_1p2.rs"]
mod oneroster_1p2;
#[path = "engine/promise.rs"]
mod promise;
#[path = "engine/rekeys.rs"]
mod rekeys;
#[path = "engine/retention.rs"]
mod retention;
#[path = "engine/revert.rs"]
mod revert;
#[path = "engine/school_holds.rs"]
mod school_holds;
#[path = "engine/school_year.rs"]
mod school_year;
#[path = "engine/sign_in_records.rs"]
mod sign_in_records;
#[path = "engine/sqlite_bulk_load.rs"]
mod sqlite_bulk_load;
#[path = "engine/sync.rs"]
mod sync;
