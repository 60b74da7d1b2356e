//! `pk_admin`: topic administration (create, delete, list, partition counts).

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicBool, Ordering};

use pk::admin::{Admin, NewTopic};
use pk::{AdminConfig, Error, Result};

use crate::config::pk_config;
use crate::error::{pk_error, raw};
use crate::ffi::{c_str, check_out, guard, guard_void, handle, out, slice};
use crate::runtime::{block_on, block_on_whole, runtime, Owner};

/// An admin client. Created with pk_admin_new(), freed with pk_admin_free(). Thread-safe.
pub struct pk_admin {
    owner: Owner,
    admin: Admin,
    closed: AtomicBool,
}

/// A topic to create. Every pointer is borrowed for the duration of the call.
#[repr(C)]
pub struct pk_new_topic {
    /// The topic's name, NUL-terminated.
    pub name: *const c_char,
    /// The number of partitions; -1 for the broker's default.
    pub num_partitions: i32,
    /// The replication factor; -1 for the broker's default.
    pub replication_factor: i16,
    /// `configs_len` topic configs (`retention.ms`...) as parallel arrays of NUL-terminated
    /// keys and values; NULL when `configs_len` is 0.
    pub config_keys: *const *const c_char,
    pub config_values: *const *const c_char,
    pub configs_len: usize,
}

/// A list of strings. Freed with pk_string_list_free().
pub struct pk_string_list {
    items: Vec<CString>,
}

/// A new list the caller frees with pk_string_list_free().
pub(crate) fn string_list(items: Vec<String>) -> *mut pk_string_list {
    let items = items.into_iter().map(|s| CString::new(s).unwrap_or_default()).collect();
    Box::into_raw(Box::new(pk_string_list { items }))
}

/// The core admin client behind a live handle (for the group functions).
pub(crate) fn live_admin<'a>(a: *const pk_admin) -> Result<&'a Admin> {
    live(a).map(|a| &a.admin)
}

fn live<'a>(a: *const pk_admin) -> Result<&'a pk_admin> {
    let a = handle(a, "admin")?;
    a.owner.check("admin client")?;
    if a.closed.load(Ordering::Acquire) {
        return Err(Error::closed("the admin client is closed"));
    }
    Ok(a)
}

/// Creates an admin client from `config` (borrowed: copied). Producer and consumer keys are
/// config errors. No connection is made until the first call. The caller frees `*out_admin`
/// with pk_admin_free().
#[no_mangle]
pub extern "C" fn pk_admin_new(config: *const pk_config, out_admin: *mut *mut pk_admin) -> *mut pk_error {
    guard(|| {
        let config = handle(config, "config")?;
        check_out(out_admin, "out_admin")?;
        let props = AdminConfig::from_properties(config.props.clone())?;
        let rt = runtime()?;
        let admin = {
            let _entered = rt.enter();
            Admin::new(props)?
        };
        let a = Box::new(pk_admin { owner: Owner::current(), admin, closed: AtomicBool::new(false) });
        out(out_admin, "out_admin", Box::into_raw(a))
    })
}

/// Writes one result per input into `out_results` (an array of `n`, written, not read).
pub(crate) fn write_results(out_results: *mut *mut pk_error, results: Vec<Option<Error>>) {
    for (i, r) in results.into_iter().enumerate() {
        let e = r.map(|e| raw(&e)).unwrap_or(std::ptr::null_mut());
        // SAFETY: out_results has room for one result per input (the caller's contract).
        unsafe { out_results.add(i).write(e) };
    }
}

/// Creates `topics_len` topics and waits until they have leaders (within
/// default.api.timeout.ms); with `validate_only` the broker only checks the request. `out_results` is an array of `topics_len` the call fills: NULL for a
/// topic created, else its error (TOPIC_ALREADY_EXISTS...), which the caller frees with
/// pk_error_free(). The call itself fails (and writes no results) when no broker answers.
#[no_mangle]
pub extern "C" fn pk_admin_create_topics(
    admin: *mut pk_admin,
    topics: *const pk_new_topic,
    topics_len: usize,
    validate_only: bool,
    out_results: *mut *mut pk_error,
) -> *mut pk_error {
    guard(|| {
        let a = live(admin)?;
        if topics_len > 0 {
            check_out(out_results, "out_results")?;
        }
        let mut new = Vec::new();
        for (i, t) in slice(topics, topics_len, "topics")?.iter().enumerate() {
            let mut topic = NewTopic::new(c_str(t.name, &format!("topics[{i}].name"))?, t.num_partitions, t.replication_factor);
            let keys = slice(t.config_keys, t.configs_len, "config_keys")?;
            let values = slice(t.config_values, t.configs_len, "config_values")?;
            for (k, v) in keys.iter().zip(values) {
                topic = topic.config(c_str(*k, "config key")?, c_str(*v, "config value")?);
            }
            new.push(topic);
        }
        let results = block_on("pk_admin_create_topics", a.admin.create_topics(&new, validate_only))??;
        let by_name: Vec<Option<Error>> = new
            .iter()
            .map(|t| {
                results
                    .iter()
                    .find(|r| r.name == t.name)
                    .map(|r| r.error.clone())
                    .unwrap_or_else(|| Some(Error::protocol(format!("no result for topic '{}'", t.name))))
            })
            .collect();
        write_results(out_results, by_name);
        Ok(())
    })
}

