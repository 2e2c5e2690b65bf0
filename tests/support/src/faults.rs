//! A fault-injecting proxy between a DynamoDB client and DynamoDB Local, on
//! loopback: it forwards each JSON request to the emulator and, by a seeded
//! schedule ([`FaultPlan`]), answers some of them as DynamoDB does when it is
//! overloaded or failing:
//!
//! - **throttled**: HTTP 400 with a `ProvisionedThroughputExceededException`
//!   or `ThrottlingException` body, the request not forwarded;
//! - **server error**: HTTP 500 `InternalServerError`, not forwarded;
//! - **half unprocessed**: of a `BatchWriteItem` of two items or more, only
//!   the second half is forwarded and the first half is returned as
//!   `UnprocessedItems` (with whatever the emulator left unprocessed);
//! - **lost answer**: the request is forwarded and applied, then the
//!   connection is closed without an answer, so the client sends an applied
//!   write again;
//! - **latency**: every request waits a random time up to a bound first.
//!
//! A fault hits at most [`FaultPlan::faults_per_request`] attempts of one SDK
//! operation (the `amz-sdk-invocation-id` header its retries share), so
//! faults are transient as DynamoDB's are: a client that retries gets through.
//! [`FaultProxy::injected`] counts what was done.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use roster_dynamodb::DynamoStore;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the requests: each request draws one fault (or
/// none) with these probabilities, from a generator seeded with `seed`.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Seed of the schedule.
    pub seed: u64,
    /// Share of requests answered 400, throttled.
    pub throttle: f64,
    /// Share answered 500, `InternalServerError`.
    pub server_error: f64,
    /// Share of `BatchWriteItem` requests of two items or more whose first
    /// half is returned unprocessed.
    pub half_unprocessed: f64,
    /// Share forwarded, applied, and left unanswered (connection closed).
    pub lost_answer: f64,
    /// Each request waits a uniformly random time up to this first.
    pub max_latency: Duration,
    /// At most this many faulted attempts per SDK operation.
    pub faults_per_request: u32,
}

impl FaultPlan {
    /// No faults, no latency: a plain forwarder.
    pub fn none() -> FaultPlan {
        FaultPlan {
            seed: 0,
            throttle: 0.0,
            server_error: 0.0,
            half_unprocessed: 0.0,
            lost_answer: 0.0,
            max_latency: Duration::ZERO,
            faults_per_request: 1,
        }
    }

    /// Every kind of fault, each at `rate` of the requests, and up to
    /// `max_latency` added to each.
    pub fn mixed(seed: u64, rate: f64, max_latency: Duration) -> FaultPlan {
        FaultPlan {
            seed,
            throttle: rate,
            server_error: rate,
            half_unprocessed: rate,
            lost_answer: rate,
            max_latency,
            faults_per_request: 1,
        }
    }
}

/// What the proxy has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    /// Requests received.
    pub requests: u64,
    /// Answered 400, throttled.
    pub throttled: u64,
    /// Answered 500.
    pub server_errors: u64,
    /// Batches half forwarded, half returned unprocessed.
    pub half_unprocessed: u64,
    /// Forwarded and left unanswered.
    pub lost_answers: u64,
}

impl Injected {
    /// Faults of every kind: each one makes a correct client send a request
    /// again (an SDK retry, or the store's re-send of unprocessed items).
    pub fn faults(&self) -> u64 {
        self.throttled + self.server_errors + self.half_unprocessed + self.lost_answers
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Throttle,
    ServerError,
    HalfUnprocessed,
    LostAnswer,
}

struct State {
    upstream: String,
    http: reqwest::Client,
    plan: FaultPlan,
    rng: Mutex<StdRng>,
    /// Faulted attempts per SDK invocation id.
    faulted: Mutex<HashMap<String, u32>>,
    injected: Mutex<Injected>,
}

/// The running proxy; stops when dropped.
pub struct FaultProxy {
    endpoint: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (DynamoDB Local's endpoint) on a free
    /// loopback port.
    pub async fn start(upstream: &str, plan: FaultPlan) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port for the fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("an HTTP client"),
            rng: Mutex::new(StdRng::seed_from_u64(plan.seed)),
            plan,
            faulted: Mutex::default(),
            injected: Mutex::default(),
        });
        let serving = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, serving.clone()));
            }
        });
        FaultProxy {
            endpoint,
            state,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, for the client's endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// What was done so far.
    pub fn injected(&self) -> Injected {
        *self.state.injected.lock().unwrap()
    }
}

