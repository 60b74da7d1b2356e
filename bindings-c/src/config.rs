//! `pk_config`: Java-style properties (`bootstrap.servers`, `acks`...) collected before a
//! client is created. Keys and values are checked when the client is created: an unknown key
//! or a bad value is a PK_ERROR_KIND_CONFIG error naming the key.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void};

use crate::error::pk_error;
use crate::ffi::{c_str, check_out, guard, guard_void, handle, out};
use crate::producer::{pk_delivery_callback, Callback};

/// A set of configuration properties. Created with pk_config_new(), freed with
/// pk_config_free(). Not thread-safe while being modified.
pub struct pk_config {
    pub(crate) props: BTreeMap<String, String>,
    pub(crate) callback: Option<Callback>,
}

/// Creates an empty configuration in `*out`; the caller frees it with pk_config_free().
#[no_mangle]
pub extern "C" fn pk_config_new(out_config: *mut *mut pk_config) -> *mut pk_error {
    guard(|| {
        check_out(out_config, "out_config")?;
        let config = Box::new(pk_config { props: BTreeMap::new(), callback: None });
        out(out_config, "out_config", Box::into_raw(config))
    })
}

/// Sets `key` to `value` (both NUL-terminated UTF-8, borrowed: copied). Setting a key again
/// replaces its value. `config` is borrowed and modified.
#[no_mangle]
pub extern "C" fn pk_config_set(config: *mut pk_config, key: *const c_char, value: *const c_char) -> *mut pk_error {
    guard(|| {
        let key = c_str(key, "key")?;
        let value = c_str(value, "value")?;
        handle(config as *const pk_config, "config")?;
        // SAFETY: non-NULL checked above; the caller does not share it while modifying.
        let config = unsafe { &mut *config };
        if key.trim().is_empty() {
            return Err(pk::Error::config("a configuration key is empty"));
        }
        config.props.insert(key.trim().to_string(), value.to_string());
        Ok(())
    })
}

/// Sets the function producers made from this configuration call with each delivery report,
/// instead of queueing reports for pk_producer_poll_reports(). `user` is passed back unchanged
/// and must stay valid as long as such a producer exists. `callback` NULL removes it.
/// The callback runs on a library worker thread ("polykafka"), one report at a time per
/// producer or concurrently for different partitions; the report and its error are borrowed
/// for the duration of the call. It must not block, and must not call pk_producer_flush,
/// pk_producer_close or pk_producer_free.
#[no_mangle]
pub extern "C" fn pk_config_set_delivery_callback(
    config: *mut pk_config,
    callback: pk_delivery_callback,
    user: *mut c_void,
) -> *mut pk_error {
    guard(|| {
        handle(config as *const pk_config, "config")?;
        // SAFETY: non-NULL checked above.
        let config = unsafe { &mut *config };
        config.callback = callback.map(|f| Callback { f, user: user as usize });
        Ok(())
    })
}

/// Frees a configuration. `config` is consumed; NULL is allowed. Clients created from it do
/// not depend on it.
#[no_mangle]
pub extern "C" fn pk_config_free(config: *mut pk_config) {
    guard_void(|| {
        if !config.is_null() {
            // SAFETY: a pointer from pk_config_new, freed once.
            drop(unsafe { Box::from_raw(config) });
        }
    })
}
