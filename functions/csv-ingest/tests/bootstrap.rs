//! The real `csv-ingest` binary (its `main`) under a Lambda Runtime API
//! emulator written here: the binary asks for the next invocation, gets an
//! S3 event, and posts its response; the test checks the response, the
//! objects and the logs (JSON, an EMF line, no personal data).

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// One HTTP request as the runtime client sends it.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, body })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// Serves one invocation of `event`; sends what the function posted (path, body).
fn runtime_api(event: Value, done: mpsc::Sender<(String, Value)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut served = false;
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let done = done.clone();
            let event = event.clone();
            let first = !served;
            served = true;
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut gave = !first;
                while let Some(request) = read_request(&mut reader) {
                    if request.method == "GET" && request.path.ends_with("/invocation/next") {
                        if gave {
                            // No more work: hold the request until the test ends.
                            std::thread::sleep(Duration::from_secs(3600));
                            return;
                        }
                        gave = true;
                        let deadline = chrono::Utc::now().timestamp_millis() + 600_000;
                        let body = serde_json::to_vec(&event).unwrap();
                        respond(
                            &mut writer,
                            "200 OK",
                            &[
                                ("Lambda-Runtime-Aws-Request-Id", "req-1".into()),
                                ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                                (
                                    "Lambda-Runtime-Invoked-Function-Arn",
                                    "arn:aws:lambda:us-east-1:000000000000:function:csv-ingest"
                                        .into(),
                                ),
                                (
                                    "Lambda-Runtime-Trace-Id",
                                    "Root=1-00000000-000000000000000000000000".into(),
                                ),
                            ],
                            &body,
                        );
                    } else if request.method == "POST" {
                        respond(&mut writer, "202 Accepted", &[], b"{}");
                        let body: Value =
                            serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                        let _ = done.send((request.path, body));
                    } else {
                        respond(&mut writer, "404 Not Found", &[], b"{}");
                    }
                }
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_processes_an_s3_event_through_the_runtime_api() {
    let world = World::new().await;
    world.tenant("d1").await;
    let zip = world.zip_of(&world.district("district", 30));
    let event = world.put_file("inbound/d1/My Export.zip", &zip).await;
    let (tx, rx) = mpsc::channel();
    let api = runtime_api(event, tx);
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_csv-ingest"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "csv-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/csv-ingest")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb())
        .env("ROSTER_TABLE", &world.ingest.config.table)
        .env("INBOUND_BUCKET", &world.bucket)
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the csv-ingest binary starts");
    let posted = rx.recv_timeout(Duration::from_secs(120));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let (path, body) =
        posted.unwrap_or_else(|_| panic!("no response from the binary; logs:\n{logs}"));
    assert!(
        path.ends_with("/invocation/req-1/response"),
        "{path}: {body}\n{logs}"
    );
    assert_eq!(body[0]["outcome"], "applied", "{body}");
    assert_eq!(body[0]["key"], "inbound/d1/My Export.zip");
    assert!(world.keys("inbound/").await.is_empty());

    // Logs: JSON lines, one EMF metrics line, ids and counts but no names or emails.
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "RosterBridge"),
        "EMF line missing:\n{logs}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "run finished" && l["tenant"] == "d1"),
        "summary line missing:\n{logs}"
    );
    let users = std::fs::read_to_string(world.dir.path().join("district/users.csv")).unwrap();
    let a_user: Vec<String> = csv::ReaderBuilder::new()
        .from_reader(users.as_bytes())
        .records()
        .nth(5)
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    for personal in [&a_user[8], &a_user[9], &a_user[12]] {
        assert!(
            !personal.is_empty() && !logs.contains(personal.as_str()),
            "`{personal}` appears in the logs"
        );
    }
}
