//! Test support: the project's local OneRoster server and generated districts.

use std::path::{Path, PathBuf};

pub use testkit::servers::Server;

/// The local OneRoster server serving `package` with the given credentials.
pub fn start(package: &Path, auth: &str, key: &str, secret: &str) -> Server {
    testkit::servers::oneroster_server(package, auth, key, secret)
}

/// A request to the server's control endpoints (`/_stats`, `/_faults`).
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

/// A generated district of `students` students, as a CSV package folder.
pub fn district(dir: &Path, students: u32) -> PathBuf {
    let out = dir.join("district");
    district::generate(
        &district::GenerateOptions {
            students,
            seed: 11,
            rollovers: 0,
        },
        &out,
    )
    .unwrap();
    out
}
