//! The SSO test harness: a real OpenID provider (the ClassLink look-alike on
//! npm `oidc-provider`, tests/servers/classlink), DynamoDB Local for the roster,
//! moto for Secrets Manager, and the function's router served on loopback.
//! A test drives a browser by hand (no automatic redirects), so it can
//! tamper with any step. Missing services fail the test loudly.

#![allow(dead_code)]

use roster::roles::*;
use roster::{Engine, LocalArtifacts, RunSource, TenantConfig};
use roster_dynamodb::DynamoStore;
use serde_json::{json, Value};
use sso_callback::app::{router, App};
use sso_callback::config::SsoConfig;
use sso_callback::oidc::ClassLink;
use sso_callback::secrets::CachedSecret;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use url::Url;

pub const TEACHER_APP: &str = "https://teacher.example/app";
pub const ADMIN_PORTAL: &str = "https://admin.example/portal";
pub const OTHER_DESTINATION: &str = "https://teacher.example/app/classes";
pub const CLIENT_ID: &str = "sonday-test-client";
pub const CLASSLINK_TENANT: u64 = 4242;

/// Every log line the tests' code wrote (one global subscriber per test binary).
pub fn logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub use testkit::unique;

/// The ClassLink look-alike, as a child process.
pub type Provider = testkit::servers::Server;