struct Request {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The DynamoDB operation (`BatchWriteItem`), from `X-Amz-Target`.
    fn operation(&self) -> &str {
        self.header("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
            .map_or("", |(_, op)| op)
    }
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// One client connection: requests in turn (keep-alive) until the client
/// closes it, or a lost answer closes it.
async fn serve(conn: TcpStream, state: Arc<State>) {
    let (read, mut write) = conn.into_split();
    let mut read = BufReader::new(read);
    while let Some(request) = read_request(&mut read).await {
        let Some(response) = state.answer(request).await else {
            return; // dropped: the answer is lost
        };
        if write_response(&mut write, &response).await.is_err() {
            return;
        }
    }
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(read: &mut R) -> Option<Request> {
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        read.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    read.read_exact(&mut body).await.ok()?;
    Some(Request {
        path,
        headers,
        body,
    })
}

async fn write_response<W: tokio::io::AsyncWrite + Unpin>(
    write: &mut W,
    response: &Response,
) -> std::io::Result<()> {
    let reason = reqwest::StatusCode::from_u16(response.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", response.status);
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
    write.write_all(head.as_bytes()).await?;
    write.write_all(&response.body).await?;
    write.flush().await
}

/// An error answer as DynamoDB sends it (JSON 1.0 protocol).
fn error_response(status: u16, error_type: &str, message: &str) -> Response {
    Response {
        status,
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.0".into()),
            (
                "x-amzn-requestid".into(),
                format!("fault-{:016x}", rand::random::<u64>()),
            ),
        ],
        body: json!({"__type": error_type, "message": message})
            .to_string()
            .into_bytes(),
    }
}

/// The write requests of a `BatchWriteItem` body: `(table, requests)`.
fn batch_of(body: &Value) -> Option<(String, Vec<Value>)> {
    let (table, requests) = body.get("RequestItems")?.as_object()?.iter().next()?;
    Some((table.clone(), requests.as_array()?.clone()))
}

impl State {
    /// Draws the fault for `request` (at most `faults_per_request` per SDK
    /// operation; a half only for a batch of two items or more).
    fn draw(&self, request: &Request) -> Option<Fault> {
        let plan = &self.plan;
        let roll: f64 = self.rng.lock().unwrap().gen();
        let mut bound = 0.0;
        let fault = [
            (plan.throttle, Fault::Throttle),
            (plan.server_error, Fault::ServerError),
            (plan.half_unprocessed, Fault::HalfUnprocessed),
            (plan.lost_answer, Fault::LostAnswer),
        ]
        .into_iter()
        .find_map(|(rate, fault)| {
            bound += rate;
            (roll < bound).then_some(fault)
        })?;
        if fault == Fault::HalfUnprocessed {
            let body: Value = serde_json::from_slice(&request.body).ok()?;
            let halvable = request.operation() == "BatchWriteItem"
                && batch_of(&body).is_some_and(|(_, r)| r.len() >= 2);
            if !halvable {
                return None;
            }
        }
        let invocation = request
            .header("amz-sdk-invocation-id")
            .unwrap_or("")
            .to_string();
        let mut faulted = self.faulted.lock().unwrap();
        let count = faulted.entry(invocation).or_default();
        if *count >= plan.faults_per_request {
            return None;
        }
        *count += 1;
        Some(fault)
    }

    fn count(&self, update: impl FnOnce(&mut Injected)) {
        update(&mut self.injected.lock().unwrap());
    }

    async fn answer(&self, request: Request) -> Option<Response> {
        self.count(|i| i.requests += 1);
        if !self.plan.max_latency.is_zero() {
            let max = self.plan.max_latency.as_micros() as u64;
            let wait = self.rng.lock().unwrap().gen_range(0..=max);
            tokio::time::sleep(Duration::from_micros(wait)).await;
        }
        match self.draw(&request) {
            None => Some(self.forward(&request, None).await),
            Some(Fault::Throttle) => {
                let mut throttled = 0;
                self.count(|i| {
                    i.throttled += 1;
                    throttled = i.throttled;
                });
                Some(if throttled % 2 == 1 {
                    error_response(
                        400,
                        "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
                    )
                } else {
                    error_response(
                        400,
                        "com.amazon.coral.availability#ThrottlingException",
                        "Rate of requests exceeds the allowed throughput.",
                    )
                })
            }
            Some(Fault::ServerError) => {
                self.count(|i| i.server_errors += 1);
                Some(error_response(
                    500,
                    "com.amazonaws.dynamodb.v20120810#InternalServerError",
                    "Internal server error",
                ))
            }
            Some(Fault::LostAnswer) => {
                self.forward(&request, None).await;
                self.count(|i| i.lost_answers += 1);
                None
            }
            Some(Fault::HalfUnprocessed) => {
                self.count(|i| i.half_unprocessed += 1);
                Some(self.half_unprocessed(&request).await)
            }
        }
    }

    /// Forwards the second half of a batch; the first half comes back as
    /// `UnprocessedItems`, with what the emulator left unprocessed.
    async fn half_unprocessed(&self, request: &Request) -> Response {
        let mut body: Value = serde_json::from_slice(&request.body).expect("checked by draw");
        let (table, mut requests) = batch_of(&body).expect("checked by draw");
        let sent = requests.split_off(requests.len() / 2);
        body["RequestItems"] = json!({ table.clone(): sent });
        let mut response = self
            .forward(request, Some(body.to_string().into_bytes()))
            .await;
        if response.status != 200 {
            return response;
        }
        let mut answer: Value = match serde_json::from_slice(&response.body) {
            Ok(answer) => answer,
            Err(_) => return response,
        };
        if let Some(left) = answer
            .pointer(&format!("/UnprocessedItems/{table}"))
            .and_then(Value::as_array)
        {
            requests.extend(left.iter().cloned());
        }
        answer["UnprocessedItems"] = json!({ table: requests });
        response.body = answer.to_string().into_bytes();
        // The emulator's checksum was of the body it sent.
        response
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-crc32"));
        response
    }

    /// Sends `request` (with `body` instead of its own, if given) to the
    /// emulator and returns its answer; a failure to reach it is a 500.
    async fn forward(&self, request: &Request, body: Option<Vec<u8>>) -> Response {
        let mut upstream = self
            .http
            .post(format!("{}{}", self.upstream, request.path))
            .body(body.unwrap_or_else(|| request.body.clone()));
        for (name, value) in &request.headers {
            if !["host", "content-length", "connection", "transfer-encoding"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h))
            {
                upstream = upstream.header(name, value);
            }
        }
        let answer = match upstream.send().await {
            Ok(answer) => answer,
            Err(e) => {
                return error_response(500, "InternalServerError", &format!("proxy: {e}"));
            }
        };
        let status = answer.status().as_u16();
        let headers = answer
            .headers()
            .iter()
            .filter(|(n, _)| {
                !["content-length", "connection", "transfer-encoding"]
                    .iter()
                    .any(|h| n.as_str().eq_ignore_ascii_case(h))
            })
            .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_string())))
            .collect();
        let body = answer.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
        Response {
            status,
            headers,
            body,
        }
    }
}

/// A DynamoDB client for `endpoint` with the SDK's standard retry strategy
/// at its default 3 attempts, whose first backoff is at most
/// `initial_backoff` (the SDK's default is 1 s; tests use less).
pub fn dynamodb_client(endpoint: &str, initial_backoff: Duration) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{retry::RetryConfig, BehaviorVersion, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(super::credentials())
        .retry_config(RetryConfig::standard().with_initial_backoff(initial_backoff))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A store on a fresh table of DynamoDB Local (made directly, without
/// faults) whose requests go through `proxy`.
pub async fn dynamo_store_through(proxy: &FaultProxy, prefix: &str) -> DynamoStore {
    let table = super::unique(prefix);
    DynamoStore::new(super::dynamodb_client(&super::dynamodb()), table.clone())
        .ensure_table()
        .await
        .expect("table created on DynamoDB Local");
    DynamoStore::new(
        dynamodb_client(proxy.endpoint(), Duration::from_millis(20)),
        table,
    )
}
