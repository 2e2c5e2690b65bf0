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

    let sm = testkit::secrets_client();
    let stored = sm
        .get_secret_value()
        .secret_id(format!("roster/tenants/{tenant}"))
        .send()
        .await
        .unwrap();
    let secret: serde_json::Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
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
