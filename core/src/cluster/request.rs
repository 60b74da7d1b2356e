//! Request helpers shared by every client: retrying within a deadline, timeouts of requests,
//! broker error messages, and running requests to several brokers at once.

use std::future::Future;
use std::time::{Duration, Instant};

use super::Cluster;
use crate::error::{Error, Result};

/// Runs `attempt` (given the deadline) until it succeeds, fails with an error `should_retry`
/// refuses, or `deadline` passes; sleeps `retry.backoff.ms` (doubling up to
/// `retry.backoff.max.ms`) between attempts.
pub(crate) async fn retry_until<T, F, Fut>(
    cluster: &Cluster,
    deadline: Instant,
    what: &str,
    should_retry: impl Fn(&Error) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(Instant) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let start = Instant::now();
    let mut backoff = cluster.config().retry_backoff;
    let backoff_max = cluster.config().retry_backoff_max.max(backoff);
    let mut last: Option<Error> = None;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(gave_up(what, last, start.elapsed()));
        }
        match tokio::time::timeout(remaining, attempt(deadline)).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) if should_retry(&e) => {
                tracing::debug!(error = %e, "{what}: retrying");
                last = Some(e);
            }
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(gave_up(what, last, start.elapsed())),
        }
        if Instant::now() + backoff >= deadline {
            return Err(gave_up(what, last, start.elapsed()));
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(backoff_max);
    }
}

fn gave_up(what: &str, last: Option<Error>, elapsed: Duration) -> Error {
    match last {
        Some(e) => e.context(format!("{what}: gave up after {} ms", elapsed.as_millis())),
        None => Error::timeout(format!("{what} timed out after {} ms", elapsed.as_millis())),
    }
}

/// `context`, followed by the broker's own message when it sent one.
pub(crate) fn with_broker_message(context: impl std::fmt::Display, message: &Option<kafka_protocol::protocol::StrBytes>) -> String {
    match message.as_deref() {
        Some(m) if !m.is_empty() => format!("{context}: {m}"),
        _ => context.to_string(),
    }
}

/// Milliseconds left until `deadline`, as the `timeout_ms` of a request (at least 1).
pub(crate) fn ms_until(deadline: Instant) -> i32 {
    deadline.saturating_duration_since(Instant::now()).as_millis().clamp(1, i32::MAX as u128) as i32
}

/// Runs futures concurrently and collects their outputs in order.
pub(crate) async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    // Sequential awaiting of pinned futures would serialise them; poll them together instead.
    let mut slots: Vec<Option<F::Output>> = (0..handles.len()).map(|_| None).collect();
    let mut handles: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, h) in handles.iter_mut().enumerate() {
            if let Some(fut) = h {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        slots[i] = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.extend(slots.into_iter().map(|s| s.expect("every future completed")));
    outputs
}
