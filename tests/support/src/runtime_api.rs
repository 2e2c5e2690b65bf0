//! A Lambda Runtime API emulator, so that tests run a function's real
//! binary (its `main`, environment configuration and logging) the way Lambda
//! does: the binary polls `GET /2018-06-01/runtime/invocation/next`, gets an
//! event, and posts `.../response` or `.../error`.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the function posted for one invocation.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The request id of the invocation.
    pub request_id: String,
    /// `true` for `/response`, `false` for `/error` (or an init error).
    pub ok: bool,
    /// The posted JSON.
    pub body: Value,
}

/// The emulator: queue events with [`RuntimeApi::invoke`].
pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: Sender<(String, Value)>,
    posted: Receiver<Posted>,
    counter: Mutex<u64>,
    first_poll: Arc<Mutex<Option<Instant>>>,
}

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

fn serve(
    stream: TcpStream,
    function: &str,
    events: &Arc<Mutex<Receiver<(String, Value)>>>,
    posted: &Sender<Posted>,
    first_poll: &Mutex<Option<Instant>>,
) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        if request.method == "GET" && request.path.ends_with("/invocation/next") {
            first_poll.lock().unwrap().get_or_insert_with(Instant::now);
            // Wait for the next queued event (the function idles meanwhile).
            let next = events.lock().unwrap().recv();
            let Ok((request_id, event)) = next else {
                return;
            };
            let deadline = chrono::Utc::now().timestamp_millis() + 600_000;
            let body = serde_json::to_vec(&event).unwrap();
            respond(
                &mut writer,
                "200 OK",
                &[
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        format!("arn:aws:lambda:us-east-1:000000000000:function:{function}"),
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
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            // .../invocation/{id}/response | .../invocation/{id}/error | .../init/error
            let segments: Vec<&str> = request.path.split('/').collect();
            let ok = request.path.ends_with("/response");
            let request_id = if request.path.contains("/invocation/") {
                segments[segments.len() - 2].to_string()
            } else {
                "init".to_string()
            };
            let _ = posted.send(Posted {
                request_id,
                ok,
                body,
            });
        } else {
            respond(&mut writer, "404 Not Found", &[], b"{}");
        }
    }
}

impl RuntimeApi {
    /// Starts the emulator for a function named `function`.
    pub fn start(function: &str) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events_tx, events_rx) = mpsc::channel::<(String, Value)>();
        let (posted_tx, posted_rx) = mpsc::channel();
        let events = Arc::new(Mutex::new(events_rx));
        let function = function.to_string();
        let first_poll = Arc::new(Mutex::new(None));
        let polled = first_poll.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let events = events.clone();
                let posted = posted_tx.clone();
                let function = function.clone();
                let polled = polled.clone();
                std::thread::spawn(move || serve(stream, &function, &events, &posted, &polled));
            }
        });
        RuntimeApi {
            address,
            events: events_tx,
            posted: posted_rx,
            counter: Mutex::new(0),
            first_poll,
        }
    }

    /// When the function first asked for an invocation (its init was done), if it has.
    pub fn first_poll(&self) -> Option<Instant> {
        *self.first_poll.lock().unwrap()
    }

    /// Queues `event` and waits (up to `timeout`) for what the function posts.
    pub fn invoke(&self, event: Value, timeout: Duration) -> Result<Posted, String> {
        let id = {
            let mut n = self.counter.lock().unwrap();
            *n += 1;
            format!("req-{n}")
        };
        self.events
            .send((id.clone(), event))
            .map_err(|_| "the emulator stopped".to_string())?;
        loop {
            let posted = self
                .posted
                .recv_timeout(timeout)
                .map_err(|_| format!("no answer to {id} within {timeout:?}"))?;
            if posted.request_id == id || posted.request_id == "init" {
                return Ok(posted);
            }
        }
    }
}
