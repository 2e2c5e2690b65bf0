//! A fault-injecting HTTP proxy in front of moto, for S3 and Secrets Manager:
//! requests are forwarded to moto unless a rule matches them, in which case
//! the proxy answers with an error of the service (`503 SlowDown`, `500
//! InternalError`, `403 AccessDenied`, `404 NoSuchKey`,
//! `ResourceNotFoundException`, ...), closes the connection without an answer
//! (a reset), or forwards after a delay. Each rule matches an operation and a
//! piece of the request's target (the decoded path, the copy source, or the
//! JSON body), and fires a given number of times or always.
//!
//! Point a client at [`MotoFaults::endpoint`] ([`MotoFaults::s3_client`],
//! [`MotoFaults::secrets_client`], or `AWS_ENDPOINT_URL_S3` /
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER` for a function binary); what the proxy
//! saw ([`MotoFaults::requests`], [`MotoFaults::injected`]) counts the
//! clients' retries.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The operations a rule can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// S3 `GET /bucket/key`.
    GetObject,
    /// S3 `HEAD /bucket/key`.
    HeadObject,
    /// S3 `PUT /bucket/key` without a copy source.
    PutObject,
    /// S3 `PUT /bucket/key` with `x-amz-copy-source`.
    CopyObject,
    /// S3 `DELETE /bucket/key`.
    DeleteObject,
    /// S3 `GET /bucket?list-type=2`.
    ListObjects,
    /// Secrets Manager `GetSecretValue`.
    GetSecretValue,
    /// Anything else (bucket operations, tagging, other services' actions).
    Other,
}

impl Op {
    fn of(method: &Method, path: &str, query: &str, headers: &HeaderMap) -> Op {
        if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
            return match target.rsplit('.').next() {
                Some("GetSecretValue") => Op::GetSecretValue,
                _ => Op::Other,
            };
        }
        let object = path.trim_start_matches('/').contains('/');
        let sub = query
            .split('&')
            .any(|p| matches!(p.split('=').next(), Some("tagging" | "acl" | "uploads")));
        match (method.as_str(), object && !sub) {
            ("GET", true) => Op::GetObject,
            ("HEAD", true) => Op::HeadObject,
            ("PUT", true) if headers.contains_key("x-amz-copy-source") => Op::CopyObject,
            ("PUT", true) => Op::PutObject,
            ("DELETE", true) => Op::DeleteObject,
            ("GET", false) if query.contains("list-type=2") => Op::ListObjects,
            _ => Op::Other,
        }
    }
}

/// What the proxy does to a matched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// An error answer of the service: its status and error code.
    Error {
        /// HTTP status.
        status: u16,
        /// The service's error code (`SlowDown`, `AccessDenied`, ...).
        code: String,
    },
    /// The connection closed without an answer.
    Reset,
    /// Forwarded after a delay.
    Delay(Duration),
}

impl Fault {
    /// An error answer with `status` and `code`.
    pub fn error(status: u16, code: &str) -> Fault {
        Fault::Error {
            status,
            code: code.to_string(),
        }
    }
    /// S3 throttling: `503 SlowDown`.
    pub fn slow_down() -> Fault {
        Fault::error(503, "SlowDown")
    }
    /// S3's transient fault: `500 InternalError`.
    pub fn internal_error() -> Fault {
        Fault::error(500, "InternalError")
    }
    /// Secrets Manager throttling: `400 ThrottlingException`.
    pub fn throttling() -> Fault {
        Fault::error(400, "ThrottlingException")
    }
    /// S3's refusal: `403 AccessDenied`.
    pub fn access_denied() -> Fault {
        Fault::error(403, "AccessDenied")
    }
    /// S3: `404 NoSuchKey`.
    pub fn no_such_key() -> Fault {
        Fault::error(404, "NoSuchKey")
    }
    /// Secrets Manager: `400 ResourceNotFoundException`.
    pub fn resource_not_found() -> Fault {
        Fault::error(400, "ResourceNotFoundException")
    }
}

struct Rule {
    op: Op,
    target: String,
    fault: Fault,
    /// Times left to fire; `None`: always.
    left: Option<u32>,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Its operation.
    pub op: Op,
    /// Its target: the decoded path, the copy source, the body of a JSON request.
    pub target: String,
    /// The fault injected, if any (`None`: forwarded as it was).
    pub fault: Option<Fault>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

impl State {
    /// The fault for a request, if a rule matches (and uses one of its times).
    fn fault_for(&mut self, op: Op, target: &str) -> Option<Fault> {
        let rule = self.rules.iter_mut().find(|r| {
            r.op == op && target.contains(r.target.as_str()) && r.left.is_none_or(|n| n > 0)
        })?;
        if let Some(n) = rule.left.as_mut() {
            *n -= 1;
        }
        Some(rule.fault.clone())
    }
}

/// The proxy: running until the test process ends.
pub struct MotoFaults {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl MotoFaults {
    /// Starts a proxy in front of moto (`ROSTER_MOTO_ENDPOINT`), on its own
    /// thread and runtime (usable from async and sync tests alike).
    pub fn start() -> MotoFaults {
        let upstream = crate::moto();
        let state = Arc::new(Mutex::new(State::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(serve(listener, upstream, shared));
        });
        MotoFaults { endpoint, state }
    }

    /// Injects `fault` into the next `times` requests of `op` whose target
    /// contains `target` (`""`: any).
    pub fn inject(&self, op: Op, target: &str, fault: Fault, times: u32) {
        self.add(op, target, fault, Some(times));
    }

    /// Injects `fault` into every request of `op` whose target contains `target`.
    pub fn always(&self, op: Op, target: &str, fault: Fault) {
        self.add(op, target, fault, None);
    }

    fn add(&self, op: Op, target: &str, fault: Fault, left: Option<u32>) {
        self.state.lock().unwrap().rules.push(Rule {
            op,
            target: target.to_string(),
            fault,
            left,
        });
    }

    /// Removes every rule: from now on everything is forwarded.
    pub fn heal(&self) {
        self.state.lock().unwrap().rules.clear();
    }

    /// Every request seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How many requests of `op` whose target contains `target` were seen.
    pub fn requests(&self, op: Op, target: &str) -> usize {
        self.count(op, target, |_| true)
    }

    /// How many of those got a fault.
    pub fn injected(&self, op: Op, target: &str) -> usize {
        self.count(op, target, |s| s.fault.is_some())
    }

    fn count(&self, op: Op, target: &str, keep: impl Fn(&Seen) -> bool) -> usize {
        let state = self.state.lock().unwrap();
        state
            .seen
            .iter()
            .filter(|s| s.op == op && s.target.contains(target) && keep(s))
            .count()
    }

    /// S3 through the proxy (path-style addressing).
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&crate::moto_config())
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Secrets Manager through the proxy.
    pub fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::config::Builder::from(&crate::moto_config())
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }
}

async fn serve(listener: std::net::TcpListener, upstream: String, state: Arc<Mutex<State>>) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (client, upstream, state) = (client.clone(), upstream.clone(), state.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                handle(request, client.clone(), upstream.clone(), state.clone())
            });
            // An error here is the connection ending, on purpose (a reset) or not.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Why the proxy closed a connection without an answer.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by the fault proxy")
    }
}

impl std::error::Error for Reset {}

type Answer = Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>>;

async fn handle(
    request: Request<Incoming>,
    client: reqwest::Client,
    upstream: String,
    state: Arc<Mutex<State>>,
) -> Answer {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let op = Op::of(&parts.method, &path, &query, &parts.headers);
    let target = target_of(&path, &parts.headers, &body);
    let fault = {
        let mut state = state.lock().unwrap();
        let fault = state.fault_for(op, &target);
        state.seen.push(Seen {
            op,
            target: target.clone(),
            fault: fault.clone(),
        });
        fault
    };
    match fault {
        Some(Fault::Reset) => return Err(Box::new(Reset)),
        Some(Fault::Error { status, code }) => {
            let json = parts.headers.contains_key("x-amz-target");
            return Ok(error_answer(&parts.method, status, &code, json));
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    forward(&client, &upstream, parts, body).await
}

/// What a rule's target is matched against: the percent-decoded path, then
/// the copy source (decoded), then the body of a JSON request (the secret id).
fn target_of(path: &str, headers: &HeaderMap, body: &Bytes) -> String {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .to_string()
    };
    let mut target = decode(path);
    if let Some(source) = headers
        .get("x-amz-copy-source")
        .and_then(|v| v.to_str().ok())
    {
        target.push_str(" from ");
        target.push_str(&decode(source));
    }
    if headers.contains_key("x-amz-target") {
        target.push(' ');
        target.push_str(&String::from_utf8_lossy(body));
    }
    target
}

/// A service's error answer: S3's XML, or Secrets Manager's JSON (`__type`).
fn error_answer(method: &Method, status: u16, code: &str, json: bool) -> Response<Full<Bytes>> {
    let message = format!("{code} injected by the fault proxy");
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.1",
            serde_json::json!({"__type": code, "message": message}).to_string(),
        )
    } else {
        (
            "application/xml",
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"),
        )
    };
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", content_type)
        .header("x-amzn-errortype", code)
        .header("x-amz-request-id", "fault-proxy")
        .body(Full::new(body))
        .unwrap()
}

/// Sends the request on to moto and its answer back, headers and body as they were.
async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Answer {
    let url = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut outgoing = client.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection"
        ) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        let keep = match name.as_str() {
            "transfer-encoding" | "connection" => false,
            // Full sets the length of a body; a HEAD answer keeps moto's.
            "content-length" => parts.method == Method::HEAD,
            _ => true,
        };
        if keep {
            response = response.header(name, value);
        }
    }
    let body = answer.bytes().await?;
    Ok(response.body(Full::new(body))?)
}
