//! `rosterctl sso serve`: the sign-in router on a SQLite roster, with its
//! secrets from the environment or a file, against the ClassLink look-alike
//! OpenID provider (npm `oidc-provider`): a teacher signs in and the app redeems.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use testkit::cli::Cli;

const CLIENT_ID: &str = "local-client";
const TEACHER_APP: &str = "http://teacher.localhost/app";

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Cli::new(env!("CARGO_BIN_EXE_rosterctl")).dir(dir).run(args);
    (out.code, out.stdout + &out.stderr)
}

/// The server process, stopped when dropped; its output kept for inspection.
struct Served {
    child: Child,
    log: std::path::PathBuf,
}

impl Served {
    fn output(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `rosterctl sso serve` with the look-alike as issuer; `secrets` are extra
/// environment variables (or none, with `args` naming a secrets file).
fn serve(dir: &Path, issuer: &str, port: u16, env: &[(&str, &str)], args: &[&str]) -> Command {
    let log = std::fs::File::create(dir.join("serve.log")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rosterctl"));
    command
        .current_dir(dir)
        .args(["sso", "serve", "--db", "roster.db", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .env_remove("CLASSLINK_CLIENT_SECRET")
        .env_remove("SSO_REDEEM_SECRET")
        .env("CLASSLINK_ISSUER", issuer)
        .env("CLASSLINK_USERINFO_URL", format!("{issuer}/v2/my/info"))
        .env("CLASSLINK_CLIENT_ID", CLIENT_ID)
        .env("TEACHER_APP_URL", TEACHER_APP)
        .env("ADMIN_PORTAL_URL", "http://admin.localhost/portal")
        .envs(env.iter().copied())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null());
    command
}

fn start(mut command: Command, dir: &Path, port: u16) -> Served {
    let child = command.spawn().unwrap();
    let mut served = Served {
        child,
        log: dir.join("serve.log"),
    };
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = served.child.try_wait() {
            panic!("sso serve exited ({status}): {}", served.output());
        }
        assert!(
            Instant::now() < until,
            "sso serve did not listen: {}",
            served.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    served
}

async fn post(http: &reqwest::Client, url: String, body: Value) {
    let r = http.post(url).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Clicks the tile as the look-alike's `teacher` and redeems the ticket: the identity.
async fn sign_in(http: &reqwest::Client, base: &str, issuer: &str, redeem_secret: &str) -> Value {
    post(
        http,
        format!("{issuer}/_test/login"),
        json!({"accountId": "teacher"}),
    )
    .await;
    let first = http
        .get(format!("{base}/sso/classlink/launch"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 303);
    let cookie = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok())
        .find_map(|c| c.strip_prefix("__Host-sso_login="))
        .and_then(|c| c.split(';').next())
        .expect("login cookie")
        .to_string();
    let to_classlink = url::Url::parse(first.headers()["location"].to_str().unwrap()).unwrap();
    let callback = testkit::browser::follow_until(
        http,
        to_classlink,
        &format!("{base}/sso/classlink/callback"),
    )
    .await;
    let back = http
        .get(callback)
        .header("cookie", format!("__Host-sso_login={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.status(),
        303,
        "{}",
        back.text().await.unwrap_or_default()
    );
    let location = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(TEACHER_APP), "{location}");
    let ticket = location
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .expect("a ticket");
    let redeemed = http
        .post(format!("{base}/sso/tickets/redeem"))
        .bearer_auth(redeem_secret)
        .json(&json!({ "ticket": ticket }))
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), 200);
    redeemed.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_serve_signs_a_teacher_in_with_secrets_from_the_environment_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out) = rosterctl(
        d,
        &[
            "tenants",
            "add",
            "t1",
            "--connection",
            "sftp",
            "--classlink-tenant-id",
            "4242",
            "--sso",
            "true",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        rosterctl(d, &["generate", "--students", "20", "--out", "district"]).0,
        0
    );
    assert_eq!(rosterctl(d, &["sync", "district", "--tenant", "t1"]).0, 0);

    let port = testkit::servers::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client_secret = testkit::unique("client-secret");
    let redeem_secret = testkit::unique("redeem-secret");
    let provider = testkit::servers::oidc_provider(
        CLIENT_ID,
        &client_secret,
        &format!("{base}/sso/classlink/callback"),
    );
    let http = testkit::browser::client();
    post(
        &http,
        format!("{}/_test/accounts", provider.url),
        json!({"teacher": {
            "UserId": 501, "TenantId": 4242, "SourcedId": "tch-00001", "Role": "Teacher",
            "Email": "t1@example.org", "LoginId": "t1", "FirstName": "T", "LastName": "One",
        }}),
    )
    .await;

    // Secrets from the environment.
    let mut served = start(
        serve(
            d,
            &provider.url,
            port,
            &[
                ("CLASSLINK_CLIENT_SECRET", &client_secret),
                ("SSO_REDEEM_SECRET", &redeem_secret),
            ],
            &[],
        ),
        d,
        port,
    );
    let identity = sign_in(&http, &base, &provider.url, &redeem_secret).await;
    assert_eq!(identity["tenant"], "t1");
    assert_eq!(identity["sourced_id"], "tch-00001");
    assert_eq!(identity["provisional"], false);
    let log = served.output();
    assert!(log.contains("serving ClassLink sign-in on"), "{log}");
    assert!(
        log.contains("sign-in attempt"),
        "the attempt was logged: {log}"
    );
    assert!(
        !log.contains(&client_secret) && !log.contains(&redeem_secret),
        "{log}"
    );
    drop(served);
    let (_, audit) = rosterctl(d, &["sso", "audit", "--tenant", "t1", "--json"]);
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(audit["attempts"][0]["outcome"], "signed_in");

    // Secrets from a file, the environment empty of them.
    std::fs::write(
        d.join("sso.secrets"),
        format!("# local sign-in\nCLASSLINK_CLIENT_SECRET={client_secret}\nSSO_REDEEM_SECRET = {redeem_secret}\n"),
    )
    .unwrap();
    let mut served = start(
        serve(
            d,
            &provider.url,
            port,
            &[],
            &["--secrets-file", "sso.secrets"],
        ),
        d,
        port,
    );
    let identity = sign_in(&http, &base, &provider.url, &redeem_secret).await;
    assert_eq!(identity["sourced_id"], "tch-00001");
    let log = served.output();
    assert!(
        !log.contains(&client_secret) && !log.contains(&redeem_secret),
        "{log}"
    );
    drop(served);

    // Without secrets, or without a roster, it does not start, and says why.
    let out = serve(d, &provider.url, port, &[], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let log = std::fs::read_to_string(d.join("serve.log")).unwrap();
    assert!(log.contains("CLASSLINK_CLIENT_SECRET is not set"), "{log}");
    std::fs::write(
        d.join("bad.secrets"),
        "CLASSLINK_CLIENT_SECRET=x\nPASSWORD=y\n",
    )
    .unwrap();
    let out = serve(
        d,
        &provider.url,
        port,
        &[],
        &["--secrets-file", "bad.secrets"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let log = std::fs::read_to_string(d.join("serve.log")).unwrap();
    assert!(
        log.contains("bad.secrets line 2: unknown name `PASSWORD`"),
        "{log}"
    );
    let (code, out) = rosterctl(d, &["sso", "serve", "--db", "missing.db"]);
    assert_eq!(code, 2);
    assert!(out.contains("no roster database at missing.db"), "{out}");
}
