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

#[allow(unused_imports)]
pub use testkit::{secrets_client, sqs_client, unique};

pub async fn dynamo_store() -> roster::DynamoStore {
    testkit::dynamo_store("pull").await
}
