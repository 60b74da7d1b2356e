//! State stores: persistent, with a checkpoint, bounded in memory, restored from their changelogs.
//!
//! Every store of an instance lives in one embedded database under `state.dir`
//! (`<state.dir>/<application.id>/state.redb`, one table per store and task partition) beside a
//! checkpoint file (`.checkpoint`) that names, per changelog partition, the offset up to which
//! the table holds the changelog's content. A task that starts reads its changelog from that
//! offset only (from the start when there is no usable checkpoint: the table is wiped first).
//! Each checkpoint entry carries the changelog topic's id, so a topic deleted and created again
//! (a new cluster, an application reset) never pairs old local state with a new changelog.
//!
//! - at_least_once: at every commit the stores are flushed to disk (durably) and the checkpoint
//!   written, as Kafka Streams does.
//! - exactly_once_v2: the checkpoint of a task is removed when the task starts processing and
//!   written again only when the instance closes cleanly; after a crash there is none, the table is
//!   wiped and restored from the (read_committed) changelog, so no update of an aborted
//!   transaction survives (Kafka Streams does the same).
//!
//! Memory: aggregation stores (key-value and window) are read through a cache of at most
//! `statestore.cache.max.bytes` (Kafka Streams' key, default 10 MiB): changed entries are written
//! to the database when the cache is full and at commits; the database's own page cache is
//! bounded by the same figure. The internal buffers of stream-stream joins and suppressions stay
//! in memory (their size is bounded by the join window and the suppression buffer's limits) and
//! are written to the database at each checkpoint.
//!
//! A second instance of the same application on the same `state.dir` (another process, or
//! another instance in this process) finds the database locked and takes the next free
//! directory (`<application.id>.2`, ...), so instances never share local state (Kafka Streams
//! refuses to start instead).
//!
//! Why redb: pure Rust (RocksDB costs minutes of C++ build per clean build on a 2-core machine),
//! a stable file format, one file, transactions with a durable and a non-durable commit.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::{Error, ErrorKind, Result};
use crate::record::TopicPartition;
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

/// A key of a session-windowed table: the record key and its session `[start, end]` (both
/// inclusive). Serialized as Kafka Streams' `SessionWindowedSerializer` (its `SessionKeySchema`):
/// key bytes, then the end and the start as 8 bytes big-endian each. The session store keeps its
/// sessions under this encoding, so a key's sessions are together, in order of their end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey {
    pub key: Bytes,
    pub start: i64,
    pub end: i64,
}

impl SessionKey {
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(self.key.len() + 16);
        b.put_slice(&self.key);
        b.put_i64(self.end);
        b.put_i64(self.start);
        b.freeze()
    }

    pub fn decode(bytes: &Bytes) -> Result<SessionKey> {
        if bytes.len() < 16 {
            return Err(Error::new(ErrorKind::Serialization, format!("a session-windowed key has at least 16 bytes, got {}", bytes.len())));
        }
        let at = bytes.len() - 16;
        let end = i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let start = i64::from_be_bytes(bytes[at + 8..].try_into().expect("8 bytes"));
        Ok(SessionKey { key: bytes.slice(..at), start, end })
    }

    /// The store-key range holding `key`'s sessions that end at `earliest_end` or later (and
    /// other keys' sessions sharing the prefix: filter with [`SessionKey::decode`]).
    pub(crate) fn range_of(key: &[u8], earliest_end: i64) -> (Bytes, Bytes) {
        let lo = SessionKey { key: Bytes::copy_from_slice(key), start: 0, end: earliest_end.max(0) }.encode();
        let hi = SessionKey { key: Bytes::copy_from_slice(key), start: i64::MAX, end: i64::MAX }.encode();
        (lo, hi)
    }

    /// Of the entries of a [`SessionKey::range_of`] range, `key`'s sessions ending at
    /// `earliest_end` or later and starting at `latest_start` or earlier.
    fn of_key(found: impl IntoIterator<Item = (Bytes, Bytes)>, key: &[u8], earliest_end: i64, latest_start: i64) -> Vec<(SessionKey, Bytes)> {
        found
            .into_iter()
            .filter_map(|(k, v)| SessionKey::decode(&k).ok().map(|s| (s, v)))
            .filter(|(s, _)| s.key.as_ref() == key && s.end >= earliest_end && s.start <= latest_start)
            .collect()
    }
}

