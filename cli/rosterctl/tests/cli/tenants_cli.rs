//! `rosterctl tenants ...` against moto (Secrets Manager, EventBridge Scheduler)
//! with the SQLite store: onboarding writes the config, stores the API
//! credentials, and creates, updates and disables the pull schedule.

use std::path::Path;
use testkit::cli::Cli;

/// (exit code, stdout, stderr), on the emulators.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl"))
        .dir(dir)
        .aws()
        .run(args);
    (out.code, out.stdout, out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_an_api_district_stores_credentials_and_schedules_pulls() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tenant = testkit::unique("district");
    let arns = [
        "--pull-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:roster-oneroster-pull",
        "--scheduler-role-arn",
        "arn:aws:iam::123456789012:role/roster-scheduler",
        "--schedule-group",
        "default",
    ];
    let mut args = vec![
        "tenants",
        "add",
        tenant.as_str(),
        "--connection",
        "api",
        "--api-url",
        "https://oneroster.example/",
        "--api-key",
        "KEY1",
        "--api-secret",
        "SECRET1",
        "--schedule-days",
        "mon,wed",
        "--schedule-time",
        "2:30",
        "--timezone",
        "America/Chicago",
        "--json",
    ];
    args.extend(arns);
    let (code, out, err) = rosterctl(d, &args);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["schedule"], format!("default/{tenant}-pull"));
    assert!(!out.contains("SECRET1"), "credentials are never printed");
    assert_eq!(
        report["tenant"]["api"]["secret_name"],
        format!("roster/tenants/{tenant}")
    );

    let secret = testkit::stored_secret(&format!("roster/tenants/{tenant}")).await;
    assert_eq!(
        secret,
        serde_json::json!({"auth": "oauth1", "key": "KEY1", "secret": "SECRET1"})
    );

    let scheduler = testkit::scheduler_client();
    let schedule = scheduler
        .get_schedule()
        .name(format!("{tenant}-pull"))
        .group_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some("cron(30 2 ? * MON,WED *)")
    );
    assert_eq!(
        schedule.schedule_expression_timezone(),
        Some("America/Chicago")
    );
    let input: serde_json::Value =
        serde_json::from_str(schedule.target().unwrap().input().unwrap()).unwrap();
    assert_eq!(input, serde_json::json!({"tenant": tenant, "mode": "auto"}));

    // Adding again is refused; updating changes only what is given.
    assert_eq!(
        rosterctl(d, &["tenants", "add", &tenant, "--connection", "sftp"]).0,
        1
    );
    let mut args = vec![
        "tenants",
        "update",
        tenant.as_str(),
        "--schedule-days",
        "daily",
        "--schedule-time",
        "05:00",
        "--hold-percent",
        "5",
        "--identity-hold-percent",
        "20",
        "--identity-hold-min",
        "40",
        "--rejected-hold-percent",
        "30",
        "--rejected-hold-min",
        "100",
        "--school-hold-percent",
        "45",
        "--school-hold-min",
        "8",
    ];
    args.extend(arns);
    let (code, out, err) = rosterctl(d, &args);
    assert_eq!(code, 0, "{out}{err}");
    let schedule = scheduler
        .get_schedule()
        .name(format!("{tenant}-pull"))
        .group_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(
        schedule.schedule_expression(),
        Some("cron(0 5 ? * MON,TUE,WED,THU,FRI,SAT,SUN *)")
    );
    assert_eq!(
        schedule.description(),
        Some(format!("OneRoster API pull of tenant {tenant}").as_str()),
        "an update keeps the description (it replaces every setting)"
    );
    let (_, shown, _) = rosterctl(d, &["tenants", "show", &tenant, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["hold"]["max_archive_percent"], 5.0);
    assert_eq!(shown["hold"]["max_identity_change_percent"], 20.0);
    assert_eq!(shown["hold"]["min_identity_change_count"], 40);
    assert_eq!(shown["hold"]["max_rejected_percent"], 30.0);
    assert_eq!(shown["hold"]["min_rejected_count"], 100);
    assert_eq!(shown["hold"]["max_school_archive_percent"], 45.0);
    assert_eq!(shown["hold"]["min_school_archive_count"], 8);
    assert_eq!(
        shown["api"]["url"], "https://oneroster.example/",
        "unchanged"
    );

    let mut args = vec!["tenants", "disable", tenant.as_str()];
    args.extend(arns);
    assert_eq!(rosterctl(d, &args).0, 0);
    let schedule = scheduler
        .get_schedule()
        .name(format!("{tenant}-pull"))
        .group_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(schedule.state().map(|s| s.as_str()), Some("DISABLED"));
    let (_, list, _) = rosterctl(d, &["tenants", "list"]);
    assert!(list.contains(&tenant) && list.contains("false"), "{list}");
}

