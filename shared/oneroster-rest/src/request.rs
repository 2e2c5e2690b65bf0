//! One page's request and how its answer is read: the page, a final error,
//! or a fault worth another attempt. Error answers are read (a bounded body)
//! for a OneRoster status payload, whose code minor and description go into
//! the error's message ([`crate::status`]).

use crate::address;
use crate::client::{body_up_to, ClientError, Page, MAX_PAGE_BYTES};
use crate::oauth1;
use crate::status::{StatusInfo, MAX_STATUS_BYTES};
use serde_json::Value;
use std::time::Duration;

/// Why one attempt at a page gave no page.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// No further attempt can help.
    Final(ClientError),
    /// Throttled (429), a server error (5xx) or a network fault: worth another
    /// attempt, after `retry_after` when the server said how long to wait.
    Transient {
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
        /// What the server's status payload said (`server_busy: …`).
        said: Option<String>,
    },
}

/// One page's request: its URL and query, and what errors call it.
pub(crate) struct PageRequest<'a> {
    pub(crate) collection: &'a str,
    pub(crate) offset: usize,
    /// The collection's URL, without the query (what OAuth 1.0a signs).
    pub(crate) url: String,
    pub(crate) query: Vec<(String, String)>,
    /// The base path the client speaks (for the 404 message).
    pub(crate) base_path: &'static str,
    /// Whether the request carries a `filter` (a delta pull).
    pub(crate) filtered: bool,
}

impl<'a> PageRequest<'a> {
    pub(crate) fn new(
        base: &str,
        base_path: &'static str,
        collection: &'a str,
        offset: usize,
        filter: Option<&str>,
        page_size: usize,
    ) -> Self {
        let mut query = vec![
            ("limit".to_string(), page_size.to_string()),
            ("offset".to_string(), offset.to_string()),
            ("sort".to_string(), "sourcedId".to_string()),
            ("orderBy".to_string(), "asc".to_string()),
        ];
        if let Some(f) = filter {
            query.push(("filter".to_string(), f.to_string()));
        }
        PageRequest {
            collection,
            offset,
            url: format!("{base}/{collection}"),
            query,
            base_path,
            filtered: filter.is_some(),
        }
    }

    pub(crate) fn full_url(&self) -> String {
        format!("{}?{}", self.url, oauth1::query_string(&self.query))
    }

    pub(crate) fn failed(&self, message: String) -> ClientError {
        ClientError::Request {
            collection: self.collection.into(),
            offset: self.offset,
            message,
        }
    }

    fn unreadable(&self, message: String) -> ClientError {
        ClientError::Decode {
            collection: self.collection.into(),
            offset: self.offset,
            message,
        }
    }

    pub(crate) fn out_of_time(&self) -> ClientError {
        ClientError::Budget {
            collection: self.collection.into(),
        }
    }

    /// A request that got no response: retried when the fault may pass.
    pub(crate) fn fault(&self, error: reqwest::Error) -> AttemptError {
        match address::refusal_in(&error) {
            // Refused by the address policy: retrying cannot help.
            Some(refused) => AttemptError::Final(self.failed(refused)),
            None if error.is_timeout()
                || error.is_connect()
                || error.is_request()
                || error.is_body() =>
            {
                AttemptError::Transient {
                    retry_after: None,
                    said: None,
                }
            }
            None => AttemptError::Final(self.failed(error.without_url().to_string())),
        }
    }

    /// A response by its status: the page, a final error, or a retry.
    pub(crate) async fn answer(&self, response: reqwest::Response) -> Result<Page, AttemptError> {
        let status = response.status().as_u16();
        if status == 200 {
            return self.decode(response).await.map_err(AttemptError::Final);
        }
        let retry_after = header_number(&response, "Retry-After").map(Duration::from_secs);
        let said = match body_up_to(response, MAX_STATUS_BYTES).await {
            Ok(body) => StatusInfo::parse(&body),
            Err(_) => None,
        };
        let detail = said.as_ref().map(StatusInfo::summary);
        Err(match status {
            401 | 403 => AttemptError::Final(ClientError::CredentialsRejected {
                status,
                collection: self.collection.into(),
                detail,
            }),
            404 => AttemptError::Final(ClientError::NotFound {
                collection: self.collection.into(),
                offset: self.offset,
                base_path: self.base_path,
                detail,
            }),
            429 | 500.. => AttemptError::Transient {
                retry_after,
                said: detail,
            },
            _ => AttemptError::Final(self.refused(status, said)),
        })
    }

    /// Another error status (400 and the like): what it says, and for a
    /// delta whose filter the server refuses, that it is the filter.
    fn refused(&self, status: u16, said: Option<StatusInfo>) -> ClientError {
        let Some(said) = said else {
            return self.failed(format!("HTTP {status}"));
        };
        let mut message = format!("HTTP {status}: {}", said.summary());
        if self.filtered && said.is("invalid_filter_field") {
            message.push_str(
                "; the server refuses the `dateLastModified` filter of a delta pull: \
                 run full pulls for this tenant (--full-every-days 0) or ask the district's \
                 vendor to support it",
            );
        }
        self.failed(message)
    }

    /// A 200 response's records and `X-Total-Count`.
    async fn decode(&self, response: reqwest::Response) -> Result<Page, ClientError> {
        let total = header_number(&response, "X-Total-Count").map(|n| n as usize);
        let bytes = body_up_to(response, MAX_PAGE_BYTES)
            .await
            .map_err(|message| self.unreadable(message))?;
        let body: Value =
            serde_json::from_slice(&bytes).map_err(|e| self.unreadable(e.to_string()))?;
        let Some(Value::Array(items)) = body.get(self.collection) else {
            let collection = self.collection;
            return Err(self.unreadable(format!("no `{collection}` array in the response")));
        };
        let records = items
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .collect();
        Ok(Page { records, total })
    }
}

/// A header's value as a whole number, when it is one.
fn header_number(response: &reqwest::Response, name: &str) -> Option<u64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
