//! Partitioners: which partition a record goes to when the application does not say.
//!
//! Keyed records hash exactly like the client they emulate: Java's `Utils.murmur2` for the
//! murmur2 family (so records keyed from Java, kafkajs's `DefaultPartitioner`, kafka-go's
//! `Murmur2Balancer` and librdkafka's `murmur2*` land on the same partition), CRC-32 (zlib) for
//! librdkafka's `consistent*`. Null keys go, depending on the kind, to a sticky partition
//! (Java 3.3+, KIP-794: switch after `batch.size` bytes), a random one, or the next in turn.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use rand::Rng;

use crate::config::PartitionerKind;

/// Java's `org.apache.kafka.common.utils.Utils.murmur2` (MurmurHash2, seed `0x9747b28c`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Java hashes `seed ^ length` with length an int.
    let mut h = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() == 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// Per-topic sticky state for null keys.
#[derive(Debug, Default)]
struct Sticky {
    /// The current sticky partition, -1 when one must be chosen.
    partition: i32,
    /// Bytes appended to it since it was chosen.
    produced: usize,
}

/// Chooses partitions for records without an explicit one. Thread-safe and cheap: keyed records
/// take no lock; null-keyed sticky and round-robin records take one short, uncontended lock.
#[derive(Debug)]
pub struct Partitioner {
    kind: PartitionerKind,
    batch_size: usize,
    sticky: Mutex<HashMap<String, Sticky>>,
    round_robin: Mutex<HashMap<String, u32>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state stays consistent even if a holder panicked: keep going.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Partitioner {
    /// `batch_size` is the producer's `batch.size`: the bytes after which a sticky partition
    /// changes.
    pub fn new(kind: PartitionerKind, batch_size: usize) -> Self {
        Partitioner {
            kind,
            batch_size: batch_size.max(1),
            sticky: Mutex::new(HashMap::new()),
            round_robin: Mutex::new(HashMap::new()),
        }
    }

    pub fn kind(&self) -> PartitionerKind {
        self.kind
    }

    /// The partition for a record with `key` on `topic` with `num_partitions` partitions.
    /// `available` lists the partitions whose leader is known (empty = all); it steers only the
    /// choices that are free (null keys, random, round-robin), never a key's hash, as in Java.
    /// Returns -1 when `num_partitions` is not positive.
    pub fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        num_partitions: i32,
        available: &[i32],
    ) -> i32 {
        if num_partitions <= 0 {
            return -1;
        }
        let n = num_partitions;
        match self.kind {
            PartitionerKind::Murmur2Sticky => match key {
                Some(k) => murmur2_partition(k, n),
                None => self.sticky_partition(topic, n, available),
            },
            PartitionerKind::Murmur2 => murmur2_partition(key.unwrap_or(b""), n),
            PartitionerKind::Murmur2Random => match key {
                Some(k) => murmur2_partition(k, n),
                None => random_partition(n, available, -1),
            },
            PartitionerKind::Consistent => crc32_partition(key.unwrap_or(b""), n),
            // librdkafka: null *and empty* keys are random here.
            PartitionerKind::ConsistentRandom => match key {
                Some(k) if !k.is_empty() => crc32_partition(k, n),
                _ => random_partition(n, available, -1),
            },
            PartitionerKind::Random => random_partition(n, available, -1),
            PartitionerKind::RoundRobin => self.round_robin_partition(topic, n, available),
        }
    }

    /// Told after each append (`bytes` as returned by the batch builder) so the sticky
    /// partitioner moves on once `batch.size` bytes went to the current sticky partition.
    /// Appends to other partitions are ignored.
    pub fn on_append(&self, topic: &str, partition: i32, bytes: usize) {
        if self.kind != PartitionerKind::Murmur2Sticky {
            return;
        }
        let mut map = lock(&self.sticky);
        if let Some(s) = map.get_mut(topic) {
            if s.partition == partition {
                s.produced = s.produced.saturating_add(bytes);
                // Full: the next record picks another partition (see sticky_partition).
            }
        }
    }

