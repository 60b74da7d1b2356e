//! State stores: in memory per task, every write also sent to the store's compacted changelog
//! topic, from which a task's store is restored when the task starts. Readable from other
//! threads (interactive queries) through [`StoreReader`].
//!
//! Not yet the goal: a persistent local store with a checkpoint of changelog offsets
//! (restore now always reads the changelog from its start), and bounded memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::sync::MutexExt;

/// A key of a windowed table: the record key and its window's start. Serialized as Kafka
/// Streams' `TimeWindowedSerializer`: key bytes, then the start as 8 bytes big-endian.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WindowedKey {
    pub key: Bytes,
    pub start: i64,
}

impl WindowedKey {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.key.len() + 8);
        b.put_slice(&self.key);
        b.put_i64(self.start);
        b.freeze()
    }

    pub fn decode(bytes: &Bytes) -> Result<WindowedKey> {
        if bytes.len() < 8 {
            return Err(Error::new(crate::ErrorKind::Serialization, format!("a windowed key has at least 8 bytes, got {}", bytes.len())));
        }
        let at = bytes.len() - 8;
        let start = i64::from_be_bytes(bytes[at..].try_into().expect("8 bytes"));
        Ok(WindowedKey { key: bytes.slice(..at), start })
    }
}

type Partitions = BTreeMap<i32, BTreeMap<Bytes, Bytes>>;

/// Every store of this instance: store name -> task partition -> key -> value.
#[derive(Default, Debug)]
pub(crate) struct Stores {
    inner: Mutex<HashMap<String, Partitions>>,
}

impl Stores {
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Partitions>) -> R) -> R {
        f(&mut self.inner.locked())
    }

    pub(crate) fn drop_partition(&self, store: &str, partition: i32) {
        self.with(|s| {
            if let Some(p) = s.get_mut(store) {
                p.remove(&partition);
            }
        });
    }
}

/// Reads one store across this instance's tasks (`streams.store(name)`), as it is now.
#[derive(Clone, Debug)]
pub struct StoreReader {
    pub(crate) stores: Arc<Stores>,
    pub(crate) name: String,
    pub(crate) windowed: bool,
}

impl StoreReader {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_windowed(&self) -> bool {
        self.windowed
    }

    fn check(&self, windowed: bool) -> Result<()> {
        if self.windowed != windowed {
            return Err(Error::invalid(format!(
                "store '{}' is {}a window store: use {}",
                self.name,
                if self.windowed { "" } else { "not " },
                if self.windowed { "fetch/all" } else { "get/range/all" }
            )));
        }
        Ok(())
    }

    /// The value of `key` (a key-value store).
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        self.check(false)?;
        Ok(self.stores.with(|s| s.get(&self.name).and_then(|parts| parts.values().find_map(|m| m.get(key).cloned()))))
    }

    /// Keys from `from` to `to`, both included (either open), in byte order.
    pub fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Vec<(Bytes, Bytes)>> {
        self.check(false)?;
        let mut out: Vec<(Bytes, Bytes)> = self.stores.with(|s| {
            s.get(&self.name)
                .map(|parts| {
                    parts
                        .values()
                        .flat_map(|m| m.iter())
                        .filter(|(k, _)| from.is_none_or(|f| k.as_ref() >= f) && to.is_none_or(|t| k.as_ref() <= t))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()
        });
        out.sort();
        Ok(out)
    }

    /// Every entry: for a window store, keys are [`WindowedKey`] encodings.
    pub fn all(&self) -> Result<Vec<(Bytes, Bytes)>> {
        let mut out: Vec<(Bytes, Bytes)> = self.stores.with(|s| {
            s.get(&self.name).map(|parts| parts.values().flat_map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()).unwrap_or_default()
        });
        out.sort();
        Ok(out)
    }

    /// The windows of `key` starting from `from` to `to` (both included), oldest first (a window
    /// store's `fetch`).
    pub fn fetch(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<(i64, Bytes)>> {
        self.check(true)?;
        let lo = WindowedKey { key: Bytes::copy_from_slice(key), start: from }.encode();
        let hi = WindowedKey { key: Bytes::copy_from_slice(key), start: to }.encode();
        let mut out: Vec<(i64, Bytes)> = self.stores.with(|s| {
            s.get(&self.name)
                .map(|parts| {
                    parts
                        .values()
                        .flat_map(|m| m.range(lo.clone()..=hi.clone()))
                        .filter_map(|(k, v)| WindowedKey::decode(k).ok().filter(|w| w.key.as_ref() == key).map(|w| (w.start, v.clone())))
                        .collect()
                })
                .unwrap_or_default()
        });
        out.sort_by_key(|(s, _)| *s);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windowed_key_is_kafka_streams_time_windowed_format() {
        let w = WindowedKey { key: Bytes::from_static(b"user-1"), start: 300_000 };
        let b = w.encode();
        assert_eq!(&b[..6], b"user-1");
        assert_eq!(&b[6..], &300_000i64.to_be_bytes());
        assert_eq!(WindowedKey::decode(&b).unwrap(), w);
        assert!(WindowedKey::decode(&Bytes::from_static(b"short")).is_err());
    }
}
