//! `rosterctl tenants offboard`: two districts fully populated on DynamoDB
//! Local and moto (versioned bucket, Secrets Manager, Scheduler, Transfer
//! Family, SNS), one offboarded: nothing of it is left anywhere, the other is
//! exactly as it was, the receipt counts what was there and survives. And the
//! same on the embedded store (SQLite and the runs folder).

use roster::roles::*;
use std::collections::BTreeSet;
use std::path::Path;
use testkit::cli::Cli;

/// (exit code, stdout followed by stderr), on the emulators.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir)
        .aws()
        .run(args);
    (out.code, out.combined())
}

/// Every item of the table, each as its sorted attributes (text).
async fn scan(table: &str) -> Vec<String> {
    let client = testkit::dynamodb_client(&testkit::dynamodb());
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in out.items() {
            // Canonical: maps as JSON objects with sorted keys.
            let value = roster_dynamodb::attribute_to_json(
                &aws_sdk_dynamodb::types::AttributeValue::M(item.clone()),
            );
            items.push(canonical(&value));
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
    items.sort();
    items
}

/// `value` as text, objects' keys sorted at every depth.
fn canonical(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: std::collections::BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            format!("{sorted:?}")
        }
        serde_json::Value::Array(items) => {
            format!("{:?}", items.iter().map(canonical).collect::<Vec<_>>())
        }
        other => other.to_string(),
    }
}

/// Every object version and delete marker of the bucket: "key version marker".
async fn versions(bucket: &str) -> Vec<String> {
    let out = testkit::s3_client()
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    assert_ne!(out.is_truncated(), Some(true), "one page is enough here");
    let mut all: Vec<String> = out
        .versions()
        .iter()
        .map(|v| format!("{} {} version", v.key().unwrap(), v.version_id().unwrap()))
        .chain(
            out.delete_markers()
                .iter()
                .map(|m| format!("{} {} marker", m.key().unwrap(), m.version_id().unwrap())),
        )
        .collect();
    all.sort();
    all
}

fn mentioning<'a>(all: &'a [String], tenant: &str) -> Vec<&'a String> {
    all.iter().filter(|i| i.contains(tenant)).collect()
}

/// Asserts `after` holds what `before` did (showing only the differences).
fn assert_same(after: &[&String], before: &[&String], what: &str) {
    let gone: Vec<_> = before.iter().filter(|i| !after.contains(i)).collect();
    let new: Vec<_> = after.iter().filter(|i| !before.contains(i)).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "{what}: lost {gone:?}, gained {new:?}"
    );
}

