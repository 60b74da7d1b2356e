//! The admin client's native half. `polykafka.admin.AdminClient` (Python) builds the request
//! objects and the `concurrent.futures.Future`s; each call here starts the operation on the
//! runtime and returns at once, and the task completes the futures when the brokers answered.

use std::sync::Arc;
use std::time::Duration;

use polykafka::admin::{Admin, AlterConfigOp, AlterConfigOpType, ConfigResource, ConfigResourceKind, NewTopic};
use polykafka::{AdminConfig, Error, TopicPartition};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tokio::runtime::Handle;

use crate::errors::{self, Context, IntoPy};
use crate::{config, runtime};

#[pyclass(module = "polykafka.admin", name = "_AdminClient", frozen)]
pub struct AdminClient {
    admin: Arc<Admin>,
    handle: Handle,
    pid: u32,
    logger: PyObject,
    /// `error_cb`, served by `poll` (see `client_errors.rs`).
    error_cb: Option<Arc<crate::client_errors::ErrorSink>>,
    /// Set by `close`: every call afterwards raises RuntimeError, as the Producer's and Consumer's.
    closed: std::sync::atomic::AtomicBool,
}

fn set_error(py: Python<'_>, fut: &Bound<'_, PyAny>, e: &Error) -> PyResult<()> {
    let err = errors::kafka_error(py, e, Context::Call)?;
    let exc = errors::exception_from(py, err);
    fut.call_method1("set_exception", (exc.value(py),))?;
    Ok(())
}

fn set_result<'py, T: IntoPyObject<'py>>(fut: &Bound<'py, PyAny>, value: T) -> PyResult<()> {
    fut.call_method1("set_result", (value,))?;
    Ok(())
}

/// A Python exception while completing futures can only be reported.
fn report(py: Python<'_>, r: PyResult<()>) {
    if let Err(e) = r {
        e.print(py);
    }
}

impl AdminClient {
    fn check(&self) -> PyResult<()> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(pyo3::exceptions::PyRuntimeError::new_err("AdminClient has been closed"));
        }
        runtime::check_pid(self.pid)
    }

    /// Runs `op` on the runtime; `done` gets its outcome with the GIL held.
    fn start<T, F, D>(&self, op: F, done: D)
    where
        T: Send + 'static,
        F: std::future::Future<Output = polykafka::Result<T>> + Send + 'static,
        D: FnOnce(Python<'_>, polykafka::Result<T>) -> PyResult<()> + Send + 'static,
    {
        self.handle.spawn(async move {
            let out = runtime::guarded(op).await;
            Python::with_gil(|py| report(py, done(py, out)));
        });
    }
}

fn timeout_of(t: Option<f64>, admin: &Admin) -> Duration {
    runtime::timeout_from(t).unwrap_or_else(|| admin.timeout())
}

fn resource_of(kind: i32, name: &str) -> PyResult<ConfigResource> {
    let kind = match kind {
        2 => ConfigResourceKind::Topic,
        4 => ConfigResourceKind::Broker,
        8 => ConfigResourceKind::BrokerLogger,
        k => return Err(pyo3::exceptions::PyValueError::new_err(format!("unsupported ConfigResource type {k}"))),
    };
    Ok(ConfigResource { kind, name: name.to_string() })
}