/// A roster, a provider, secrets, and the function's router on loopback.
pub struct Harness {
    pub store: DynamoStore,
    pub provider: Provider,
    pub base: String,
    pub redeem_secret: String,
    pub client_secret: String,
    /// The settings the router was started with.
    pub config: SsoConfig,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// What a browser holds midway through a login.
pub struct Flow {
    /// The URL ClassLink sent the browser back to.
    pub callback: String,
    /// Our login cookie's value.
    pub cookie: String,
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", response.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// The roster: one school, this school year's classes (`term1`, which
/// includes today, whatever today is) and last year's (`term0`, over): Tina
/// (`t1`) teaches `c1` now and taught `c0` last year, which the district still
/// delivers; Tom (`t2`) teaches `c2`.
fn roster() -> Vec<(&'static str, String)> {
    let today = chrono::Utc::now().date_naive();
    let day = |offset: i64| (today + chrono::Duration::days(offset)).to_string();
    vec![
        ("manifest.csv", "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\nfile.orgs,bulk\nfile.users,bulk\nfile.classes,bulk\nfile.courses,bulk\nfile.academicSessions,bulk\nfile.enrollments,bulk\n".into()),
        ("orgs.csv", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\ns1,active,,School,school,,\n".into()),
        ("academicSessions.csv", format!("sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n\
term0,active,,Last year,schoolYear,{},{},,2000\n\
term1,active,,This year,schoolYear,{},{},,2001\n", day(-485), day(-150), day(-120), day(240))),
        ("courses.csv", "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes\ncourse1,active,,term1,Reading,,,s1,,\n".into()),
        ("classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods\nc0,active,,Reading 0,,course1,,scheduled,,s1,term0,,,\nc1,active,,Reading 1,,course1,,scheduled,,s1,term1,,,\nc2,active,,Reading 2,,course1,,scheduled,,s1,term1,,,\n".into()),
        ("users.csv", "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n\
t1,active,,true,s1,teacher,tina,,Tina,Teach,,,tina@d.example,,,,,\n\
t2,active,,true,s1,teacher,tom,,Tom,Teach,,,tom@d.example,,,,,\n\
ad1,active,,true,s1,administrator,ada,,Ada,Admin,,,ada@d.example,,,,,\n\
s1u,active,,true,s1,student,sam,,Sam,Stu,,,sam@d.example,,,,,\n\
tw1,active,,true,s1,teacher,twin1,,Twin,One,,,twins@d.example,,,,,\n\
tw2,active,,true,s1,teacher,twin2,,Twin,Two,,,twins@d.example,,,,,\n".into()),
        ("enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate\ne0,active,,c0,s1,t1,teacher,true,,\ne1,active,,c1,s1,t1,teacher,true,,\ne2,active,,c1,s1,s1u,student,false,,\ne3,active,,c2,s1,t2,teacher,true,,\n".into()),
    ]
}

/// ClassLink-shaped user info.
pub fn classlink_user(
    user_id: u64,
    tenant: u64,
    sourced_id: Option<&str>,
    role: &str,
    email: &str,
) -> Value {
    json!({
        "UserId": user_id,
        "TenantId": tenant,
        "SourcedId": sourced_id,
        "Role": role,
        "Email": email,
        "LoginId": email.split('@').next().unwrap_or(""),
        "FirstName": "First",
        "LastName": "Last",
        "DisplayName": "First Last",
        "BuildingId": "b-1",
        "StateId": "st-1"
    })
}

impl Harness {
    /// Everything started; the roster of district `d1` (ClassLink tenant 4242) synced.
    pub async fn start() -> Harness {
        Harness::start_with(|_| {}).await
    }

    /// As [`Harness::start`], with the settings adjusted first.
    pub async fn start_with(adjust: impl FnOnce(&mut SsoConfig)) -> Harness {
        log_buffer();
        let dir = tempfile::tempdir().unwrap();
        // The roster.
        let store = testkit::dynamo_store("sso").await;
        let mut tenant = TenantConfig::new("d1").unwrap();
        tenant.classlink_tenant_id = Some(CLASSLINK_TENANT.to_string());
        tenant.sso_enabled = true;
        store.put_tenant(&tenant).await.unwrap();
        // Secrets.
        let secrets = testkit::secrets_client();
        let client_secret = unique("client-secret");
        let redeem_secret = unique("redeem-secret");
        let client_secret_id = unique("sso/classlink-client");
        let redeem_secret_id = unique("sso/redeem");
        testkit::create_secret(&client_secret_id, &client_secret).await;
        testkit::create_secret(&redeem_secret_id, &redeem_secret).await;
        // Our listener first: the provider needs the exact redirect URI.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let redirect = format!("{base}/sso/classlink/callback");
        let provider = testkit::servers::oidc_provider(CLIENT_ID, &client_secret, &redirect);
        let mut config = SsoConfig {
            issuer: provider.url.clone(),
            userinfo_url: Url::parse(&format!("{}/v2/my/info", provider.url)).unwrap(),
            client_id: CLIENT_ID.into(),
            client_secret_id,
            redirect_url: Url::parse(&redirect).unwrap(),
            teacher_app_url: Url::parse(TEACHER_APP).unwrap(),
            admin_portal_url: Url::parse(ADMIN_PORTAL).unwrap(),
            allowed_destinations: vec![Url::parse(OTHER_DESTINATION).unwrap()],
            redeem_secret_id,
            scopes: sso_callback::config::DEFAULT_SCOPES
                .split_whitespace()
                .map(String::from)
                .collect(),
            http_timeout: Duration::from_secs(2),
            login_ttl: Duration::from_secs(600),
            audit_retention_days: 90,
            clock_leeway: Duration::from_secs(60),
        };
        adjust(&mut config);
        let app_config = config.clone();
        let app = Arc::new(App {
            store: store.clone(),
            classlink: ClassLink::new(config.clone()).unwrap(),
            client_secret: CachedSecret::new(secrets.clone(), config.client_secret_id.clone()),
            redeem_secret: CachedSecret::new(secrets, config.redeem_secret_id.clone()),
            config,
        });
        tokio::spawn(async move { axum::serve(listener, router(app)).await.unwrap() });
        let harness = Harness {
            store,
            provider,
            base,
            redeem_secret,
            client_secret,
            config: app_config,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            _dir: dir,
        };
        let run = harness.sync_roster("").await;
        assert_eq!(run.status, roster::RunStatus::Applied, "{}", run.message);
        harness
            .control(
                "accounts",
                json!({
                    "teacher": classlink_user(9001, CLASSLINK_TENANT, Some("t1"), "Teacher", "tina@d.example"),
                    "archived-teacher": classlink_user(9002, CLASSLINK_TENANT, Some("t2"), "Teacher", "tom@d.example"),
                    "student": classlink_user(9003, CLASSLINK_TENANT, Some("s1u"), "Student", "sam@d.example"),
                    "admin": classlink_user(9004, CLASSLINK_TENANT, Some("ad1"), "Tenant Administrator", "ada@d.example"),
                    "stranger": classlink_user(9005, 777_777, Some("t1"), "Teacher", "tina@d.example"),
                    "ghost": classlink_user(9006, CLASSLINK_TENANT, Some("nobody"), "Teacher", "ghost@d.example"),
                    "no-sourced-id": classlink_user(9007, CLASSLINK_TENANT, None, "Teacher", "TINA@d.example"),
                    // A role ClassLink may add later (not staff): never matched by email.
                    "other-role-same-email": classlink_user(9008, CLASSLINK_TENANT, None, "Volunteer", "tina@d.example"),
                }),
            )
            .await;
        harness
    }

    /// Posts to the provider's test controls.
    pub async fn control(&self, what: &str, body: Value) -> Value {
        self.http
            .post(format!("{}/_test/{what}", self.provider.url))
            .json(&body)
            .send()
            .await
            .expect("provider control")
            .json()
            .await
            .unwrap()
    }

    /// The provider's request counts.
    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_test/stats", self.provider.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A GET on our function.
    pub async fn get(&self, path_or_url: &str, cookie: Option<&str>) -> reqwest::Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        let mut request = self.http.get(url);
        if let Some(c) = cookie {
            request = request.header("cookie", format!("__Host-sso_login={c}"));
        }
        request.send().await.expect("the function answers")
    }

    /// Clicks the tile as `account` and follows ClassLink until it sends the
    /// browser back to our callback (not followed).
    pub async fn begin(&self, account: &str, entry: &str) -> Flow {
        self.control("login", json!({"accountId": account})).await;
        let first = self.get(entry, None).await;
        assert_eq!(first.status(), 303, "{entry} redirects to ClassLink");
        let cookie = set_cookies(&first)
            .iter()
            .find_map(|c| c.strip_prefix("__Host-sso_login="))
            .and_then(|c| c.split(';').next())
            .expect("login cookie")
            .to_string();
        let url = Url::parse(&location(&first)).unwrap();
        assert!(url.as_str().starts_with(&self.provider.url), "{url}");
        let callback = testkit::browser::follow_until(
            &self.http,
            url,
            &format!("{}/sso/classlink/callback", self.base),
        )
        .await;
        Flow {
            callback: callback.to_string(),
            cookie,
        }
    }

    /// A whole sign-in from the LaunchPad tile; the callback's response.
    pub async fn sign_in(&self, account: &str) -> reqwest::Response {
        let flow = self.begin(account, "/sso/classlink/launch").await;
        self.get(&flow.callback, Some(&flow.cookie)).await
    }

    /// Redeems a ticket as the teacher app.
    pub async fn redeem(&self, ticket: &str, secret: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/sso/tickets/redeem", self.base))
            .json(&json!({ "ticket": ticket }));
        if let Some(s) = secret {
            request = request.bearer_auth(s);
        }
        request.send().await.unwrap()
    }

    /// Syncs district `d1`'s roster (a bulk package), with `extra_users`
    /// (lines of users.csv) added to its users.
    pub async fn sync_roster(&self, extra_users: &str) -> roster::RunRecord {
        let pkg = tempfile::tempdir_in(self._dir.path()).unwrap();
        for (name, mut text) in roster() {
            if name == "users.csv" {
                text.push_str(extra_users);
            }
            std::fs::write(pkg.path().join(name), text).unwrap();
        }
        let artifacts = LocalArtifacts::new(self._dir.path().join("runs"));
        Engine::new(&self.store, &artifacts)
            .sync_package(
                &self.tenant().await,
                pkg.path(),
                RunSource {
                    kind: "csv".into(),
                    reference: "sso-test".into(),
                },
                roster::Delivered::now(None),
            )
            .await
            .unwrap()
    }

    /// The tenant's config (to flip switches).
    pub async fn tenant(&self) -> TenantConfig {
        self.store.get_tenant("d1").await.unwrap().unwrap()
    }
}

/// The ticket in a redirect to the teacher app; asserts nothing else is in the URL.
pub fn ticket_of(location: &str, destination: &str) -> String {
    let url = Url::parse(location).unwrap();
    assert!(location.starts_with(destination), "{location}");
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(
        pairs.len(),
        1,
        "only the ticket travels in the URL: {location}"
    );
    assert_eq!(pairs[0].0, "ticket");
    pairs[0].1.clone()
}

impl Harness {
    /// Follows a sign-in's redirect to `destination` and redeems its ticket:
    /// the identity the app receives.
    pub async fn identity(&self, response: &reqwest::Response, destination: &str) -> Value {
        assert_eq!(response.status(), 303);
        let ticket = ticket_of(&location(response), destination);
        let redeemed = self.redeem(&ticket, Some(&self.redeem_secret)).await;
        assert_eq!(redeemed.status(), 200);
        redeemed.json().await.unwrap()
    }
}

/// Asserts the security headers every response carries.
pub fn assert_security_headers(response: &reqwest::Response) {
    let h = response.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(h.contains_key("x-request-id"));
}

/// A page's body, after checking it is an HTML page with its support reference.
pub async fn page(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert_security_headers(&response);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body = response.text().await.unwrap();
    assert!(body.contains(&id), "the page shows the support reference");
    assert!(body.contains("<html lang=\"en\">"));
    body
}