/// A versioned bucket with, under each tenant's prefixes, an object with two
/// versions and a delete marker, a run's report and a rejected package.
async fn fill_bucket(bucket: &str, tenants: &[&str]) {
    let s3 = testkit::s3_client();
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    for t in tenants {
        for (key, body) in [
            (format!("inbound/{t}/export.zip"), "one"),
            (format!("inbound/{t}/export.zip"), "two"),
            (format!("processed/{t}/run-1/report.json"), "{}"),
            (format!("processed/{t}/run-1/before.jsonl.gz"), "x"),
            (format!("rejected/{t}/run-0/bad.zip"), "bad"),
        ] {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
        s3.delete_object()
            .bucket(bucket)
            .key(format!("inbound/{t}/export.zip"))
            .send()
            .await
            .unwrap();
    }
}

/// The SFTP user `tenant` on `server`.
async fn sftp_user(server: &str, tenant: &str) {
    aws_sdk_transfer::Client::new(&testkit::moto_config())
        .create_user()
        .server_id(server)
        .user_name(tenant)
        .role("arn:aws:iam::123456789012:role/roster-sftp-user")
        .send()
        .await
        .unwrap();
}

async fn sftp_user_exists(server: &str, tenant: &str) -> bool {
    aws_sdk_transfer::Client::new(&testkit::moto_config())
        .describe_user()
        .server_id(server)
        .user_name(tenant)
        .send()
        .await
        .is_ok()
}

async fn secret_exists(name: &str) -> bool {
    testkit::secrets_client()
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .is_ok()
}

async fn schedule_exists(tenant: &str) -> bool {
    testkit::scheduler_client()
        .get_schedule()
        .name(format!("{tenant}-pull"))
        .group_name("default")
        .send()
        .await
        .is_ok()
}

/// The topic's subscriptions: (address, filter policy).
async fn subscriptions(topic: &str) -> Vec<(String, String)> {
    let sns = testkit::notices::sns_client();
    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for s in listed.subscriptions() {
        let attributes = sns
            .get_subscription_attributes()
            .subscription_arn(s.subscription_arn().unwrap())
            .send()
            .await
            .unwrap();
        let policy = attributes
            .attributes()
            .and_then(|a| a.get("FilterPolicy").cloned())
            .unwrap_or_default();
        out.push((s.endpoint().unwrap().to_string(), policy));
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_a_deployed_district_leaves_nothing_of_it_and_all_of_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (table, bucket) = (testkit::unique("offboard"), testkit::unique("stack"));
    let (gone, kept) = (testkit::unique("gone"), testkit::unique("kept"));
    let topic = testkit::notices::notice_topic().await;
    let prefix = format!("{}/", testkit::unique("secrets"));
    let server = aws_sdk_transfer::Client::new(&testkit::moto_config())
        .create_server()
        .send()
        .await
        .unwrap()
        .server_id;
    let store = ["--dynamodb", table.as_str()];
    assert_eq!(
        rosterctl(d, &["generate", "--students", "30", "--out", "district"]).0,
        0
    );
    for (t, emails, classlink) in [
        (&gone, "it@gone.example,region@shared.example", "9001"),
        (&kept, "region@shared.example", "9002"),
    ] {
        let mut args = vec!["tenants", "add", t, "--connection", "api", "--create-table"];
        args.extend([
            "--api-url",
            "https://oneroster.example/",
            "--api-token",
            "TOKEN",
        ]);
        args.extend([
            "--schedule-days",
            "mon",
            "--schedule-time",
            "2:30",
            "--schedule-group",
            "default",
        ]);
        args.extend([
            "--pull-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:pull",
        ]);
        args.extend([
            "--scheduler-role-arn",
            "arn:aws:iam::123456789012:role/scheduler",
        ]);
        args.extend([
            "--secret-prefix",
            &prefix,
            "--classlink-tenant-id",
            classlink,
        ]);
        args.extend(["--notify-email", emails, "--notice-topic-arn", &topic]);
        args.extend(store);
        let (code, out) = rosterctl(d, &args);
        assert_eq!(code, 0, "{out}");
        let (code, out) = rosterctl(
            d,
            &["sync", "district", "--tenant", t, "--dynamodb", &table],
        );
        assert_eq!(code, 0, "{out}");
        sftp_user(&server, t).await;
    }
    fill_bucket(&bucket, &[&gone, &kept]).await;
    assert!(
        d.join("runs").join(&gone).is_dir(),
        "the sync kept its run files"
    );

    let offboard = |extra: &[&str]| {
        let mut args = vec![
            "tenants",
            "offboard",
            gone.as_str(),
            "--by",
            "ops-7",
            "--json",
        ];
        args.extend(["--inbound-bucket", &bucket, "--sftp-server-id", &server]);
        args.extend(["--notice-topic-arn", &topic, "--schedule-group", "default"]);
        args.extend(["--secret-prefix", &prefix]);
        args.extend(store);
        args.extend(extra);
        rosterctl(d, &args)
    };
    let items_before = scan(&table).await;
    let versions_before = versions(&bucket).await;
    let subscriptions_before = subscriptions(&topic).await;
    let gone_items = mentioning(&items_before, &gone).len() as u64;
    assert!(gone_items > 60, "{gone_items}");

    // A wrong --confirm is refused.
    let (code, out) = offboard(&["--confirm", &kept]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--confirm"), "{out}");
    // A dry run lists what would go, and changes nothing.
    let (code, out) = offboard(&["--confirm", &gone, "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    let dry: serde_json::Value = serde_json::from_str(&out).unwrap();
    let would = &dry["would_delete"];
    assert_eq!(would["secret"], true);
    assert_eq!(would["s3"][format!("inbound/{gone}/")]["delete_markers"], 1);
    // A run holding the lease refuses it.
    let dynamo = roster_dynamodb::DynamoStore::new(
        testkit::dynamodb_client(&testkit::dynamodb()),
        table.clone(),
    );
    let now = chrono::Utc::now();
    let roster::LeaseOutcome::Acquired { lease, .. } = dynamo
        .acquire_lease(
            &gone,
            "20991231T000000000Z-run",
            now,
            std::time::Duration::from_secs(300),
        )
        .await
        .unwrap()
    else {
        panic!("lease not taken")
    };
    let (code, out) = offboard(&["--confirm", &gone]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("run 20991231T000000000Z-run holds") && out.contains("until"),
        "{out}"
    );
    dynamo.release_lease(&gone, &lease).await.unwrap();
    // Nothing changed by any of the three (the lease item is back as it was, released).
    let items_now = scan(&table).await;
    assert_same(
        &mentioning(&items_now, &kept),
        &mentioning(&items_before, &kept),
        "after the refusals",
    );
    assert_eq!(versions(&bucket).await, versions_before);
    assert!(secret_exists(&format!("{prefix}{gone}")).await);

    let (code, out) = offboard(&["--confirm", &gone]);
    assert_eq!(code, 0, "{out}");
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["complete"], true, "{receipt}");
    assert_eq!(receipt["by"], "ops-7");

    // Nothing of it is left; all of the other is as it was.
    let items_after = scan(&table).await;
    assert!(
        mentioning(&items_after, &gone).is_empty(),
        "{:?}",
        mentioning(&items_after, &gone)
    );
    assert_same(
        &mentioning(&items_after, &kept),
        &mentioning(&items_before, &kept),
        "after offboarding",
    );
    let versions_after = versions(&bucket).await;
    assert!(
        versions_after
            .iter()
            .all(|v| !v.contains(&format!("/{gone}/"))),
        "{versions_after:?}"
    );
    let receipts: Vec<&String> = versions_after
        .iter()
        .filter(|v| v.starts_with("receipts/offboarding/"))
        .collect();
    assert_eq!(receipts.len(), 1, "{versions_after:?}");
    let others = |all: &[String]| -> Vec<String> {
        all.iter()
            .filter(|v| v.contains(&format!("/{kept}/")))
            .cloned()
            .collect()
    };
    assert_eq!(others(&versions_after), others(&versions_before));
    assert_eq!(
        others(&versions_before).len(),
        6,
        "two versions and a marker, and three files"
    );
    assert!(!secret_exists(&format!("{prefix}{gone}")).await);
    assert!(secret_exists(&format!("{prefix}{kept}")).await);
    assert!(!schedule_exists(&gone).await && schedule_exists(&kept).await);
    assert!(!sftp_user_exists(&server, &gone).await && sftp_user_exists(&server, &kept).await);
    assert!(!d.join("runs").join(&gone).exists() && d.join("runs").join(&kept).is_dir());
    let kept_only = serde_json::json!({"tenant": [&kept]}).to_string();
    assert_eq!(
        subscriptions(&topic).await,
        vec![("region@shared.example".to_string(), kept_only)],
        "before: {subscriptions_before:?}"
    );

    // The receipt counts what was there, and is the one kept.
    let deleted = &receipt["deleted"];
    let store_total: u64 = deleted["store_items"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(store_total, gone_items);
    assert_eq!(deleted, would, "the dry run said as much");
    for prefix in ["inbound", "processed", "rejected"] {
        let listed = versions_before
            .iter()
            .filter(|v| v.starts_with(&format!("{prefix}/{gone}/")))
            .count() as u64;
        let s3 = &deleted["s3"][format!("{prefix}/{gone}/")];
        assert_eq!(
            s3["versions"].as_u64().unwrap() + s3["delete_markers"].as_u64().unwrap(),
            listed,
            "{prefix}"
        );
    }
    assert_eq!(deleted["s3"][format!("inbound/{gone}/")]["versions"], 2);
    assert_eq!(deleted["subscriptions"]["unsubscribed"], 1);
    assert_eq!(deleted["subscriptions"]["narrowed"], 1);
    assert!(deleted["sftp_user"] == true && deleted["schedule"] == true);
    assert_eq!(receipt["keys_sha256"].as_str().unwrap().len(), 64);
    let key = receipts[0].split(' ').next().unwrap();
    assert_eq!(receipt["stored_at"], format!("s3://{bucket}/{key}"));
    let stored = testkit::s3_client()
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    let stored = String::from_utf8(stored.to_vec()).unwrap();
    assert_no_personal_data(&stored, d);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap()["keys_sha256"],
        receipt["keys_sha256"]
    );

    // Again: nothing left, nothing stored.
    let (code, out) = offboard(&["--confirm", &gone]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing left"), "{out}");
    assert_eq!(versions(&bucket).await, versions_after);
}

/// No address and no person's name of the district is in `text`.
fn assert_no_personal_data(text: &str, dir: &Path) {
    assert!(!text.contains('@'), "{text}");
    let users = std::fs::read_to_string(dir.join("district/users.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(users.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let columns: Vec<usize> = ["givenName", "familyName", "email", "username"]
        .iter()
        .filter_map(|c| headers.iter().position(|h| h == *c))
        .collect();
    let mut names = BTreeSet::new();
    for row in reader.records() {
        let row = row.unwrap();
        names.extend(
            columns
                .iter()
                .map(|c| row[*c].to_string())
                .filter(|n| n.len() >= 4),
        );
    }
    assert!(names.len() > 20);
    for name in names {
        assert!(!text.contains(&name), "{name} in the receipt: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offboarding_on_the_embedded_store_deletes_its_rows_and_run_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        rosterctl(d, &["generate", "--students", "30", "--out", "district"]).0,
        0
    );
    for t in ["gone", "kept"] {
        let (code, out) = rosterctl(d, &["sync", "district", "--tenant", t]);
        assert_eq!(code, 0, "{out}");
    }
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    let kept_before = store.tenant_items("kept").await.unwrap();
    let gone_before = store.tenant_items("gone").await.unwrap();
    let kept_runs = store.list_runs(Some("kept"), 10).await.unwrap();
    drop(store);
    let files_before = std::fs::read_dir(d.join("runs/gone")).unwrap().count();
    assert!(files_before > 0);

    let (code, out) = rosterctl(
        d,
        &[
            "tenants",
            "offboard",
            "gone",
            "--confirm",
            "gone",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("would delete") && out.contains("store records"),
        "{out}"
    );
    assert!(d.join("runs/gone").is_dir());

    let (code, out) = rosterctl(
        d,
        &[
            "tenants",
            "offboard",
            "gone",
            "--confirm",
            "gone",
            "--by",
            "ops",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["complete"], true);
    let store_total: u64 = receipt["deleted"]["store_items"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(store_total, gone_before.len() as u64);
    assert!(receipt["deleted"]["local_files"].as_u64().unwrap() >= files_before as u64);
    let kept_at = receipt["stored_at"].as_str().unwrap();
    assert!(kept_at.contains("receipts/offboarding/gone-"), "{kept_at}");
    let stored = std::fs::read_to_string(d.join(kept_at))
        .or_else(|_| std::fs::read_to_string(kept_at))
        .unwrap();
    assert_no_personal_data(&stored, d);

    assert!(!d.join("runs/gone").exists() && d.join("runs/kept").is_dir());
    let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
    assert!(store.tenant_items("gone").await.unwrap().is_empty());
    assert_eq!(store.tenant_items("kept").await.unwrap(), kept_before);
    assert_eq!(
        store.list_runs(Some("kept"), 10).await.unwrap().len(),
        kept_runs.len()
    );
    drop(store);

    let (code, out) = rosterctl(d, &["tenants", "offboard", "gone", "--confirm", "gone"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("nothing left"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_fails_is_reported_and_a_rerun_finishes_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (table, bucket, t) = (
        testkit::unique("offboard"),
        testkit::unique("stack"),
        testkit::unique("gone"),
    );
    let topic = testkit::notices::notice_topic().await;
    let prefix = format!("{}/", testkit::unique("secrets"));
    let server = aws_sdk_transfer::Client::new(&testkit::moto_config())
        .create_server()
        .send()
        .await
        .unwrap()
        .server_id;
    assert_eq!(
        rosterctl(d, &["generate", "--students", "10", "--out", "district"]).0,
        0
    );
    let mut args = vec![
        "tenants",
        "add",
        t.as_str(),
        "--connection",
        "api",
        "--create-table",
    ];
    args.extend([
        "--api-url",
        "https://oneroster.example/",
        "--api-token",
        "TOKEN",
    ]);
    args.extend(["--secret-prefix", &prefix, "--dynamodb", &table]);
    assert_eq!(rosterctl(d, &args).0, 0);
    assert_eq!(
        rosterctl(
            d,
            &["sync", "district", "--tenant", &t, "--dynamodb", &table]
        )
        .0,
        0
    );
    fill_bucket(&bucket, &[&t]).await;
    let items_before = mentioning(&scan(&table).await, &t).len();

    // Secrets Manager refuses the deletion (the lookup goes through).
    let faults = testkit::moto_faults::MotoFaults::start();
    faults.always(
        testkit::moto_faults::Op::Other,
        "ForceDeleteWithoutRecovery",
        testkit::moto_faults::Fault::access_denied(),
    );
    let mut args = vec![
        "tenants",
        "offboard",
        t.as_str(),
        "--confirm",
        t.as_str(),
        "--json",
    ];
    args.extend(["--inbound-bucket", &bucket, "--sftp-server-id", &server]);
    args.extend([
        "--notice-topic-arn",
        &topic,
        "--secret-prefix",
        &prefix,
        "--dynamodb",
        &table,
    ]);
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(d)
        .aws()
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &faults.endpoint)
        .run(&args);
    assert_eq!(out.code, 2, "{}", out.combined());
    let receipt: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(receipt["complete"], false);
    assert_eq!(receipt["not_deleted"]["secret"], true);
    assert_eq!(receipt["deleted"]["secret"], false);
    assert_eq!(
        receipt["deleted"]["s3"][format!("inbound/{t}/")]["versions"],
        2
    );
    let left: u64 = receipt["not_deleted"]["store_items"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(
        left as usize, items_before,
        "the store is kept until the AWS steps succeed"
    );
    assert!(
        receipt["errors"][0]
            .as_str()
            .unwrap()
            .contains("DeleteSecret"),
        "{receipt}"
    );
    assert!(secret_exists(&format!("{prefix}{t}")).await);
    assert!(versions(&bucket)
        .await
        .iter()
        .all(|v| !v.contains(&format!("/{t}/"))));

    // Run again (Secrets Manager answers now): it finishes.
    let (code, out) = rosterctl(d, &args);
    assert_eq!(code, 0, "{out}");
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["complete"], true, "{receipt}");
    assert_eq!(receipt["deleted"]["secret"], true);
    assert_eq!(
        receipt["deleted"]["s3"][format!("inbound/{t}/")]["versions"],
        0,
        "already gone: {receipt}"
    );
    assert!(!secret_exists(&format!("{prefix}{t}")).await);
    assert!(mentioning(&scan(&table).await, &t).is_empty());
    let receipts = versions(&bucket).await;
    assert_eq!(
        receipts
            .iter()
            .filter(|v| v.starts_with("receipts/offboarding/"))
            .count(),
        2,
        "one receipt a run that deleted something: {receipts:?}"
    );
}