#[test]
fn an_sftp_district_gets_its_transfer_family_user_details() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = rosterctl(
        dir.path(),
        &[
            "tenants",
            "add",
            "springfield",
            "--name",
            "Springfield USD",
            "--inbound-bucket",
            "roster-inbound",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["sftp_user"]["home_directory_mappings"][0]["Target"],
        "/roster-inbound/inbound/springfield"
    );
    let policy = report["sftp_user"]["session_policy"].to_string();
    assert!(policy.contains("arn:aws:s3:::roster-inbound/inbound/${transfer:UserName}/*"));
    assert!(!policy.contains("DeleteObject"), "uploads only");
    assert_eq!(report["tenant"]["display_name"], "Springfield USD");
    // An edit of a local tenant that already had SFTP says nothing of Transfer Family.
    let (code, out, err) = rosterctl(
        dir.path(),
        &[
            "tenants",
            "update",
            "springfield",
            "--demographics",
            "false",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let updated: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(updated["sftp_user"].is_null(), "{out}");
    // Nor does a local tenant added without the deployed bucket.
    let (code, out, err) = rosterctl(dir.path(), &["tenants", "add", "ogdenville", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let local: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(local["sftp_user"].is_null(), "{out}");
    assert_eq!(
        rosterctl(
            dir.path(),
            &["tenants", "add", "other", "--connection", "api"]
        )
        .0,
        2,
        "an API tenant needs a URL"
    );
    assert_eq!(
        rosterctl(
            dir.path(),
            &[
                "tenants",
                "add",
                "x",
                "--schedule-days",
                "funday",
                "--schedule-time",
                "1:00"
            ]
        )
        .0,
        2
    );
    assert_eq!(
        rosterctl(dir.path(), &["tenants", "update", "nobody", "--name", "n"]).0,
        1
    );
    // One ClassLink tenant per district: sign-in finds the district by it.
    let (code, out, err) = rosterctl(
        dir.path(),
        &[
            "tenants",
            "update",
            "springfield",
            "--classlink-tenant-id",
            "4242",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = rosterctl(
        dir.path(),
        &[
            "tenants",
            "add",
            "shelbyville",
            "--classlink-tenant-id",
            "4242",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("already belongs to tenant `springfield`"),
        "{out}{err}"
    );
    let (code, out, err) = rosterctl(
        dir.path(),
        &[
            "tenants",
            "update",
            "springfield",
            "--classlink-tenant-id",
            "4242",
            "--sso",
            "true",
            "--sso-match-by-email",
            "true",
            "--sso-allow-aides",
            "false",
            "--json",
        ],
    );
    assert_eq!(code, 0, "the same tenant may keep its id: {out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["tenant"]["sso_enabled"], true);
    assert_eq!(report["tenant"]["sso_match_by_email"], true);
    assert_eq!(report["tenant"]["sso_allow_aides"], false);
}

/// The `tenants check` report as JSON: (exit code, report).
fn check(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["tenants", "check"];
    all.extend(args);
    all.push("--json");
    let (code, out, err) = rosterctl(dir, &all);
    let report =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}{err}"));
    (code, report)
}

/// The line of a report about `topic`.
fn line<'r>(report: &'r serde_json::Value, topic: &str) -> &'r serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["topic"] == topic)
        .unwrap_or_else(|| panic!("no `{topic}` line: {report}"))
}

/// A Transfer Family server on moto, and a user of it for `tenant` (with or without a key).
async fn sftp_user(tenant: &str, bucket: &str, with_key: bool) -> String {
    let policy = district_session_policy(bucket);
    sftp_user_with_policy(tenant, bucket, with_key, Some(&policy)).await
}

/// The session policy docs and `tenants show` give every district (the text
/// is compared as JSON, so it is written here with other spacing).
fn district_session_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
          {{"Sid":"ListOwnFolder","Effect":"Allow","Action":"s3:ListBucket",
            "Resource":"arn:aws:s3:::{bucket}",
            "Condition":{{"StringLike":{{"s3:prefix":["inbound/${{transfer:UserName}}/*","inbound/${{transfer:UserName}}"]}}}}}},
          {{"Sid":"UploadAndReadOwnFolder","Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],
            "Resource":"arn:aws:s3:::{bucket}/inbound/${{transfer:UserName}}/*"}}]}}"#
    )
}