    fn sticky_partition(&self, topic: &str, n: i32, available: &[i32]) -> i32 {
        let mut map = lock(&self.sticky);
        let state = match map.get_mut(topic) {
            Some(s) => s,
            None => map.entry(topic.to_string()).or_insert(Sticky {
                partition: -1,
                produced: 0,
            }),
        };
        let available = valid(available, n);
        let usable = state.partition >= 0
            && state.partition < n
            && state.produced < self.batch_size
            && (available.is_empty() || available.contains(&state.partition));
        if !usable {
            // Avoid the previous partition when another one can be chosen.
            let previous = state.partition;
            state.partition = random_partition(n, available, previous);
            state.produced = 0;
        }
        state.partition
    }

    fn round_robin_partition(&self, topic: &str, n: i32, available: &[i32]) -> i32 {
        let next = {
            let mut map = lock(&self.round_robin);
            let counter = match map.get_mut(topic) {
                Some(c) => c,
                None => map.entry(topic.to_string()).or_insert(0),
            };
            let v = *counter;
            *counter = counter.wrapping_add(1);
            v
        };
        let candidates = valid(available, n);
        if candidates.is_empty() {
            (next % n as u32) as i32
        } else {
            candidates[next as usize % candidates.len()]
        }
    }
}

/// Java's `BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(key)) % numPartitions`.
pub fn murmur2_partition(key: &[u8], num_partitions: i32) -> i32 {
    to_positive(murmur2(key)) % num_partitions
}

/// librdkafka's `consistent`: `rd_crc32(key) % partition_cnt`, unsigned.
pub fn crc32_partition(key: &[u8], num_partitions: i32) -> i32 {
    (crc32fast::hash(key) % num_partitions as u32) as i32
}

/// `available` when all its entries are valid partitions, else empty (meaning all).
fn valid(available: &[i32], n: i32) -> &[i32] {
    if available.iter().all(|p| (0..n).contains(p)) {
        available
    } else {
        &[]
    }
}

