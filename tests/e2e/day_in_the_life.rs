//! A day in the life of a district, on the local stack: the table and bucket
//! created from template.yaml's own definitions (infra/local/resources.py),
//! moto (S3, Secrets Manager, Scheduler), DynamoDB Local, the local OneRoster
//! API, the ClassLink look-alike, `rosterctl`, and the three real function
//! binaries under a Lambda Runtime API emulator.
//!
//! Onboard with `rosterctl tenants add`; upload a package to `inbound/{tenant}/`
//! (S3 API) and deliver the S3 event to csv-ingest; run the scheduled pull
//! with the schedule's own input; promote the Primary Administrator; sign a
//! teacher in through SSO; re-sync a changed package (only the changes are
//! written); a truncated package is held and changes nothing.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::binaries::workspace_binary as binary;
use testkit::cli::Cli;
use testkit::runtime_api::RuntimeApi;
use testkit::zip::zip_folder;
use url::Url;

const TENANT: &str = "springfield";
const CLASSLINK_TENANT: &str = "4242";
const TEACHER_APP: &str = "https://teacher.example/app";
const REDIRECT: &str = "https://sso.example/sso/classlink/callback";
const INVOKE: Duration = Duration::from_secs(300);

/// rosterctl on the stack; its stdout parsed as JSON.
fn rosterctl(dir: &Path, args: &[&str]) -> (i32, Value) {
    Cli::new(binary("rosterctl")).dir(dir).aws().json(args)
}