/// Deletes `names_len` topics (NUL-terminated names, borrowed). `out_results` is an array of
/// `names_len` the call fills: NULL for a topic deleted, else its error
/// (UNKNOWN_TOPIC_OR_PARTITION...), which the caller frees with pk_error_free().
#[no_mangle]
pub extern "C" fn pk_admin_delete_topics(
    admin: *mut pk_admin,
    names: *const *const c_char,
    names_len: usize,
    out_results: *mut *mut pk_error,
) -> *mut pk_error {
    guard(|| {
        let a = live(admin)?;
        if names_len > 0 {
            check_out(out_results, "out_results")?;
        }
        let names = slice(names, names_len, "names")?
            .iter()
            .enumerate()
            .map(|(i, n)| c_str(*n, &format!("names[{i}]")))
            .collect::<Result<Vec<&str>>>()?;
        let results = block_on("pk_admin_delete_topics", a.admin.delete_topics(&names))??;
        write_results(out_results, results.into_iter().map(|r| r.error).collect());
        Ok(())
    })
}

/// Makes sure one broker of the cluster can be reached (an open connection counts), with one
/// attempt per broker and no retry: a PK_ERROR_KIND_CONNECTION error when none answers. The
/// other admin calls retry within `default.api.timeout.ms`; a caller that must fail at once on
/// an unreachable cluster (kafka-go's Client fails with its dial error) calls this first.
#[no_mangle]
pub extern "C" fn pk_admin_connect_once(admin: *mut pk_admin) -> *mut pk_error {
    guard(|| {
        let a = live(admin)?;
        block_on("pk_admin_connect_once", a.admin.connect_once())?
    })
}

/// The names of all topics, sorted (internal ones only with `include_internal`). The caller
/// frees `*out_list` with pk_string_list_free().
#[no_mangle]
pub extern "C" fn pk_admin_list_topics(admin: *mut pk_admin, include_internal: bool, out_list: *mut *mut pk_string_list) -> *mut pk_error {
    guard(|| {
        let a = live(admin)?;
        check_out(out_list, "out_list")?;
        let names = block_on("pk_admin_list_topics", a.admin.list_topics(include_internal))??;
        let items = names.into_iter().map(|n| CString::new(n).unwrap_or_default()).collect();
        out(out_list, "out_list", Box::into_raw(Box::new(pk_string_list { items })))
    })
}

/// The number of partitions of topic `name` (NUL-terminated, borrowed) in `*out_count`; an
/// unknown topic is an UNKNOWN_TOPIC_OR_PARTITION error.
#[no_mangle]
pub extern "C" fn pk_admin_partition_count(admin: *mut pk_admin, name: *const c_char, out_count: *mut i32) -> *mut pk_error {
    guard(|| {
        let a = live(admin)?;
        let name = c_str(name, "name")?;
        check_out(out_count, "out_count")?;
        let described = block_on("pk_admin_partition_count", a.admin.describe_topics(&[name]))??;
        let n = described.first().map(|d| d.partitions.len() as i32).unwrap_or(0);
        out(out_count, "out_count", n)
    })
}

/// Closes the admin client's connections. Idempotent; later calls fail with
/// PK_ERROR_KIND_CLOSED. The handle must still be freed with pk_admin_free().
#[no_mangle]
pub extern "C" fn pk_admin_close(admin: *mut pk_admin) -> *mut pk_error {
    guard(|| {
        let a = handle(admin as *const pk_admin, "admin")?;
        a.owner.check("admin client")?;
        if a.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        block_on("pk_admin_close", a.admin.close())
    })
}

/// Frees an admin client, closing it first if needed. `admin` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_admin_free(admin: *mut pk_admin) {
    guard_void(|| {
        if admin.is_null() {
            return;
        }
        // SAFETY: a pointer from pk_admin_new, freed once, after every other call returned.
        let a = unsafe { Box::from_raw(admin) };
        if a.owner.check("admin client").is_err() {
            std::mem::forget(a);
            return;
        }
        if !a.closed.swap(true, Ordering::AcqRel) {
            let _ = block_on_whole("pk_admin_free", a.admin.close());
        }
    })
}

/// The number of strings in `list` (borrowed); 0 for NULL.
#[no_mangle]
pub extern "C" fn pk_string_list_len(list: *const pk_string_list) -> usize {
    // SAFETY: NULL or a live list.
    unsafe { list.as_ref() }.map_or(0, |l| l.items.len())
}

/// The string at `index`, NUL-terminated, borrowed from `list` (valid until
/// pk_string_list_free); NULL when `list` is NULL or `index` is out of range.
#[no_mangle]
pub extern "C" fn pk_string_list_get(list: *const pk_string_list, index: usize) -> *const c_char {
    // SAFETY: NULL or a live list.
    unsafe { list.as_ref() }
        .and_then(|l| l.items.get(index))
        .map_or(std::ptr::null(), |s| s.as_ptr())
}

/// Frees a list. `list` is consumed; NULL is allowed.
#[no_mangle]
pub extern "C" fn pk_string_list_free(list: *mut pk_string_list) {
    guard_void(|| {
        if !list.is_null() {
            // SAFETY: a pointer from this library, freed once.
            drop(unsafe { Box::from_raw(list) });
        }
    })
}