#[pymethods]
impl AdminClient {
    #[new]
    #[pyo3(signature = (config=None, /, **kwargs))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyAny>>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let conf = config::translate(py, config, kwargs, "admin")?;
        let mut cfg = AdminConfig::from_properties(conf.properties).py_err(py)?;
        if let Some(sink) = &conf.error_cb {
            sink.attach(&mut cfg.client);
        }
        let handle = runtime::handle()?;
        let admin = {
            let _guard = handle.enter();
            Admin::new(cfg).py_err(py)?
        };
        Ok(AdminClient {
            admin: Arc::new(admin),
            handle,
            pid: runtime::pid(),
            logger: conf.logger,
            error_cb: conf.error_cb,
            closed: Default::default(),
        })
    }

    /// `topics`: `(name, num_partitions, replication_factor, {config})`; `futures`: name -> Future.
    fn create_topics(&self, topics: Vec<(String, i32, i16, Vec<(String, String)>)>, validate_only: bool, futures: Py<PyDict>) -> PyResult<()> {
        self.check()?;
        let new: Vec<NewTopic> = topics
            .into_iter()
            .map(|(name, n, rf, configs)| NewTopic { configs, ..NewTopic::new(name, n, rf) })
            .collect();
        let admin = self.admin.clone();
        self.start(async move { admin.create_topics(&new, validate_only).await }, move |py, out| {
            let futures = futures.bind(py);
            match out {
                Ok(results) => {
                    for r in results {
                        if let Some(f) = futures.get_item(&r.name)? {
                            match &r.error {
                                None => set_result(&f, py.None())?,
                                Some(e) => set_error(py, &f, e)?,
                            }
                        }
                    }
                }
                Err(e) => {
                    for (_, f) in futures.iter() {
                        set_error(py, &f, &e)?;
                    }
                }
            }
            Ok(())
        });
        Ok(())
    }

    fn delete_topics(&self, topics: Vec<String>, futures: Py<PyDict>) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        self.start(
            async move {
                let names: Vec<&str> = topics.iter().map(String::as_str).collect();
                admin.delete_topics(&names).await
            },
            move |py, out| {
                let futures = futures.bind(py);
                match out {
                    Ok(results) => {
                        for r in results {
                            if let Some(f) = futures.get_item(&r.name)? {
                                match &r.error {
                                    None => set_result(&f, py.None())?,
                                    Some(e) => set_error(py, &f, e)?,
                                }
                            }
                        }
                    }
                    Err(e) => {
                        for (_, f) in futures.iter() {
                            set_error(py, &f, &e)?;
                        }
                    }
                }
                Ok(())
            },
        );
        Ok(())
    }

    /// `parts`: `(topic, new_total, future)`.
    fn create_partitions(&self, parts: Vec<(String, i32, PyObject)>) -> PyResult<()> {
        self.check()?;
        for (topic, total, fut) in parts {
            let admin = self.admin.clone();
            self.start(async move { admin.create_partitions(&topic, total).await }, move |py, out| {
                let f = fut.bind(py);
                match out {
                    Ok(()) => set_result(f, py.None()),
                    Err(e) => set_error(py, f, &e),
                }
            });
        }
        Ok(())
    }

    /// Blocking (as confluent-kafka): `(cluster_id, controller_id, [(id, host, port)],
    /// [(topic, error, [(partition, leader, replicas, isrs)])])`.
    #[pyo3(signature = (topic=None, timeout=None))]
    #[allow(clippy::type_complexity)]
    fn list_topics(
        &self,
        py: Python<'_>,
        topic: Option<String>,
        timeout: Option<f64>,
    ) -> PyResult<(Option<String>, i32, Vec<(i32, String, i32)>, Vec<(String, PyObject, Vec<(i32, i32, Vec<i32>, Vec<i32>)>)>)> {
        self.check()?;
        let admin = self.admin.clone();
        let t = timeout_of(timeout, &admin);
        let work = async move {
            let cluster = admin.describe_cluster().await?;
            let names = match topic {
                Some(t) => vec![t],
                None => admin.list_topics(true).await?,
            };
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let described = if refs.is_empty() { Ok(Vec::new()) } else { admin.describe_topics(&refs).await };
            Ok::<_, Error>((cluster, names, described))
        };
        let out = runtime::wait(py, &self.handle, work, Some(t))?
            .ok_or_else(|| errors::to_pyerr(py, &Error::timeout(format!("list_topics did not complete within {t:?}"))))?
            .py_err(py)?;
        let (cluster, names, described) = out;
        let brokers = cluster.brokers.iter().map(|b| (b.node_id, b.host.clone(), b.port)).collect();
        let mut topics = Vec::new();
        match described {
            Ok(ds) => {
                for d in ds {
                    let parts = d.partitions.iter().map(|p| (p.partition, p.leader, p.replicas.clone(), p.isr.clone())).collect();
                    topics.push((d.name, py.None(), parts));
                }
            }
            Err(e) => {
                for n in names {
                    topics.push((n, errors::kafka_error(py, &e, Context::Call)?, Vec::new()));
                }
            }
        }
        Ok((cluster.cluster_id, cluster.controller_id, brokers, topics))
    }

    /// `resources`: `(restype, name, future)`; each future gets `[(name, value, read_only,
    /// is_default, sensitive, source)]`.
    fn describe_configs(&self, resources: Vec<(i32, String, PyObject)>) -> PyResult<()> {
        self.check()?;
        for (kind, name, fut) in resources {
            let resource = resource_of(kind, &name)?;
            let admin = self.admin.clone();
            self.start(async move { admin.describe_configs(&[resource]).await }, move |py, out| {
                let f = fut.bind(py);
                match out {
                    Ok(mut descs) if !descs.is_empty() => {
                        let d = descs.remove(0);
                        let list = PyList::empty(py);
                        for e in d.entries {
                            list.append((e.name, e.value, e.read_only, e.is_default, e.sensitive, format!("{:?}", e.source)))?;
                        }
                        set_result(f, list)
                    }
                    Ok(_) => set_error(py, f, &Error::protocol("no description in the response")),
                    Err(e) => set_error(py, f, &e),
                }
            });
        }
        Ok(())
    }

    /// `changes`: `(restype, name, [(config, value or None, op)], future)`; op 0 set, 1 delete,
    /// 2 append, 3 subtract.
    #[allow(clippy::type_complexity)]
    fn incremental_alter_configs(&self, changes: Vec<(i32, String, Vec<(String, Option<String>, i32)>, PyObject)>) -> PyResult<()> {
        self.check()?;
        for (kind, name, ops, fut) in changes {
            let resource = resource_of(kind, &name)?;
            let ops = ops
                .into_iter()
                .map(|(name, value, op)| {
                    let op = match op {
                        0 => AlterConfigOpType::Set,
                        1 => AlterConfigOpType::Delete,
                        2 => AlterConfigOpType::Append,
                        3 => AlterConfigOpType::Subtract,
                        o => return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown AlterConfigOpType {o}"))),
                    };
                    Ok(AlterConfigOp { name, value, op })
                })
                .collect::<PyResult<Vec<_>>>()?;
            let admin = self.admin.clone();
            self.start(async move { admin.incremental_alter_configs(&[(resource, ops)]).await }, move |py, out| {
                let f = fut.bind(py);
                match out {
                    Ok(()) => set_result(f, py.None()),
                    Err(e) => set_error(py, f, &e),
                }
            });
        }
        Ok(())
    }

    /// `offsets`: `(topic, partition, offset, future)`; each future gets the new low watermark.
    fn delete_records(&self, offsets: Vec<(String, i32, i64, PyObject)>) -> PyResult<()> {
        self.check()?;
        for (topic, partition, offset, fut) in offsets {
            let admin = self.admin.clone();
            self.start(
                async move { admin.delete_records(&[(TopicPartition::new(topic, partition), offset)]).await },
                move |py, out| {
                    let f = fut.bind(py);
                    match out {
                        Ok(v) => set_result(f, v.first().map(|(_, low)| *low).unwrap_or(-1)),
                        Err(e) => set_error(py, f, &e),
                    }
                },
            );
        }
        Ok(())
    }

    /// `future` gets `[(group_id, protocol_type, state, group_type)]`.
    fn list_consumer_groups(&self, future: PyObject) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        self.start(async move { admin.list_consumer_groups().await }, move |py, out| {
            let f = future.bind(py);
            match out {
                Ok(list) => {
                    let items: Vec<_> = list.into_iter().map(|g| (g.group_id, g.protocol_type, g.state, g.group_type)).collect();
                    set_result(f, items)
                }
                Err(e) => set_error(py, f, &e),
            }
        });
        Ok(())
    }

    /// `futures`: group -> Future of `(group_id, state, protocol_type, protocol, group_type,
    /// (node, host, port, rack), [(member_id, instance_id, client_id, host, [(topic, p)])])`.
    fn describe_consumer_groups(&self, groups: Vec<String>, futures: Py<PyDict>) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        let work = async move {
            let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
            let described = admin.describe_consumer_groups(&refs).await?;
            let brokers = admin.describe_cluster().await.map(|c| c.brokers).unwrap_or_default();
            Ok((described, brokers))
        };
        self.start(work, move |py, out| {
            let futures = futures.bind(py);
            match out {
                Ok((described, brokers)) => {
                    for d in described {
                        let Some(f) = futures.get_item(&d.group_id)? else { continue };
                        if d.state == "Dead" || d.state.is_empty() {
                            let e = Error::from_code(69, format!("group {} does not exist", d.group_id))
                                .unwrap_or_else(|| Error::invalid("group not found"));
                            set_error(py, &f, &e)?;
                            continue;
                        }
                        let node = brokers
                            .iter()
                            .find(|b| b.node_id == d.coordinator)
                            .map(|b| (b.node_id, b.host.clone(), b.port, b.rack.clone()))
                            .unwrap_or((d.coordinator, String::new(), -1, None));
                        let members: Vec<_> = d
                            .members
                            .into_iter()
                            .map(|m| {
                                let parts: Vec<(String, i32)> = m.assignment.into_iter().map(|tp| (tp.topic.to_string(), tp.partition)).collect();
                                (m.member_id, m.group_instance_id, m.client_id, m.host, parts)
                            })
                            .collect();
                        set_result(&f, (d.group_id, d.state, d.protocol_type, d.protocol, d.group_type, node, members))?;
                    }
                }
                Err(e) => {
                    for (_, f) in futures.iter() {
                        set_error(py, &f, &e)?;
                    }
                }
            }
            Ok(())
        });
        Ok(())
    }

    /// `partitions`: `[(topic, p)]` or None for every committed partition; `future` gets
    /// `[(topic, p, offset)]`.
    #[pyo3(signature = (group, partitions, future))]
    fn list_consumer_group_offsets(&self, group: String, partitions: Option<Vec<(String, i32)>>, future: PyObject) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        let tps: Option<Vec<TopicPartition>> = partitions.map(|ps| ps.into_iter().map(|(t, p)| TopicPartition::new(t, p)).collect());
        self.start(async move { admin.list_consumer_group_offsets(&group, tps.as_deref()).await }, move |py, out| {
            let f = future.bind(py);
            match out {
                Ok(list) => set_result(f, list.into_iter().map(|(tp, o)| (tp.topic.to_string(), tp.partition, o)).collect::<Vec<_>>()),
                Err(e) => set_error(py, f, &e),
            }
        });
        Ok(())
    }

    /// `offsets`: `[(topic, p, offset)]`; `future` gets them back.
    fn alter_consumer_group_offsets(&self, group: String, offsets: Vec<(String, i32, i64)>, future: PyObject) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        let list: Vec<(TopicPartition, i64)> = offsets.iter().map(|(t, p, o)| (TopicPartition::new(t.clone(), *p), *o)).collect();
        self.start(async move { admin.alter_consumer_group_offsets(&group, &list).await }, move |py, out| {
            let f = future.bind(py);
            match out {
                Ok(()) => set_result(f, offsets),
                Err(e) => set_error(py, f, &e),
            }
        });
        Ok(())
    }

    fn delete_consumer_groups(&self, groups: Vec<String>, futures: Py<PyDict>) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        let work = async move {
            let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
            admin.delete_consumer_groups(&refs).await
        };
        self.start(work, move |py, out| {
            let futures = futures.bind(py);
            match out {
                Ok(results) => {
                    for (g, r) in results {
                        if let Some(f) = futures.get_item(&g)? {
                            match r {
                                Ok(()) => set_result(&f, py.None())?,
                                Err(e) => set_error(py, &f, &e)?,
                            }
                        }
                    }
                }
                Err(e) => {
                    for (_, f) in futures.iter() {
                        set_error(py, &f, &e)?;
                    }
                }
            }
            Ok(())
        });
        Ok(())
    }

    /// `future` gets `(cluster_id, controller_id, [(node, host, port, rack)])`.
    fn describe_cluster(&self, future: PyObject) -> PyResult<()> {
        self.check()?;
        let admin = self.admin.clone();
        self.start(async move { admin.describe_cluster().await }, move |py, out| {
            let f = future.bind(py);
            match out {
                Ok(c) => {
                    let nodes: Vec<_> = c.brokers.into_iter().map(|b| (b.node_id, b.host, b.port, b.rack)).collect();
                    set_result(f, (c.cluster_id, c.controller_id, nodes))
                }
                Err(e) => set_error(py, f, &e),
            }
        });
        Ok(())
    }

    /// Hands the engine's log records to the logger and this client's errors to `error_cb`;
    /// how many errors were served.
    fn _drain_logs(&self, py: Python<'_>) -> PyResult<usize> {
        self.check()?;
        crate::logs::drain(py, self.logger.bind(py))?;
        match &self.error_cb {
            Some(sink) => sink.serve(py),
            None => Ok(0),
        }
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if runtime::pid() != self.pid || self.closed.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Ok(());
        }
        let admin = self.admin.clone();
        runtime::wait(py, &self.handle, async move { admin.close().await }, Some(Duration::from_secs(10)))?;
        Ok(())
    }
}