/// As [`sftp_user`], with `policy` as the user's session policy.
async fn sftp_user_with_policy(
    tenant: &str,
    bucket: &str,
    with_key: bool,
    policy: Option<&str>,
) -> String {
    use aws_sdk_transfer::types::{HomeDirectoryMapEntry, HomeDirectoryType};
    let transfer = aws_sdk_transfer::Client::new(&testkit::moto_config());
    let server = transfer.create_server().send().await.unwrap().server_id;
    let mut user = transfer
        .create_user()
        .server_id(&server)
        .user_name(tenant)
        .role("arn:aws:iam::123456789012:role/roster-sftp-user")
        .home_directory_type(HomeDirectoryType::Logical)
        .home_directory_mappings(
            HomeDirectoryMapEntry::builder()
                .entry("/")
                .target(format!("/{bucket}/inbound/{tenant}"))
                .build()
                .unwrap(),
        );
    if let Some(policy) = policy {
        user = user.policy(policy);
    }
    if with_key {
        user = user.ssh_public_key_body("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhK0b6m0Yc2GLzY0uFv7WvFXlQJ2v0mT1nBn6p2pQ7D roster-server");
    }
    user.send().await.unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_check_passes_a_ready_district_and_says_what_to_do_for_an_unready_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bucket = testkit::unique("inbound");

    // A ready SFTP district: delivered, an administrator promoted, SSO on and used,
    // a contact subscribed to its run notices.
    let ready = testkit::unique("ready");
    let topic = testkit::notices::notice_topic().await;
    let (code, out, err) = rosterctl(
        d,
        &[
            "tenants",
            "add",
            &ready,
            "--connection",
            "sftp",
            "--classlink-tenant-id",
            "5151",
            "--sso",
            "true",
            "--notify-email",
            "data@ready.example",
            "--notice-topic-arn",
            &topic,
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        rosterctl(
            d,
            &[
                "generate",
                "--students",
                "60",
                "--seed",
                "4",
                "--out",
                "district"
            ]
        )
        .0,
        0
    );
    let (code, out, _) = rosterctl(d, &["sync", "district", "--tenant", &ready]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        rosterctl(d, &["admins", "promote", "--tenant", &ready, "adm-0001"]).0,
        0
    );
    let server = sftp_user(&ready, &bucket, true).await;
    {
        use roster::roles::*;
        let store = roster_sqlite::SqliteStore::open(&d.join("roster.db")).unwrap();
        let now = chrono::Utc::now();
        store
            .put_sign_in_audit(&roster::SignInAudit {
                at: now,
                request_id: "req-1".into(),
                tenant: Some(ready.clone()),
                classlink_tenant_id: Some("5151".into()),
                classlink_user_id: Some("77".into()),
                sourced_id: Some("tch-0001".into()),
                matched_by: Some("sourced_id".into()),
                outcome: "signed_in".into(),
                expires_at: now + chrono::Duration::days(90),
            })
            .await
            .unwrap();
    }
    let (code, report) = check(
        d,
        &[
            &ready,
            "--sftp-server-id",
            &server,
            "--inbound-bucket",
            &bucket,
            "--notice-topic-arn",
            &topic,
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ready"], true);
    for l in report["checks"].as_array().unwrap() {
        assert!(l["status"] == "ok" || l["status"] == "info", "{l}");
    }
    assert!(line(&report, "roster")["detail"]
        .as_str()
        .unwrap()
        .contains("users"));
    assert_eq!(
        line(&report, "sign-ins")["detail"],
        "last 7 days: signed_in 1"
    );
    let (code, human, _) = rosterctl(
        d,
        &[
            "tenants",
            "check",
            &ready,
            "--sftp-server-id",
            &server,
            "--inbound-bucket",
            &bucket,
        ],
    );
    assert_eq!(code, 0);
    assert!(
        human.starts_with(&format!("Tenant {ready}: ready")),
        "{human}"
    );

    // An unready API district: wrong credentials, nothing delivered, no SSO.
    let files = d.join("api-district");
    assert_eq!(
        rosterctl(
            d,
            &["generate", "--students", "20", "--out", "api-district"]
        )
        .0,
        0
    );
    let api = testkit::servers::oneroster_server(&files, "oauth1", "KEY", "RIGHT");
    let unready = testkit::unique("unready");
    let arns = [
        "--pull-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:roster-oneroster-pull",
        "--scheduler-role-arn",
        "arn:aws:iam::123456789012:role/roster-scheduler",
        "--schedule-group",
        "default",
    ];
    let mut args = vec![
        "tenants",
        "add",
        unready.as_str(),
        "--connection",
        "api",
        "--api-url",
        api.url.as_str(),
        "--api-key",
        "KEY",
        "--api-secret",
        "WRONG",
        "--schedule-days",
        "daily",
        "--schedule-time",
        "02:00",
        "--timezone",
        "America/Chicago",
    ];
    args.extend(arns);
    let (code, out, err) = rosterctl(d, &args);
    assert_eq!(code, 0, "{out}{err}");
    let (code, report) = check(d, &[&unready, "--schedule-group", "default"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["ready"], false);
    let failing: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "fail")
        .map(|l| l["topic"].as_str().unwrap())
        .collect();
    assert_eq!(
        failing,
        vec![
            "api connection",
            "last delivery",
            "roster",
            "administrators",
            "primary administrator"
        ],
        "{report:#}"
    );
    for l in report["checks"].as_array().unwrap() {
        if l["status"] == "fail" || l["status"] == "warn" {
            assert!(!l["next"].as_str().unwrap_or_default().is_empty(), "{l}");
        }
    }
    assert!(line(&report, "api connection")["detail"]
        .as_str()
        .unwrap()
        .contains("test request failed"));
    assert!(line(&report, "administrators")["next"]
        .as_str()
        .unwrap()
        .contains("turn on *Unenrolled Users* in ClassLink's Roster Server"));
    assert_eq!(
        line(&report, "sso")["status"],
        "warn",
        "a district may sync without SSO"
    );
    let schedule = line(&report, "schedule");
    assert_eq!(schedule["status"], "ok", "{schedule}");
    assert!(schedule["detail"].as_str().unwrap().contains("next run 20"));
    let (_, _, err) = rosterctl(
        d,
        &["tenants", "check", &unready, "--schedule-group", "default"],
    );
    assert!(!err.contains("WRONG") && !err.contains("RIGHT"));

    // The right secret: the connection line passes; a pull delivers the roster.
    let mut args = vec![
        "tenants",
        "update",
        unready.as_str(),
        "--api-key",
        "KEY",
        "--api-secret",
        "RIGHT",
    ];
    args.extend(arns);
    assert_eq!(rosterctl(d, &args).0, 0);
    let (_, report) = check(d, &[&unready, "--schedule-group", "default"]);
    assert_eq!(
        line(&report, "api connection")["status"],
        "ok",
        "{report:#}"
    );
    let (_, human, _) = rosterctl(
        d,
        &["tenants", "check", &unready, "--schedule-group", "default"],
    );
    assert!(
        human.starts_with(&format!("Tenant {unready}: not ready")),
        "{human}"
    );
    assert!(human.contains("FAIL") && human.contains("→ "), "{human}");

    // An SFTP user without a key, and one that does not exist.
    let keyless = testkit::unique("keyless");
    assert_eq!(
        rosterctl(d, &["tenants", "add", &keyless, "--connection", "sftp"]).0,
        0
    );
    let server = sftp_user(&keyless, &bucket, false).await;
    let (_, report) = check(
        d,
        &[
            &keyless,
            "--sftp-server-id",
            &server,
            "--inbound-bucket",
            &bucket,
        ],
    );
    let sftp = line(&report, "sftp user");
    assert_eq!(sftp["status"], "fail");
    assert!(
        sftp["detail"]
            .as_str()
            .unwrap()
            .contains("no SSH public key"),
        "{sftp}"
    );
    // A user whose session policy reaches every district's folder, and one with none.
    for (policy, expected) in [
        (
            Some(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject"],"Resource":"arn:aws:s3:::{bucket}/inbound/*"}}]}}"#
            )),
            "not the one every district gets",
        ),
        (None, "no session policy"),
    ] {
        let loose = testkit::unique("loose");
        assert_eq!(
            rosterctl(d, &["tenants", "add", &loose, "--connection", "sftp"]).0,
            0
        );
        let server = sftp_user_with_policy(&loose, &bucket, true, policy.as_deref()).await;
        // Without --inbound-bucket, the policy is checked against the home mapping's bucket.
        let (_, report) = check(d, &[&loose, "--sftp-server-id", &server]);
        let sftp = line(&report, "sftp user");
        assert_eq!(sftp["status"], "fail", "{sftp}");
        assert!(
            sftp["detail"].as_str().unwrap().contains(expected),
            "{sftp}"
        );
    }
    let (_, report) = check(d, &[&ready, "--sftp-server-id", &server]);
    assert_eq!(
        line(&report, "sftp user")["status"],
        "fail",
        "not on that server"
    );
    let (_, report) = check(d, &[&ready]);
    assert_eq!(
        line(&report, "sftp user")["status"],
        "warn",
        "no server id: not checked"
    );

    let (code, _, _) = rosterctl(d, &["tenants", "check", "nowhere"]);
    assert_eq!(code, 1);

    // A time zone that is not one is refused when the schedule is set.
    let (code, out, _) = rosterctl(
        d,
        &[
            "tenants",
            "update",
            &unready,
            "--schedule-days",
            "mon",
            "--schedule-time",
            "02:00",
            "--timezone",
            "Mars/Olympus",
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("`Mars/Olympus` is not an IANA time zone"),
        "{out}"
    );
}

/// The topic's email subscriptions on moto: (address, filter policy).
async fn email_subscriptions(topic: &str) -> Vec<(String, String)> {
    let sns = testkit::notices::sns_client();
    let listed = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for s in listed.subscriptions() {
        if s.protocol() != Some("email") {
            continue;
        }
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
async fn notice_contacts_become_email_subscriptions_filtered_on_their_districts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let topic = testkit::notices::notice_topic().await;
    let sns = testkit::notices::sns_client();
    // Subscribed by hand, without a tenant filter: never touched.
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("email")
        .endpoint("ops@vendor.example")
        .send()
        .await
        .unwrap();
    let (a, b) = (testkit::unique("north"), testkit::unique("south"));
    let with_topic = ["--notice-topic-arn", topic.as_str(), "--json"];
    let mut args = vec!["tenants", "add", &a, "--connection", "sftp"];
    args.extend(["--notify-email", "Data@Region.example,it@north.example"]);
    args.extend(with_topic);
    let (code, out, err) = rosterctl(d, &args);
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["notices"]["topic"], topic.as_str());
    // The region's contact serves both districts: one subscription admitting both.
    let mut args = vec!["tenants", "add", &b, "--connection", "sftp"];
    args.extend(["--notify-email", "data@region.example"]);
    args.extend(with_topic);
    assert_eq!(rosterctl(d, &args).0, 0);
    let both = serde_json::json!({"tenant": [&a, &b]}).to_string();
    assert_eq!(
        email_subscriptions(&topic).await,
        vec![
            ("data@region.example".to_string(), both.clone()),
            (
                "it@north.example".to_string(),
                serde_json::json!({"tenant": [&a]}).to_string()
            ),
            ("ops@vendor.example".to_string(), String::new()),
        ]
    );

    // North drops both contacts; the region stays for south only.
    let mut args = vec!["tenants", "update", &a, "--notify-email", ""];
    args.extend(with_topic);
    let (code, out, _) = rosterctl(d, &args);
    assert_eq!(code, 0, "{out}");
    let actions: Vec<String> = serde_json::from_str::<serde_json::Value>(&out).unwrap()["notices"]
        ["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["email"].as_str().unwrap(),
                s["action"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        actions.contains(&"data@region.example set_tenants".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"it@north.example unsubscribe".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"ops@vendor.example left_as_is".to_string()),
        "{actions:?}"
    );
    assert_eq!(
        email_subscriptions(&topic).await,
        vec![
            (
                "data@region.example".to_string(),
                serde_json::json!({"tenant": [&b]}).to_string()
            ),
            ("ops@vendor.example".to_string(), String::new()),
        ]
    );

    // In line now: `tenants notices` changes nothing, and says so.
    let (code, out, _) = rosterctl(d, &["tenants", "notices", "--notice-topic-arn", &topic]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("data@region.example: subscribed for {b}")),
        "{out}"
    );
    assert!(
        out.contains("ops@vendor.example: subscribed by hand"),
        "{out}"
    );
    // Without a topic, the command says where to find it.
    let (code, out, err) = rosterctl(d, &["tenants", "notices"]);
    assert_eq!(code, 1);
    assert!(
        format!("{out}{err}").contains("RunNoticeTopicArn"),
        "{out}{err}"
    );

    // `tenants check` sees south's contact subscribed, and north's absence of contacts.
    let (_, report) = check(d, &[&b, "--notice-topic-arn", &topic]);
    assert_eq!(line(&report, "notices")["status"], "ok", "{report}");
    let (_, report) = check(d, &[&a, "--notice-topic-arn", &topic]);
    let notices = line(&report, "notices");
    assert_eq!(notices["status"], "warn");
    assert!(
        notices["next"].as_str().unwrap().contains("--notify-email"),
        "{notices}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_check_sftp_verifies_the_transfer_family_user_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bucket = testkit::unique("inbound");
    let sftp = |args: &[&str]| {
        let mut all = vec!["tenants", "check-sftp"];
        all.extend(args);
        all.push("--json");
        let (code, out, err) = rosterctl(d, &all);
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}{err}"));
        (code, v)
    };
    // Right: LOGICAL home at inbound/<tenant>, the district policy, a key.
    let good = testkit::unique("good");
    let server = sftp_user(&good, &bucket, true).await;
    let (code, v) = sftp(&[
        &good,
        "--sftp-server-id",
        &server,
        "--inbound-bucket",
        &bucket,
    ]);
    assert_eq!((code, v["status"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["problems"], serde_json::json!([]));
    // The same, checked against another bucket: the mapping and the policy are wrong for it.
    let (code, v) = sftp(&[
        &good,
        "--sftp-server-id",
        &server,
        "--inbound-bucket",
        "other-bucket",
    ]);
    assert_eq!((code, v["status"].as_str()), (1, Some("fail")), "{v}");
    assert_eq!(v["problems"].as_array().unwrap().len(), 2, "{v}");
    // A session policy that reaches every district's folder.
    let loose = testkit::unique("loose");
    let wide = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::{bucket}/*"}}]}}"#
    );
    let server = sftp_user_with_policy(&loose, &bucket, true, Some(&wide)).await;
    let (code, v) = sftp(&[&loose, "--sftp-server-id", &server]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["problems"][0]
            .as_str()
            .unwrap()
            .contains("not the one every district gets"),
        "{v}"
    );
    // No such user on the server; no server at all.
    let (code, v) = sftp(&["nobody-here", "--sftp-server-id", &server]);
    assert_eq!((code, v["status"].as_str()), (1, Some("missing")), "{v}");
    let (code, v) = sftp(&[&good]);
    assert_eq!(code, 2, "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("--sftp-server-id"),
        "{v}"
    );
}