/// The default `statestore.cache.max.bytes` (Kafka Streams' 10 MiB).
pub const DEFAULT_CACHE_MAX_BYTES: usize = 10 * 1024 * 1024;

fn storage_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Fatal, format!("state store: {what}: {e}"))
}

fn table_name(store: &str, partition: i32) -> String {
    format!("{store}/{partition}")
}

type Def<'a> = TableDefinition<'a, &'static [u8], &'static [u8]>;

/// A cached entry of a disk-backed store; `value` None: deleted (or absent on disk).
#[derive(Debug)]
struct Cached {
    value: Option<Bytes>,
    dirty: bool,
}

/// One store of one task.
#[derive(Debug)]
enum StoreMap {
    /// Every entry in memory (join and suppression buffers).
    Memory(BTreeMap<Bytes, Bytes>),
    /// The database table, read through a cache of recently used and changed entries.
    Backed(BTreeMap<Bytes, Cached>),
}

fn entry_size(key: &[u8], value: Option<&Bytes>) -> usize {
    key.len() + value.map_or(0, |v| v.len()) + 64
}

/// The database and its read snapshot (taken again after each write).
struct Disk {
    db: redb::Database,
    dir: PathBuf,
    read: Option<redb::ReadTransaction>,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk").field("dir", &self.dir).finish()
    }
}

impl Disk {
    fn snapshot(&mut self) -> Result<&redb::ReadTransaction> {
        if self.read.is_none() {
            self.read = Some(self.db.begin_read().map_err(|e| storage_error("reading", e))?);
        }
        Ok(self.read.as_ref().expect("just set"))
    }

    fn get(&mut self, table: &str, key: &[u8]) -> Result<Option<Bytes>> {
        let txn = self.snapshot()?;
        let t = match txn.open_table(Def::new(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage_error(table, e)),
        };
        let value = t.get(key).map_err(|e| storage_error(table, e))?.map(|v| Bytes::copy_from_slice(v.value()));
        Ok(value)
    }

    fn range(&mut self, table: &str, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Result<BTreeMap<Bytes, Bytes>> {
        let txn = self.snapshot()?;
        let t = match txn.open_table(Def::new(table)) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(BTreeMap::new()),
            Err(e) => return Err(storage_error(table, e)),
        };
        let range = match (lo, hi) {
            (Bound::Unbounded, Bound::Unbounded) => t.range(..),
            (Bound::Included(a), Bound::Unbounded) => t.range(a..),
            (Bound::Unbounded, Bound::Included(b)) => t.range(..=b),
            (Bound::Included(a), Bound::Included(b)) => t.range(a..=b),
            (lo, hi) => unreachable!("only inclusive or open bounds are asked for: {lo:?} {hi:?}"),
        };
        let mut out = BTreeMap::new();
        for item in range.map_err(|e| storage_error(table, e))? {
            let (k, v) = item.map_err(|e| storage_error(table, e))?;
            out.insert(Bytes::copy_from_slice(k.value()), Bytes::copy_from_slice(v.value()));
        }
        Ok(out)
    }
}

/// What one write transaction does to a table.
enum Write {
    Changes(Vec<(Bytes, Option<Bytes>)>),
    Replace(Vec<(Bytes, Bytes)>),
    Drop,
}

/// Every store of this instance: store name -> task partition -> its map, over the database.
#[derive(Debug)]
pub(crate) struct StoresInner {
    disk: Option<Disk>,
    maps: HashMap<String, BTreeMap<i32, StoreMap>>,
    cache_max_bytes: usize,
    cached_bytes: usize,
}

pub(crate) struct Stores {
    inner: Mutex<StoresInner>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
    }
}

impl Default for Stores {
    /// In memory only (no database): for unit tests.
    fn default() -> Self {
        Stores { inner: Mutex::new(StoresInner { disk: None, maps: HashMap::new(), cache_max_bytes: usize::MAX, cached_bytes: 0 }) }
    }
}

