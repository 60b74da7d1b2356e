//! Delivery reports waiting for the application's thread.
//!
//! The core completes a record on a runtime thread; the binding's completion only pushes a
//! [`Report`] here (no GIL, no Python object). `poll`/`flush` take the reports on the caller's
//! thread and run the callbacks there, as confluent-kafka does. For asyncio a wake-up byte is
//! written to a pipe the event loop watches, once per burst of reports.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use polykafka::RecordMetadata;
use pyo3::prelude::*;

use crate::message::Payload;

pub struct Report {
    /// The delivery callback (or, for asyncio, the future to complete).
    pub callback: Py<PyAny>,
    /// The record's topic, one allocation shared by the records of a topic (a delivered
    /// record's message names the topic of the broker's answer).
    pub topic: Arc<str>,
    pub partition: i32,
    /// The key and value as the delivery report gives them back: the application's own `bytes`
    /// objects when it passed `bytes` (no copy), else the bytes queued.
    pub key: Payload,
    pub value: Payload,
    pub result: polykafka::Result<RecordMetadata>,
    /// Seconds from produce() to the outcome.
    pub latency: f64,
}

/// Turns the outcome of a call into its Python result (or exception), with the GIL held.
pub type Conv = Box<dyn FnOnce(Python<'_>) -> PyResult<PyObject> + Send>;

/// A call that completed on the runtime (an asyncio `flush`, `close`, `commit`, ...): its
/// future and its outcome.
pub type Done = (Py<PyAny>, Conv);

/// The finished calls as `(future, result, exception or None)`.
pub fn take_done_py(py: Python<'_>, queue: &ReportQueue) -> Vec<(PyObject, PyObject, PyObject)> {
    queue
        .take_done()
        .into_iter()
        .map(|(fut, conv)| match conv(py) {
            Ok(v) => (fut, v, py.None()),
            Err(e) => (fut, py.None(), e.value(py).clone().into_any().unbind()),
        })
        .collect()
}

#[derive(Default)]
pub struct ReportQueue {
    items: Mutex<VecDeque<Report>>,
    done: Mutex<Vec<Done>>,
    ready: Condvar,
    /// Threads waiting on `ready` (changed under the `items` lock): a push notifies only when
    /// there is one, since a notify is a system call and the push happens once per record.
    waiters: AtomicUsize,
    wake_fd: AtomicI32,
    signalled: AtomicBool,
}

impl ReportQueue {
    pub fn new() -> Self {
        ReportQueue { wake_fd: AtomicI32::new(-1), waiters: AtomicUsize::new(0), ..Default::default() }
    }

    pub fn push(&self, report: Report) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        items.push_back(report);
        let waiting = self.waiters.load(Ordering::Relaxed) > 0;
        drop(items);
        if waiting {
            self.ready.notify_all();
        }
        self.wake();
    }

    pub fn push_done(&self, done: Done) {
        self.done.lock().unwrap_or_else(|p| p.into_inner()).push(done);
        self.wake();
    }

    pub fn take_done(&self) -> Vec<Done> {
        std::mem::take(&mut *self.done.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn wake(&self) {
        let fd = self.wake_fd.load(Ordering::Acquire);
        if fd >= 0 && !self.signalled.swap(true, Ordering::AcqRel) {
            // SAFETY: writing one byte from a valid buffer; a failed write (full pipe) is fine,
            // the reader is already due to run.
            unsafe {
                libc::write(fd, b"!".as_ptr().cast(), 1);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn take(&self) -> VecDeque<Report> {
        std::mem::take(&mut *self.items.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Puts reports that were not served back at the front, in order.
    pub fn put_back(&self, mut rest: VecDeque<Report>) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        rest.extend(items.drain(..));
        *items = rest;
    }

    /// Waits (without the GIL: call inside `allow_threads`) until a report is queued or
    /// `timeout` passed. True when reports are waiting.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        self.waiters.fetch_add(1, Ordering::Relaxed);
        while items.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.waiters.fetch_sub(1, Ordering::Relaxed);
                return false;
            }
            items = self.ready.wait_timeout(items, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Reports wake the event loop through this file descriptor (the write end of a pipe).
    pub fn set_wake_fd(&self, fd: i32) {
        self.wake_fd.store(fd, Ordering::Release);
    }

    /// The loop read the wake-up byte(s): the next report writes again.
    pub fn rearm(&self) {
        self.signalled.store(false, Ordering::Release);
    }
}
