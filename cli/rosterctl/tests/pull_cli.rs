//! `rosterctl pull` against the project's local OneRoster server.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn server(package: &Path) -> Server {
    let python = std::env::var("ROSTER_API_PYTHON").unwrap_or_else(|_| {
        panic!("ROSTER_API_PYTHON is not set: run the suite with infra/test.sh")
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/servers/oneroster-api/server.py");
    let mut child = Command::new(python)
        .arg(script)
        .args([
            "--package",
            package.to_str().unwrap(),
            "--auth",
            "oauth1",
            "--key",
            "k",
            "--secret",
            "s",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    Server(child, format!("http://127.0.0.1:{port}"))
}

fn rosterctl(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rosterctl"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn pull_syncs_a_tenants_api_and_refuses_bad_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        rosterctl(d, &["generate", "--students", "80", "--out", "district"]).0,
        0
    );
    let api = server(&d.join("district"));
    let (code, out) = rosterctl(
        d,
        &[
            "pull",
            "--tenant",
            "t1",
            "--api-url",
            &api.1,
            "--key",
            "k",
            "--secret",
            "s",
            "--page-size",
            "50",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "applied");
    assert_eq!(run["source"]["kind"], "api");
    assert!(run["items_written"].as_u64().unwrap() > 500);

    // The same pull again (a delta, by cadence) writes nothing.
    let (code, out) = rosterctl(
        d,
        &[
            "pull", "--tenant", "t1", "--key", "k", "--secret", "s", "--json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["items_written"],
        0
    );

    let (code, out) = rosterctl(
        d,
        &[
            "pull", "--tenant", "t1", "--key", "k", "--secret", "wrong", "--json",
        ],
    );
    assert_eq!(code, 2, "{out}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["status"], "failed");
    assert!(run["message"]
        .as_str()
        .unwrap()
        .contains("credentials rejected"));
    assert!(!out.contains("\"wrong\""));

    assert_eq!(
        rosterctl(d, &["pull", "--tenant", "t1", "--key", "k"]).0,
        2,
        "a key needs its secret"
    );
    assert_eq!(
        rosterctl(d, &["pull", "--tenant", "t2"]).0,
        2,
        "credentials are required"
    );
}