impl Stores {
    /// Opens (creating it if needed) this instance's state directory under `state_dir`: the
    /// first of `<application.id>`, `<application.id>.2`, ... whose database no other instance
    /// holds open.
    pub(crate) fn open(state_dir: &Path, application_id: &str, cache_max_bytes: usize) -> Result<Stores> {
        let mut last = None;
        for slot in 1..=64 {
            let dir = if slot == 1 { state_dir.join(application_id) } else { state_dir.join(format!("{application_id}.{slot}")) };
            std::fs::create_dir_all(&dir).map_err(|e| Error::config(format!("state.dir: cannot create '{}': {e}", dir.display())))?;
            let mut builder = redb::Database::builder();
            builder.set_cache_size(cache_max_bytes.max(1024 * 1024));
            match builder.create(dir.join("state.redb")) {
                Ok(db) => {
                    tracing::debug!(dir = %dir.display(), "state directory opened");
                    let disk = Disk { db, dir, read: None };
                    return Ok(Stores { inner: Mutex::new(StoresInner { disk: Some(disk), maps: HashMap::new(), cache_max_bytes, cached_bytes: 0 }) });
                }
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => last = Some(dir),
                Err(e) => return Err(storage_error(&format!("opening '{}'", dir.display()), e)),
            }
        }
        Err(Error::config(format!("state.dir: 64 instances of '{application_id}' hold their state directories open (the last tried: {:?})", last)))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut StoresInner) -> R) -> R {
        f(&mut self.inner.locked())
    }

    /// The directory holding the database and the checkpoint (None: in memory only).
    pub(crate) fn dir(&self) -> Option<PathBuf> {
        self.with(|s| s.disk.as_ref().map(|d| d.dir.clone()))
    }

    pub(crate) fn drop_partition(&self, store: &str, partition: i32) {
        self.with(|s| s.forget(store, partition));
    }
}

impl StoresInner {
    fn forget(&mut self, store: &str, partition: i32) {
        if let Some(StoreMap::Backed(m)) = self.maps.get_mut(store).and_then(|p| p.remove(&partition)) {
            self.cached_bytes -= m.iter().map(|(k, c)| entry_size(k, c.value.as_ref())).sum::<usize>();
        }
    }

    /// Starts a task's store from its table as it is on disk (`wipe`: emptied first).
    pub(crate) fn load(&mut self, store: &str, partition: i32, in_memory: bool, wipe: bool) -> Result<()> {
        self.forget(store, partition);
        let table = table_name(store, partition);
        if wipe {
            self.write(vec![(table.clone(), Write::Drop)], false)?;
        }
        let map = if in_memory {
            let data = match self.disk.as_mut() {
                Some(d) => d.range(&table, Bound::Unbounded, Bound::Unbounded)?,
                None => BTreeMap::new(),
            };
            StoreMap::Memory(data)
        } else {
            StoreMap::Backed(BTreeMap::new())
        };
        self.maps.entry(store.to_string()).or_default().insert(partition, map);
        Ok(())
    }

    /// A join's or suppression's store, every entry in memory.
    pub(crate) fn memory(&mut self, store: &str, partition: i32) -> &mut BTreeMap<Bytes, Bytes> {
        let map = self.maps.entry(store.to_string()).or_default().entry(partition).or_insert_with(|| StoreMap::Memory(BTreeMap::new()));
        match map {
            StoreMap::Memory(m) => m,
            StoreMap::Backed(_) => panic!("store '{store}' is read through the database, not held in memory"),
        }
    }

    /// The value of `key` in a task's store.
    pub(crate) fn get(&mut self, store: &str, partition: i32, key: &[u8]) -> Result<Option<Bytes>> {
        let map = self.maps.entry(store.to_string()).or_default().entry(partition).or_insert_with(|| StoreMap::Backed(BTreeMap::new()));
        match map {
            StoreMap::Memory(m) => Ok(m.get(key).cloned()),
            StoreMap::Backed(m) => {
                if let Some(c) = m.get(key) {
                    return Ok(c.value.clone());
                }
                let value = match self.disk.as_mut() {
                    Some(d) => d.get(&table_name(store, partition), key)?,
                    None => None,
                };
                let k = Bytes::copy_from_slice(key);
                self.cached_bytes += entry_size(&k, value.as_ref());
                m.insert(k, Cached { value: value.clone(), dirty: false });
                self.evict_if_full()?;
                Ok(value)
            }
        }
    }

