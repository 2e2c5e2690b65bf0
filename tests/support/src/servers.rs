//! The project's local servers, run as child processes by tests: the
//! OneRoster REST server, 1.1 and 1.2 (Python, `oauthlib`) and the ClassLink look-alike
//! OpenID provider (Node.js, `oidc-provider`). Each announces itself with one
//! line on stdout; the rest of its output is drained so that it never writes
//! into a closed pipe. Dropping a server stops it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The repository root (testkit lives in tests/support).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running child server.
pub struct Server {
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Server {
    /// Stops it now (a server going down).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `command`, waits for its announcement line starting with `prefix`
/// and returns the rest of that line.
fn spawn(mut command: Command, what: &str, prefix: &str) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let rest = line
        .trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{what} did not start: {line:?}"))
        .to_string();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, rest)
}

/// The Python with `oauthlib` for the OneRoster server (`ROSTER_API_PYTHON`).
pub fn python() -> String {
    std::env::var("ROSTER_API_PYTHON").unwrap_or_else(|_| {
        panic!("ROSTER_API_PYTHON is not set: run the suite with infra/test.sh (it installs oauthlib in .tools/api), or point it at a python with oauthlib")
    })
}

/// A request to the local OneRoster server's control endpoints (`/_stats`,
/// `/_faults`): a POST of `body`, or a GET without one. Blocking, on a
/// helper thread of its own (the tests run in a tokio runtime).
pub fn control(server: &Server, path: &str, body: Option<&str>) -> serde_json::Value {
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

/// A generated district of `students` students (seed 11, no rollover) as a
/// CSV package folder `district` in `dir`.
pub fn district_package(dir: &Path, students: u32) -> std::path::PathBuf {
    let out = dir.join("district");
    district::generate(
        &district::GenerateOptions {
            students,
            seed: 11,
            rollovers: 0,
            oneroster: district::OneRosterVersion::V1p1,
        },
        &out,
    )
    .unwrap();
    out
}

/// The local OneRoster server serving `package` with `auth` (`oauth1`,
/// `bearer` or `oauth2`) and the given key and secret, as OneRoster 1.1 and 1.2.
pub fn oneroster_server(package: &Path, auth: &str, key: &str, secret: &str) -> Server {
    oneroster_server_of(package, auth, key, secret, "1.1,1.2")
}

/// [`oneroster_server`] answering only `versions` (`1.1`, `1.2` or `1.1,1.2`).
pub fn oneroster_server_of(
    package: &Path,
    auth: &str,
    key: &str,
    secret: &str,
    versions: &str,
) -> Server {
    let mut command = Command::new(python());
    command
        .arg(repo_root().join("tests/servers/oneroster-api/server.py"))
        .args(["--package", package.to_str().unwrap()])
        .args(["--auth", auth, "--key", key, "--secret", secret])
        .args(["--versions", versions]);
    let (child, port) = spawn(command, "the local OneRoster server", "listening on ");
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// A free loopback port (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The ClassLink look-alike OpenID provider for one client with an exact
/// redirect URI (`ROSTER_NODE`, default `node`; packages installed by
/// `infra/local/oidc.sh install`).
pub fn oidc_provider(client_id: &str, client_secret: &str, redirect_uri: &str) -> Server {
    let dir = repo_root().join("tests/servers/classlink");
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "the ClassLink look-alike's packages are not installed: run infra/test.sh (or infra/local/oidc.sh install)"
    );
    let node = std::env::var("ROSTER_NODE").unwrap_or_else(|_| "node".into());
    let mut command = Command::new(node);
    command
        .current_dir(&dir)
        .arg("classlink-lookalike.mjs")
        .arg(free_port().to_string())
        .args([client_id, client_secret, redirect_uri])
        .stderr(Stdio::null());
    let (child, url) = spawn(command, "the OpenID provider (Node.js 20+)", "listening ");
    Server { child, url }
}