/// A function binary running under its own Runtime API emulator.
struct Function {
    api: RuntimeApi,
    child: Child,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Function {
    fn start(name: &str, env: &[(&str, String)], tmp: &Path) -> Function {
        let api = RuntimeApi::start(name);
        let mut command = Command::new(binary(name));
        testkit::aws_env(&mut command)
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("TMPDIR", tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("function binary starts");
        Function { api, child }
    }

    fn invoke(&self, event: Value) -> Value {
        let posted = self.api.invoke(event, INVOKE).unwrap();
        assert!(posted.ok, "the function failed: {}", posted.body);
        posted.body
    }
}

/// The tenant's newest run, from `rosterctl runs list`.
fn newest_run(dir: &Path, table: &str) -> Value {
    let (code, runs) = rosterctl(
        dir,
        &[
            "runs",
            "list",
            "--tenant",
            TENANT,
            "--json",
            "--dynamodb",
            table,
        ],
    );
    assert_eq!(code, 0, "{runs}");
    runs[0].clone()
}

/// Rewrites users.csv: `edit(row)` may change a row or drop it (false).
fn edit_users(folder: &Path, mut edit: impl FnMut(usize, &mut Vec<String>) -> bool) {
    let path = folder.join("users.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(&headers).unwrap();
    for (i, mut row) in rows.into_iter().enumerate() {
        if edit(i, &mut row) {
            writer.write_record(&row).unwrap();
        }
    }
    writer.flush().unwrap();
}

/// (sourcedId, role) of every user.
fn users(folder: &Path) -> Vec<(String, String)> {
    let mut reader = csv::Reader::from_path(folder.join("users.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let id = headers.iter().position(|h| h == "sourcedId").unwrap();
    let role = headers.iter().position(|h| h == "role").unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[id].to_string(), r[role].to_string())
        })
        .collect()
}

/// The rows of a CSV file of the package, as header → value maps.
fn rows(folder: &Path, file: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(folder.join(file)).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

/// The classes `teacher` teaches today by the package: a teacher enrollment,
/// and a term whose dates include today (what redemption must list).
fn current_classes(folder: &Path, teacher: &str) -> Vec<String> {
    let today = chrono::Utc::now().date_naive().to_string();
    let sessions: std::collections::HashMap<String, (String, String)> =
        rows(folder, "academicSessions.csv")
            .into_iter()
            .map(|s| {
                (
                    s["sourcedId"].clone(),
                    (s["startDate"].clone(), s["endDate"].clone()),
                )
            })
            .collect();
    let terms: std::collections::HashMap<String, String> = rows(folder, "classes.csv")
        .into_iter()
        .map(|c| (c["sourcedId"].clone(), c["termSourcedIds"].clone()))
        .collect();
    let mut classes: Vec<String> = rows(folder, "enrollments.csv")
        .into_iter()
        .filter(|e| e["userSourcedId"] == teacher && e["role"] == "teacher")
        .map(|e| e["classSourcedId"].clone())
        .filter(|class| {
            terms[class].split(',').any(|term| {
                let (start, end) = &sessions[term];
                start.as_str() <= today.as_str() && today.as_str() <= end.as_str()
            })
        })
        .collect();
    classes.sort();
    classes.dedup();
    classes
}

async fn upload(bucket: &str, key: &str, file: &Path) -> Value {
    let s3 = testkit::s3_client();
    let put = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(std::fs::read(file).unwrap().into())
        .send()
        .await
        .unwrap();
    testkit::events::s3_event(bucket, key, put.version_id(), put.e_tag())
}

fn header(response: &Value, name: &str) -> String {
    response["headers"][name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {response}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_in_the_life_of_a_district() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let table = testkit::unique("e2e");
    let bucket = testkit::unique("e2e-inbound");

    // The table and bucket, from template.yaml's definitions.
    testkit::template::create_resources(&table, &bucket);

    // The district's data: one export for SFTP, the same data behind the API.
    let folder = d.join("district");
    let (code, _) = rosterctl(
        d,
        &[
            "generate",
            "--students",
            "300",
            "--seed",
            "7",
            "--out",
            "district",
            "--json",
        ],
    );
    assert_eq!(code, 0);
    let api =
        testkit::servers::oneroster_server(&folder, "oauth1", "district-key", "district-secret");

    // 1. Onboarding.
    let store = ["--dynamodb", table.as_str()];
    let mut add = vec![
        "tenants",
        "add",
        TENANT,
        "--name",
        "Springfield USD",
        "--connection",
        "both",
        "--api-url",
        &api.url,
        "--api-key",
        "district-key",
        "--api-secret",
        "district-secret",
        "--schedule-days",
        "mon,tue,wed,thu,fri",
        "--schedule-time",
        "2:00",
        "--timezone",
        "America/Chicago",
        "--classlink-tenant-id",
        CLASSLINK_TENANT,
        "--sso",
        "true",
        "--inbound-bucket",
        &bucket,
        "--schedule-group",
        "default",
        "--pull-function-arn",
        "arn:aws:lambda:us-east-1:000000000000:function:oneroster-pull",
        "--scheduler-role-arn",
        "arn:aws:iam::000000000000:role/scheduler",
        "--json",
    ];
    add.extend(store);
    let (code, onboarded) = rosterctl(d, &add);
    assert_eq!(code, 0, "{onboarded}");
    assert_eq!(
        onboarded["sftp_user"]["home_directory_mappings"][0]["Target"],
        format!("/{bucket}/inbound/{TENANT}")
    );

    // The three functions, as Lambda runs them.
    let tmp = d.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let ingest = Function::start(
        "csv-ingest",
        &[
            ("ROSTER_TABLE", table.clone()),
            ("INBOUND_BUCKET", bucket.clone()),
        ],
        &tmp,
    );
    let pull = Function::start(
        "oneroster-pull",
        &[
            ("ROSTER_TABLE", table.clone()),
            ("TENANT_SECRET_PREFIX", "roster/tenants/".into()),
        ],
        &tmp,
    );
    let client_secret = testkit::unique("classlink-client-secret");
    let redeem_secret = testkit::unique("redeem-secret");
    let client_secret_id = testkit::unique("sso/client");
    let redeem_secret_id = testkit::unique("sso/redeem");
    testkit::create_secret(&client_secret_id, &client_secret).await;
    testkit::create_secret(&redeem_secret_id, &redeem_secret).await;
    let provider = testkit::servers::oidc_provider("sonday", &client_secret, REDIRECT);
    let sso = Function::start(
        "sso-callback",
        &[
            ("ROSTER_TABLE", table.clone()),
            ("CLASSLINK_ISSUER", provider.url.clone()),
            (
                "CLASSLINK_USERINFO_URL",
                format!("{}/v2/my/info", provider.url),
            ),
            ("CLASSLINK_CLIENT_ID", "sonday".into()),
            ("CLASSLINK_CLIENT_SECRET_ID", client_secret_id),
            ("REDEEM_SECRET_ID", redeem_secret_id),
            ("SSO_REDIRECT_URL", REDIRECT.into()),
            ("TEACHER_APP_URL", TEACHER_APP.into()),
            ("ADMIN_PORTAL_URL", "https://admin.example/".into()),
        ],
        &tmp,
    );

    // 2. ClassLink uploads the export over SFTP: S3 calls csv-ingest.
    let zip1 = d.join("export-1.zip");
    zip_folder(&folder, &zip1);
    let event = upload(
        &bucket,
        &format!("inbound/{TENANT}/OneRoster Export.zip"),
        &zip1,
    )
    .await;
    let result = ingest.invoke(event);
    assert_eq!(result[0]["outcome"], "applied", "{result}");
    let first = newest_run(d, &table);
    assert_eq!(first["status"], "applied", "{first}");
    let loaded = first["items_written"].as_u64().unwrap();
    assert!(loaded > 1000, "the first load wrote the roster: {first}");

    // 3. The scheduled pull, with the input the schedule carries.
    let schedule = testkit::scheduler_client()
        .get_schedule()
        .name(format!("{TENANT}-pull"))
        .group_name("default")
        .send()
        .await
        .unwrap();
    let input: Value = serde_json::from_str(schedule.target().unwrap().input().unwrap()).unwrap();
    let pulled = pull.invoke(input);
    assert_eq!(pulled[0]["status"], "applied", "{pulled}");
    let (_, run) = rosterctl(
        d,
        &[
            "runs",
            "show",
            pulled[0]["run_id"].as_str().unwrap(),
            "--json",
            "--dynamodb",
            &table,
        ],
    );
    assert_eq!(run["source"]["kind"], "api", "{run}");
    assert_eq!(
        run["items_written"], 0,
        "the API brings the same roster as the export: nothing to write ({run})"
    );

    // 4. Someone promotes the Primary Administrator by hand.
    let people = users(&folder);
    let admin = people
        .iter()
        .find(|(_, r)| r == "administrator")
        .unwrap()
        .0
        .clone();
    let teacher = people
        .iter()
        .find(|(_, r)| r == "teacher")
        .unwrap()
        .0
        .clone();
    let mut promote = vec![
        "admins",
        "promote",
        admin.as_str(),
        "--tenant",
        TENANT,
        "--json",
    ];
    promote.extend(store);
    let (code, promoted) = rosterctl(d, &promote);
    assert_eq!(code, 0, "{promoted}");

    // 5. A teacher clicks the tile on the LaunchPad.
    reqwest::Client::new()
        .post(format!("{}/_test/accounts", provider.url))
        .json(&json!({"teacher": {"UserId": 501, "TenantId": 4242, "SourcedId": teacher, "Role": "Teacher",
                                   "Email": "t@d.example", "LoginId": "t", "FirstName": "T", "LastName": "T",
                                   "DisplayName": "T T", "BuildingId": "b", "StateId": "s"}}))
        .send()
        .await
        .unwrap();
    reqwest::Client::new()
        .post(format!("{}/_test/login", provider.url))
        .json(&json!({"accountId": "teacher"}))
        .send()
        .await
        .unwrap();
    let host = json!({"host": "sso.example"});
    let launch = sso.invoke(testkit::events::http_api_event(
        "GET",
        "/sso/classlink/launch",
        "",
        host.clone(),
        &[],
        None,
    ));
    assert_eq!(launch["statusCode"], 303, "{launch}");
    let login_cookie = launch["cookies"][0]
        .as_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let callback = testkit::browser::follow_until(
        &testkit::browser::client(),
        Url::parse(&header(&launch, "location")).unwrap(),
        REDIRECT,
    )
    .await;
    let signed_in = sso.invoke(testkit::events::http_api_event(
        "GET",
        "/sso/classlink/callback",
        callback.query().unwrap(),
        host.clone(),
        &[login_cookie],
        None,
    ));
    assert_eq!(signed_in["statusCode"], 303, "{signed_in}");
    let landing = Url::parse(&header(&signed_in, "location")).unwrap();
    assert!(landing.as_str().starts_with(TEACHER_APP));
    let ticket = landing
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .unwrap()
        .1
        .into_owned();
    let body = json!({ "ticket": ticket }).to_string();
    let redeemed = sso.invoke(testkit::events::http_api_event(
        "POST",
        "/sso/tickets/redeem",
        "",
        json!({"host": "sso.example", "content-type": "application/json", "authorization": format!("Bearer {redeem_secret}")}),
        &[],
        Some(&body),
    ));
    assert_eq!(redeemed["statusCode"], 200, "{redeemed}");
    let identity: Value = serde_json::from_str(redeemed["body"].as_str().unwrap()).unwrap();
    assert_eq!(identity["tenant"], TENANT);
    assert_eq!(identity["sourced_id"], teacher.as_str());
    assert_eq!(
        identity["classes"],
        json!(current_classes(&folder, &teacher)),
        "the classes the teacher teaches today (none in the summer between terms)"
    );
    let (_, audit) = rosterctl(
        d,
        &[
            "sso",
            "audit",
            "--tenant",
            TENANT,
            "--json",
            "--dynamodb",
            &table,
        ],
    );
    assert_eq!(audit["attempts"][0]["outcome"], "signed_in", "{audit}");

    // 6. The next day's export changes three names: only those are written.
    edit_users(&folder, |i, row| {
        if (10..13).contains(&i) {
            row[8] = format!("Renamed{i}");
        }
        true
    });
    let zip2 = d.join("export-2.zip");
    zip_folder(&folder, &zip2);
    let event = upload(
        &bucket,
        &format!("inbound/{TENANT}/OneRoster Export.zip"),
        &zip2,
    )
    .await;
    let result = ingest.invoke(event);
    assert_eq!(result[0]["outcome"], "applied", "{result}");
    let second = newest_run(d, &table);
    assert_eq!(second["items_written"], 3, "only the changes: {second}");

    // 7. A truncated export (most users missing) is held; nothing changes.
    edit_users(&folder, |i, _| i < 20);
    let zip3 = d.join("export-3.zip");
    zip_folder(&folder, &zip3);
    let event = upload(
        &bucket,
        &format!("inbound/{TENANT}/OneRoster Export.zip"),
        &zip3,
    )
    .await;
    let result = ingest.invoke(event);
    assert_eq!(result[0]["outcome"], "held", "{result}");
    let (_, status) = rosterctl(
        d,
        &[
            "users",
            "show",
            &teacher,
            "--tenant",
            TENANT,
            "--json",
            "--dynamodb",
            &table,
        ],
    );
    assert_eq!(
        status["archived"], false,
        "a held run archives nobody: {status}"
    );
    let (_, admin_now) = rosterctl(
        d,
        &[
            "users",
            "show",
            &admin,
            "--tenant",
            TENANT,
            "--json",
            "--dynamodb",
            &table,
        ],
    );
    assert_eq!(
        admin_now["primary_admin"], true,
        "the promotion survived every sync"
    );
}