    /// Sets (`Some`) or deletes (`None`) `key` in a task's store.
    pub(crate) fn put(&mut self, store: &str, partition: i32, key: Bytes, value: Option<Bytes>) -> Result<()> {
        let map = self.maps.entry(store.to_string()).or_default().entry(partition).or_insert_with(|| StoreMap::Backed(BTreeMap::new()));
        match map {
            StoreMap::Memory(m) => {
                match value {
                    Some(v) => m.insert(key, v),
                    None => m.remove(&key),
                };
                Ok(())
            }
            StoreMap::Backed(m) => {
                let add = entry_size(&key, value.as_ref());
                if let Some(old) = m.insert(key.clone(), Cached { value, dirty: true }) {
                    self.cached_bytes -= entry_size(&key, old.value.as_ref());
                }
                self.cached_bytes += add;
                self.evict_if_full()
            }
        }
    }

    /// Over the cache's bound: changed entries go to the database (without waiting for the
    /// disk), then the cache starts empty.
    fn evict_if_full(&mut self) -> Result<()> {
        if self.cached_bytes <= self.cache_max_bytes || self.disk.is_none() {
            return Ok(());
        }
        self.flush(false, false)?;
        for parts in self.maps.values_mut() {
            for map in parts.values_mut() {
                if let StoreMap::Backed(m) = map {
                    m.clear();
                }
            }
        }
        self.cached_bytes = 0;
        Ok(())
    }

    /// Writes what changed to the database: the changed cache entries, and with `memory` the
    /// in-memory stores whole; `durable`: returns once on disk.
    pub(crate) fn flush(&mut self, durable: bool, memory: bool) -> Result<()> {
        if self.disk.is_none() {
            return Ok(());
        }
        let mut writes = Vec::new();
        for (store, parts) in self.maps.iter_mut() {
            for (p, map) in parts.iter_mut() {
                match map {
                    StoreMap::Backed(m) => {
                        let changes: Vec<(Bytes, Option<Bytes>)> = m
                            .iter_mut()
                            .filter(|(_, c)| c.dirty)
                            .map(|(k, c)| {
                                c.dirty = false;
                                (k.clone(), c.value.clone())
                            })
                            .collect();
                        if !changes.is_empty() {
                            writes.push((table_name(store, *p), Write::Changes(changes)));
                        }
                    }
                    StoreMap::Memory(m) if memory => {
                        writes.push((table_name(store, *p), Write::Replace(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())));
                    }
                    StoreMap::Memory(_) => {}
                }
            }
        }
        self.write(writes, durable)
    }

    fn write(&mut self, writes: Vec<(String, Write)>, durable: bool) -> Result<()> {
        let Some(disk) = self.disk.as_mut() else { return Ok(()) };
        if writes.is_empty() && !durable {
            return Ok(());
        }
        disk.read = None;
        let mut txn = disk.db.begin_write().map_err(|e| storage_error("writing", e))?;
        txn.set_durability(if durable { redb::Durability::Immediate } else { redb::Durability::None }).map_err(|e| storage_error("writing", e))?;
        for (name, w) in writes {
            let def = Def::new(&name);
            match w {
                Write::Drop => {
                    txn.delete_table(def).map_err(|e| storage_error(&name, e))?;
                }
                Write::Replace(entries) => {
                    txn.delete_table(def).map_err(|e| storage_error(&name, e))?;
                    let mut t = txn.open_table(def).map_err(|e| storage_error(&name, e))?;
                    for (k, v) in entries {
                        t.insert(k.as_ref(), v.as_ref()).map_err(|e| storage_error(&name, e))?;
                    }
                }
                Write::Changes(changes) => {
                    let mut t = txn.open_table(def).map_err(|e| storage_error(&name, e))?;
                    for (k, v) in changes {
                        match v {
                            Some(v) => t.insert(k.as_ref(), v.as_ref()).map(|_| ()),
                            None => t.remove(k.as_ref()).map(|_| ()),
                        }
                        .map_err(|e| storage_error(&name, e))?;
                    }
                }
            }
        }
        txn.commit().map_err(|e| storage_error("commit", e))
    }

