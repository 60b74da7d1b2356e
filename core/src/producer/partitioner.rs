//! Partitioners: which partition a record goes to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use rand::Rng;

use crate::config::PartitionerKind;

/// Java's `Utils.murmur2` (seed 0x9747b28c), the hash of the Java client's default partitioner.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= (rest[2] as u32) << 16;
    }
    if rest.len() >= 2 {
        h ^= (rest[1] as u32) << 8;
    }
    if !rest.is_empty() {
        h ^= rest[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `Utils.toPositive`.
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

struct Sticky {
    partition: i32,
    bytes: usize,
}

pub struct Partitioner {
    kind: PartitionerKind,
    batch_size: usize,
    sticky: Mutex<HashMap<String, Sticky>>,
    counter: AtomicU32,
}

fn random_of(num_partitions: i32, available: &[i32]) -> i32 {
    let mut rng = rand::thread_rng();
    if available.is_empty() {
        rng.gen_range(0..num_partitions.max(1))
    } else {
        available[rng.gen_range(0..available.len())]
    }
}

impl Partitioner {
    pub fn new(kind: PartitionerKind, batch_size: usize) -> Self {
        Partitioner { kind, batch_size, sticky: Mutex::new(HashMap::new()), counter: AtomicU32::new(0) }
    }

    /// The partition for a record with `key`; `available` lists partitions with a known leader
    /// (empty means all).
    pub fn partition(&self, topic: &str, key: Option<&[u8]>, num_partitions: i32, available: &[i32]) -> i32 {
        let n = num_partitions.max(1);
        let crc = |k: &[u8]| (crc32fast::hash(k) % n as u32) as i32;
        let murmur = |k: &[u8]| to_positive(murmur2(k)) % n;
        match (self.kind, key) {
            (PartitionerKind::Murmur2Sticky, Some(k))
            | (PartitionerKind::Murmur2Random, Some(k))
            | (PartitionerKind::Murmur2, Some(k)) => murmur(k),
            (PartitionerKind::Murmur2, None) => murmur(&[]),
            (PartitionerKind::ConsistentRandom, Some(k)) | (PartitionerKind::Consistent, Some(k)) => crc(k),
            (PartitionerKind::Consistent, None) => crc(&[]),
            (PartitionerKind::Murmur2Sticky, None) => {
                let mut sticky = self.sticky.lock().unwrap();
                match sticky.get(topic) {
                    Some(s) if s.partition < n => s.partition,
                    _ => {
                        let p = random_of(n, available);
                        sticky.insert(topic.to_string(), Sticky { partition: p, bytes: 0 });
                        p
                    }
                }
            }
            (PartitionerKind::RoundRobin, _) => {
                let i = self.counter.fetch_add(1, Ordering::Relaxed);
                if available.is_empty() {
                    (i % n as u32) as i32
                } else {
                    available[i as usize % available.len()]
                }
            }
            _ => random_of(n, available),
        }
    }

    /// Told after each append of a record placed by [`Partitioner::partition`]: the sticky
    /// partitioner moves on once a batch's worth of bytes went to its partition (KIP-794).
    pub fn on_append(&self, topic: &str, partition: i32, bytes: usize) {
        if self.kind != PartitionerKind::Murmur2Sticky {
            return;
        }
        let mut sticky = self.sticky.lock().unwrap();
        if let Some(s) = sticky.get_mut(topic) {
            if s.partition == partition {
                s.bytes += bytes;
                if s.bytes >= self.batch_size {
                    sticky.remove(topic);
                }
            }
        }
    }
}