/// A random partition among `available` (all when empty), other than `avoid` when possible.
fn random_partition(n: i32, available: &[i32], avoid: i32) -> i32 {
    let mut rng = rand::thread_rng();
    let candidates = valid(available, n);
    if candidates.is_empty() {
        if n > 1 && (0..n).contains(&avoid) {
            // Uniform over the n-1 others.
            let p = rng.gen_range(0..n - 1);
            return if p >= avoid { p + 1 } else { p };
        }
        return rng.gen_range(0..n);
    }
    let len = candidates.len();
    let mut p = candidates[rng.gen_range(0..len)];
    if p == avoid && len > 1 {
        // Retry once among the others (avoid may repeat in `available`; good enough).
        let i = rng.gen_range(0..len - 1);
        let pos = candidates
            .iter()
            .position(|&c| c == avoid)
            .unwrap_or(len - 1);
        p = candidates[if i >= pos { i + 1 } else { i }];
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// apache/kafka `clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java`,
    /// `testMurmur2`.
    #[test]
    fn murmur2_java_utils_test_vectors() {
        for (key, expected) in [
            (&b"21"[..], -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ] {
            assert_eq!(murmur2(key), expected, "{}", String::from_utf8_lossy(key));
        }
    }

    /// confluentinc/librdkafka `src/rdmurmur2.c`, `unittest_murmur2` ("java_murmur2_results",
    /// checked there against the Java client), including every tail length and "" (= NULL).
    #[test]
    fn murmur2_librdkafka_vectors() {
        let short = b"1234";
        let long = b"PreAmbleWillBeRemoved,ThePrePartThatIs";
        for (key, expected) in [
            (&b"kafka"[..], 0xd067cf64u32),
            (b"giberish123456789", 0x8f552b0c),
            (&short[..], 0x9fc97b14),
            (&short[1..], 0xe7c009ca),
            (&short[2..], 0x873930da),
            (&short[3..], 0x5a4b5ca1),
            (&long[..], 0x78424f1c),
            (&long[1..], 0x4a62b377),
            (&long[2..], 0xe0e4e09e),
            (&long[3..], 0x62b8b43f),
            (b"", 0x106e08d9),
        ] {
            assert_eq!(
                murmur2(key) as u32,
                expected,
                "{}",
                String::from_utf8_lossy(key)
            );
        }
    }

    /// The vectors every binding's partitioner copy is checked against (tests/vectors).
    #[test]
    fn shared_vectors() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../../../tests/vectors/partitioners.json")).unwrap();
        let murmur = doc["murmur2"].as_array().unwrap();
        assert!(murmur.len() >= 10);
        for v in murmur {
            let key = v["key"].as_str().unwrap().as_bytes();
            assert_eq!(murmur2(key) as i64, v["murmur2"].as_i64().unwrap(), "{v}");
        }
        for v in doc["crc32"].as_array().unwrap() {
            let key = v["key"].as_str().unwrap().as_bytes();
            let n = v["partitions"].as_i64().unwrap() as u32;
            assert_eq!((crc32fast::hash(key) % n) as i64, v["crc32"].as_i64().unwrap(), "{v}");
        }
    }

    #[test]
    fn to_positive_is_java_to_positive() {
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(5), 5);
        // "kafka" hashes negative: 0xd067cf64 & 0x7fffffff.
        assert_eq!(to_positive(murmur2(b"kafka")), 0x5067cf64);
    }

    /// confluentinc/librdkafka `tests/0048-partitioner.c`, `do_test_partitioners`: keys
    /// NULL, "", "23456", "this is another string with more length to it perhaps", "hejsan"
    /// over 17 (and 7, quick mode) partitions. The expected hashes there come from the `crc32`
    /// command (consistent) and the Java client via `tests/java/Murmur2Cli` (murmur2, already
    /// `toPositive`d). -1 = random.
    #[test]
    fn librdkafka_partitioner_expectations() {
        const KEYS: [Option<&[u8]>; 5] = [
            None,
            Some(b""),
            Some(b"23456"),
            Some(b"this is another string with more length to it perhaps"),
            Some(b"hejsan"),
        ];
        let crc: [i64; 5] = [0x0, 0x0, 0xb1b451d7, 0xb0150df7, 0xd077037e];
        let mm: [i64; 5] = [0x106e08d9, 0x106e08d9, 0x058d780f, 0x4f7703da, 0x5ec19395];
        let cases: [(PartitionerKind, [i64; 5]); 5] = [
            (PartitionerKind::Consistent, crc),
            (
                PartitionerKind::ConsistentRandom,
                [-1, -1, crc[2], crc[3], crc[4]],
            ),
            (PartitionerKind::Murmur2, mm),
            (
                PartitionerKind::Murmur2Random,
                [-1, mm[1], mm[2], mm[3], mm[4]],
            ),
            // Java's default: same hash for keys; null keys sticky (checked elsewhere).
            (
                PartitionerKind::Murmur2Sticky,
                [-1, mm[1], mm[2], mm[3], mm[4]],
            ),
        ];
        for n in [17, 7] {
            for (kind, hashes) in cases {
                let p = Partitioner::new(kind, 16384);
                for (key, hash) in KEYS.iter().zip(hashes) {
                    let got = p.partition("t", *key, n, &[]);
                    if hash == -1 {
                        assert!((0..n).contains(&got));
                    } else {
                        assert_eq!(got as i64, hash % n as i64, "{kind:?} {key:?} n={n}");
                    }
                }
            }
        }
    }

    #[test]
    fn crc32_is_zlib_crc32() {
        // The standard CRC-32 check value.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf43926);
        assert_eq!(crc32_partition(b"23456", 17), (0xb1b451d7u32 % 17) as i32);
    }

    #[test]
    fn keyed_records_ignore_availability() {
        let p = Partitioner::new(PartitionerKind::Murmur2Sticky, 100);
        let expected = murmur2_partition(b"kafka", 10);
        assert_eq!(
            p.partition("t", Some(b"kafka"), 10, &[(expected + 1) % 10]),
            expected
        );
    }

    #[test]
    fn sticky_switches_after_batch_size() {
        let p = Partitioner::new(PartitionerKind::Murmur2Sticky, 1000);
        let first = p.partition("t", None, 6, &[]);
        for _ in 0..9 {
            assert_eq!(p.partition("t", None, 6, &[]), first);
            p.on_append("t", first, 100);
        }
        // Appends to other partitions or topics do not count.
        p.on_append("t", (first + 1) % 6, 5000);
        p.on_append("other", first, 5000);
        assert_eq!(p.partition("t", None, 6, &[]), first);
        p.on_append("t", first, 100); // 1000 bytes reached
        let second = p.partition("t", None, 6, &[]);
        assert_ne!(
            second, first,
            "a different partition is chosen when one exists"
        );
        assert_eq!(p.partition("t", None, 6, &[]), second);
        // Topics are independent.
        let other = p.partition("other", None, 6, &[]);
        assert_eq!(p.partition("other", None, 6, &[]), other);
    }

    #[test]
    fn sticky_follows_availability_and_spreads() {
        let p = Partitioner::new(PartitionerKind::Murmur2Sticky, 1);
        let mut seen = HashSet::new();
        for _ in 0..500 {
            let part = p.partition("t", None, 8, &[1, 3, 5]);
            assert!([1, 3, 5].contains(&part));
            seen.insert(part);
            p.on_append("t", part, 1);
        }
        assert_eq!(seen.len(), 3);
        // The sticky partition losing its leader forces a new choice.
        let p = Partitioner::new(PartitionerKind::Murmur2Sticky, 1 << 20);
        let a = p.partition("t", None, 4, &[]);
        let b = p.partition("t", None, 4, &[(a + 1) % 4]);
        assert_eq!(b, (a + 1) % 4);
        // Fewer partitions than the sticky one (topic recreated): rechosen in range.
        let p = Partitioner::new(PartitionerKind::Murmur2Sticky, 1 << 20);
        for _ in 0..50 {
            let x = p.partition("t", None, 100, &[]);
            assert!((0..100).contains(&x));
            assert_eq!(p.partition("t", None, 1, &[]), 0);
        }
    }

    #[test]
    fn round_robin_cycles_per_topic() {
        let p = Partitioner::new(PartitionerKind::RoundRobin, 0);
        let got: Vec<i32> = (0..7)
            .map(|_| p.partition("a", Some(b"key ignored"), 3, &[]))
            .collect();
        assert_eq!(got, [0, 1, 2, 0, 1, 2, 0]);
        assert_eq!(p.partition("b", None, 3, &[]), 0);
        let got: Vec<i32> = (0..4).map(|_| p.partition("c", None, 5, &[4, 2])).collect();
        assert_eq!(got, [4, 2, 4, 2]);
    }

    #[test]
    fn random_covers_available_partitions() {
        let p = Partitioner::new(PartitionerKind::Random, 0);
        let mut seen = HashSet::new();
        for _ in 0..400 {
            seen.insert(p.partition("t", Some(b"k"), 4, &[]));
        }
        assert_eq!(seen.len(), 4);
        for _ in 0..100 {
            assert_eq!(p.partition("t", None, 4, &[2]), 2);
        }
    }

    #[test]
    fn bad_partition_counts_do_not_panic() {
        for kind in [
            PartitionerKind::Murmur2Sticky,
            PartitionerKind::ConsistentRandom,
            PartitionerKind::Consistent,
            PartitionerKind::Murmur2Random,
            PartitionerKind::Murmur2,
            PartitionerKind::Random,
            PartitionerKind::RoundRobin,
        ] {
            let p = Partitioner::new(kind, 0);
            assert_eq!(p.partition("t", Some(b"k"), 0, &[]), -1);
            assert_eq!(p.partition("t", None, -3, &[]), -1);
            // Out-of-range availability entries are ignored, not returned.
            for _ in 0..20 {
                let x = p.partition("t", None, 3, &[7, -1]);
                assert!((0..3).contains(&x), "{kind:?} {x}");
                p.on_append("t", x, 10);
            }
        }
    }

    #[test]
    fn shared_across_threads() {
        let p = std::sync::Arc::new(Partitioner::new(PartitionerKind::Murmur2Sticky, 64));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        let x = p.partition("t", None, 12, &[]);
                        assert!((0..12).contains(&x));
                        p.on_append("t", x, 10);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