    /// Entries of `store` over this instance's tasks with keys in (lo, hi), in key order.
    pub(crate) fn scan(&mut self, store: &str, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Result<Vec<(Bytes, Bytes)>> {
        let parts: Vec<i32> = self.maps.get(store).map(|p| p.keys().copied().collect()).unwrap_or_default();
        let mut out: Vec<(Bytes, Bytes)> = Vec::new();
        for p in parts {
            out.extend(self.scan_partition(store, p, lo, hi)?);
        }
        out.sort();
        Ok(out)
    }

    /// Entries of one task's store with keys in (lo, hi), in key order: the database's, with
    /// the cache's changes over them.
    pub(crate) fn scan_partition(&mut self, store: &str, partition: i32, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Result<BTreeMap<Bytes, Bytes>> {
        let Some(map) = self.maps.get(store).and_then(|p| p.get(&partition)) else { return Ok(BTreeMap::new()) };
        match map {
            StoreMap::Memory(m) => Ok(m.range::<[u8], _>((lo, hi)).map(|(k, v)| (k.clone(), v.clone())).collect()),
            StoreMap::Backed(cache) => {
                let mut merged = match self.disk.as_mut() {
                    Some(d) => d.range(&table_name(store, partition), lo, hi)?,
                    None => BTreeMap::new(),
                };
                for (k, c) in cache.range::<[u8], _>((lo, hi)) {
                    match &c.value {
                        Some(v) => merged.insert(k.clone(), v.clone()),
                        None => merged.remove(k),
                    };
                }
                Ok(merged)
            }
        }
    }

    /// The sessions of `key` in a task's session store ending at `earliest_end` or later and
    /// starting at `latest_start` or earlier (Kafka Streams' `findSessions`), by end.
    pub(crate) fn find_sessions(
        &mut self,
        store: &str,
        partition: i32,
        key: &[u8],
        earliest_end: i64,
        latest_start: i64,
    ) -> Result<Vec<(SessionKey, Bytes)>> {
        let (lo, hi) = SessionKey::range_of(key, earliest_end);
        let found = self.scan_partition(store, partition, Bound::Included(&lo), Bound::Included(&hi))?;
        Ok(SessionKey::of_key(found, key, earliest_end, latest_start))
    }
}

/// The checkpoint: per changelog partition, the offset its table is restored up to and the
/// changelog topic's id. A text file, one `topic partition offset topic-id` line per partition
/// after a version line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub offsets: BTreeMap<TopicPartition, (i64, [u8; 16])>,
}

const CHECKPOINT_VERSION: &str = "polykafka-checkpoint 1";

impl Checkpoint {
    fn path(dir: &Path) -> PathBuf {
        dir.join(".checkpoint")
    }

    /// The checkpoint in `dir`; none (empty) when there is no file. A file that cannot be parsed
    /// counts as none: every table is then restored from its changelog's start.
    pub(crate) fn read(dir: &Path) -> Checkpoint {
        let Ok(text) = std::fs::read_to_string(Self::path(dir)) else { return Checkpoint::default() };
        let mut lines = text.lines();
        if lines.next() != Some(CHECKPOINT_VERSION) {
            tracing::warn!(dir = %dir.display(), "ignoring a checkpoint file of another format");
            return Checkpoint::default();
        }
        let mut offsets = BTreeMap::new();
        for line in lines {
            let f: Vec<&str> = line.split(' ').collect();
            let parsed = (|| {
                let [topic, partition, offset, id] = f[..] else { return None };
                let id = u128::from_str_radix(id, 16).ok()?.to_be_bytes();
                Some((TopicPartition::new(topic, partition.parse().ok()?), (offset.parse().ok()?, id)))
            })();
            match parsed {
                Some((tp, v)) => offsets.insert(tp, v),
                None => {
                    tracing::warn!(dir = %dir.display(), line, "ignoring a corrupt checkpoint file");
                    return Checkpoint::default();
                }
            };
        }
        Checkpoint { offsets }
    }

    /// Written to a temporary file, synced, then renamed over the old one.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        use std::io::Write as _;
        let mut text = String::from(CHECKPOINT_VERSION);
        text.push('\n');
        for (tp, (offset, id)) in &self.offsets {
            text.push_str(&format!("{} {} {} {:032x}\n", tp.topic, tp.partition, offset, u128::from_be_bytes(*id)));
        }
        let tmp = dir.join(".checkpoint.tmp");
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, Self::path(dir))
        })();
        written.map_err(|e| storage_error(&format!("writing the checkpoint in '{}'", dir.display()), e))
    }
}

