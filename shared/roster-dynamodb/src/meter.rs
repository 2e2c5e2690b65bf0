//! What the store's requests consumed: every request asks for
//! `ReturnConsumedCapacity: TOTAL`, and the requests and the read and write
//! units are counted for the engine to put on each run record, with the
//! requests sent again: the SDK's own retries (seen by [`RetryCounter`], an
//! interceptor on the store's client) and the store's re-sends.

use super::*;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::{
    batch_get_item::{builders::BatchGetItemFluentBuilder, BatchGetItemError, BatchGetItemOutput},
    batch_write_item::{
        builders::BatchWriteItemFluentBuilder, BatchWriteItemError, BatchWriteItemOutput,
    },
    delete_item::{builders::DeleteItemFluentBuilder, DeleteItemError, DeleteItemOutput},
    get_item::{builders::GetItemFluentBuilder, GetItemError, GetItemOutput},
    put_item::{builders::PutItemFluentBuilder, PutItemError, PutItemOutput},
    query::{builders::QueryFluentBuilder, QueryError, QueryOutput},
    transact_write_items::{
        builders::TransactWriteItemsFluentBuilder, TransactWriteItemsError,
        TransactWriteItemsOutput,
    },
    update_item::{builders::UpdateItemFluentBuilder, UpdateItemError, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Requests and capacity units since the store was made (units kept in
/// thousandths: DynamoDB reports halves for eventually consistent reads).
#[derive(Debug, Default)]
pub struct Meter {
    requests: AtomicU64,
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    retries: AtomicU64,
}

impl Meter {
    fn add(&self, units: f64, write: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let milli = (units * 1000.0).round() as u64;
        if write {
            self.write_milli.fetch_add(milli, Ordering::Relaxed);
        } else {
            self.read_milli.fetch_add(milli, Ordering::Relaxed);
        }
    }

    /// Counts one request sent again.
    pub(super) fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn usage(&self) -> StoreUsage {
        StoreUsage {
            requests: self.requests.load(Ordering::Relaxed),
            read_units: self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

/// Counts the SDK's own retries in a [`Meter`]: every attempt of an
/// operation after its first (throttled, failed or unanswered requests that
/// the SDK's retry strategy sends again before the store sees an error).
#[derive(Debug)]
pub(super) struct RetryCounter(pub(super) Arc<Meter>);

impl Intercept for RetryCounter {
    fn name(&self) -> &'static str {
        "roster-dynamodb retry counter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<RequestAttempts>()
            .is_some_and(|a| a.attempts() > 1)
        {
            self.0.retried();
        }
        Ok(())
    }
}

fn units(consumed: Option<&ConsumedCapacity>) -> f64 {
    consumed
        .and_then(ConsumedCapacity::capacity_units)
        .unwrap_or(0.0)
}

/// A request sent with `ReturnConsumedCapacity: TOTAL`, counted in a [`Meter`].
pub(super) trait MeteredSend {
    /// The operation's output.
    type Output;
    /// The operation's error.
    type Error;
    /// Sends the request and counts it.
    fn metered(
        self,
        meter: &Meter,
    ) -> impl Future<Output = Result<Self::Output, SdkError<Self::Error, HttpResponse>>> + Send;
}

macro_rules! metered_send {
    ($builder:ty, $output:ty, $error:ty, $write:expr, $units:expr) => {
        impl MeteredSend for $builder {
            type Output = $output;
            type Error = $error;
            fn metered(
                self,
                meter: &Meter,
            ) -> impl Future<Output = Result<$output, SdkError<$error, HttpResponse>>> + Send {
                async move {
                    let result = self
                        .return_consumed_capacity(ReturnConsumedCapacity::Total)
                        .send()
                        .await;
                    let consumed: fn(&$output) -> f64 = $units;
                    meter.add(result.as_ref().map_or(0.0, consumed), $write);
                    result
                }
            }
        }
    };
}

metered_send!(
    GetItemFluentBuilder,
    GetItemOutput,
    GetItemError,
    false,
    |o| units(o.consumed_capacity())
);
metered_send!(QueryFluentBuilder, QueryOutput, QueryError, false, |o| {
    units(o.consumed_capacity())
});
metered_send!(
    PutItemFluentBuilder,
    PutItemOutput,
    PutItemError,
    true,
    |o| units(o.consumed_capacity())
);
metered_send!(
    UpdateItemFluentBuilder,
    UpdateItemOutput,
    UpdateItemError,
    true,
    |o| units(o.consumed_capacity())
);
metered_send!(
    DeleteItemFluentBuilder,
    DeleteItemOutput,
    DeleteItemError,
    true,
    |o| units(o.consumed_capacity())
);
metered_send!(
    BatchWriteItemFluentBuilder,
    BatchWriteItemOutput,
    BatchWriteItemError,
    true,
    |o| o.consumed_capacity().iter().map(|c| units(Some(c))).sum()
);
metered_send!(
    TransactWriteItemsFluentBuilder,
    TransactWriteItemsOutput,
    TransactWriteItemsError,
    true,
    |o| o.consumed_capacity().iter().map(|c| units(Some(c))).sum()
);
metered_send!(
    BatchGetItemFluentBuilder,
    BatchGetItemOutput,
    BatchGetItemError,
    false,
    |o| o.consumed_capacity().iter().map(|c| units(Some(c))).sum()
);
