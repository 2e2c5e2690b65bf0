//! Test support: the project's local OneRoster server, generated districts,
//! and clients for moto (Secrets Manager) and DynamoDB Local.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn python() -> String {
    std::env::var("ROSTER_API_PYTHON").unwrap_or_else(|_| {
        panic!("ROSTER_API_PYTHON is not set: run the suite with infra/test.sh (it installs oauthlib in .tools/api), or point it at a python with oauthlib")
    })
}

pub fn start(package: &Path, auth: &str, key: &str, secret: &str) -> Server {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/oneroster-server/server.py");
    let mut child = Command::new(python())
        .arg(script)
        .args([
            "--package",
            package.to_str().unwrap(),
            "--auth",
            auth,
            "--key",
            key,
            "--secret",
            secret,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the local OneRoster server starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("server said: {line}"));
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

pub fn control(server: &Server, path: &str, body: Option<&str>) -> serde_json::Value {
    // A blocking request on a helper thread (the tests run in a tokio runtime).
    let url = format!("{}{path}", server.url);
    let body = body.map(String::from);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = reqwest::Client::new();
            let response = match body {
                Some(b) => client.post(url).body(b).send().await,
                None => client.get(url).send().await,
            };
            response.unwrap().json::<serde_json::Value>().await.unwrap()
        })
    })
    .join()
    .unwrap()
}

pub fn district(dir: &Path, students: u32) -> PathBuf {
    let out = dir.join("district");
    rosterctl::generate::generate(
        &rosterctl::generate::GenerateOptions { students, seed: 11 },
        &out,
    )
    .unwrap();
    out
}

fn endpoint(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the suite with infra/test.sh, which starts moto and DynamoDB Local"))
}

pub fn secrets_client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .endpoint_url(endpoint("ROSTER_MOTO_ENDPOINT"))
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

pub async fn dynamo_store() -> roster::DynamoStore {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(endpoint("ROSTER_DYNAMODB_ENDPOINT"))
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    let store =
        roster::DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), unique("pull"));
    store.ensure_table().await.expect("table on DynamoDB Local");
    store
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

pub fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint("ROSTER_MOTO_ENDPOINT"))
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}