/// Reads one store across this instance's tasks (`streams.store(name)`), as it is now.
#[derive(Clone, Debug)]
pub struct StoreReader {
    pub(crate) stores: Arc<Stores>,
    pub(crate) name: String,
    pub(crate) windowed: bool,
    /// A session store: keys are [`SessionKey`] encodings.
    pub(crate) session: bool,
}

impl StoreReader {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_windowed(&self) -> bool {
        self.windowed
    }

    pub fn is_session(&self) -> bool {
        self.session
    }

    fn check(&self, windowed: bool) -> Result<()> {
        if self.session {
            return Err(Error::invalid(format!("store '{}' is a session store: use fetch_sessions/find_sessions/all", self.name)));
        }
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
        Ok(self.stores.with(|s| s.scan(&self.name, Bound::Included(key), Bound::Included(key)))?.into_iter().next().map(|(_, v)| v))
    }

    /// Keys from `from` to `to`, both included (either open), in byte order.
    pub fn range(&self, from: Option<&[u8]>, to: Option<&[u8]>) -> Result<Vec<(Bytes, Bytes)>> {
        self.check(false)?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Ok(Vec::new());
            }
        }
        self.stores.with(|s| s.scan(&self.name, from.map_or(Bound::Unbounded, Bound::Included), to.map_or(Bound::Unbounded, Bound::Included)))
    }

    /// The sessions of `key` ending at `earliest_end` or later and starting at `latest_start` or
    /// earlier (a session store's `findSessions`), as (start, end, value), by end then start;
    /// `fetch_sessions` is every session of the key.
    pub fn find_sessions(&self, key: &[u8], earliest_end: i64, latest_start: i64) -> Result<Vec<(i64, i64, Bytes)>> {
        if !self.session {
            let instead = if self.windowed { "fetch/all" } else { "get/range/all" };
            return Err(Error::invalid(format!("store '{}' is not a session store: use {instead}", self.name)));
        }
        let (lo, hi) = SessionKey::range_of(key, earliest_end);
        let found = self.stores.with(|s| s.scan(&self.name, Bound::Included(&lo), Bound::Included(&hi)))?;
        let sessions = SessionKey::of_key(found, key, earliest_end, latest_start);
        let mut out: Vec<(i64, i64, Bytes)> = sessions.into_iter().map(|(s, v)| (s.start, s.end, v)).collect();
        out.sort_by_key(|(start, end, _)| (*end, *start));
        Ok(out)
    }

    /// Every session of `key` (a session store's `fetch(key)`).
    pub fn fetch_sessions(&self, key: &[u8]) -> Result<Vec<(i64, i64, Bytes)>> {
        self.find_sessions(key, 0, i64::MAX)
    }

    /// Every entry: for a window store, keys are [`WindowedKey`] encodings; for a session store,
    /// [`SessionKey`] encodings.
    pub fn all(&self) -> Result<Vec<(Bytes, Bytes)>> {
        self.stores.with(|s| s.scan(&self.name, Bound::Unbounded, Bound::Unbounded))
    }

    /// The windows of `key` starting from `from` to `to` (both included), oldest first (a window
    /// store's `fetch`).
    pub fn fetch(&self, key: &[u8], from: i64, to: i64) -> Result<Vec<(i64, Bytes)>> {
        self.check(true)?;
        if from > to {
            return Ok(Vec::new());
        }
        let lo = WindowedKey { key: Bytes::copy_from_slice(key), start: from }.encode();
        let hi = WindowedKey { key: Bytes::copy_from_slice(key), start: to }.encode();
        let found = self.stores.with(|s| s.scan(&self.name, Bound::Included(&lo), Bound::Included(&hi)))?;
        let mut out: Vec<(i64, Bytes)> =
            found.into_iter().filter_map(|(k, v)| WindowedKey::decode(&k).ok().filter(|w| w.key.as_ref() == key).map(|w| (w.start, v))).collect();
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

    #[test]
    fn session_key_is_kafka_streams_session_windowed_format() {
        let s = SessionKey { key: Bytes::from_static(b"k"), start: 5, end: 300_000 };
        let b = s.encode();
        assert_eq!(&b[..1], b"k");
        assert_eq!(&b[1..9], &300_000i64.to_be_bytes());
        assert_eq!(&b[9..], &5i64.to_be_bytes());
        assert_eq!(SessionKey::decode(&b).unwrap(), s);
        assert!(SessionKey::decode(&Bytes::from_static(b"fifteen bytes..")).is_err());
    }

    #[test]
    fn find_sessions_of_a_key_in_a_time_range() {
        let stores = Stores::default();
        stores.with(|s| {
            for (k, start, end) in [("a", 0, 10), ("a", 50, 60), ("a", 100, 100), ("ab", 20, 30), ("b", 0, 1000)] {
                let key = SessionKey { key: b(k), start, end }.encode();
                s.put("sess", 0, key, Some(b(&format!("{k}{start}")))).unwrap();
            }
            let mut found = |k: &str, e, l| s.find_sessions("sess", 0, k.as_bytes(), e, l).unwrap().into_iter().map(|(k, _)| (k.start, k.end)).collect::<Vec<_>>();
            assert_eq!(found("a", 10, 60), vec![(0, 10), (50, 60)]);
            assert_eq!(found("a", 11, 99), vec![(50, 60)]);
            assert_eq!(found("a", 0, i64::MAX), vec![(0, 10), (50, 60), (100, 100)]);
            assert_eq!(found("ab", 0, i64::MAX), vec![(20, 30)], "another key sharing the prefix is not the key's");
            assert!(found("c", 0, i64::MAX).is_empty());
        });
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("polykafka-store-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_small_cache_spills_to_disk_and_reads_back_and_reopens() {
        let dir = temp_dir("spill");
        {
            let stores = Stores::open(&dir, "app", 4096).unwrap();
            stores.with(|s| {
                for i in 0..2000 {
                    s.put("counts", 0, b(&format!("k{i:05}")), Some(b(&format!("v{i}")))).unwrap();
                }
                s.put("counts", 0, b("k00007"), None).unwrap();
                assert!(s.cached_bytes <= 4096 + 200, "the cache stays near its bound: {}", s.cached_bytes);
                assert_eq!(s.get("counts", 0, b"k01999").unwrap(), Some(b("v1999")));
                assert_eq!(s.get("counts", 0, b"k00007").unwrap(), None);
                let all = s.scan("counts", Bound::Unbounded, Bound::Unbounded).unwrap();
                assert_eq!(all.len(), 1999);
                s.memory("buffer", 0).insert(b("w"), b("x"));
                s.flush(true, true).unwrap();
            });
            // A second instance on the same state.dir takes its own directory.
            let other = Stores::open(&dir, "app", 4096).unwrap();
            assert_eq!(other.dir().unwrap(), dir.join("app.2"));
        }
        let stores = Stores::open(&dir, "app", 4096).unwrap();
        assert_eq!(stores.dir().unwrap(), dir.join("app"));
        stores.with(|s| {
            s.load("counts", 0, false, false).unwrap();
            s.load("buffer", 0, true, false).unwrap();
            assert_eq!(s.get("counts", 0, b"k00042").unwrap(), Some(b("v42")));
            assert_eq!(s.memory("buffer", 0).get(b"w".as_slice()), Some(&b("x")));
            assert_eq!(s.scan("counts", Bound::Included(b"k00010"), Bound::Included(b"k00012")).unwrap().len(), 3);
            s.load("counts", 0, false, true).unwrap();
            assert_eq!(s.get("counts", 0, b"k00042").unwrap(), None, "wiped");
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn checkpoint_round_trip_and_corrupt_file_is_none() {
        let dir = temp_dir("checkpoint");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Checkpoint::read(&dir), Checkpoint::default());
        let mut c = Checkpoint::default();
        c.offsets.insert(TopicPartition::new("app-counts-changelog", 3), (42, [7; 16]));
        c.write(&dir).unwrap();
        assert_eq!(Checkpoint::read(&dir), c);
        std::fs::write(dir.join(".checkpoint"), format!("{CHECKPOINT_VERSION}\napp-x 1 notanumber 00\n")).unwrap();
        assert_eq!(Checkpoint::read(&dir), Checkpoint::default());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
