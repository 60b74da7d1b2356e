//! Smoke test of the fuzz targets without libFuzzer (stable `cargo test`): every target runs over
//! its committed corpus (fuzz/corpus/<target>/), its regression inputs (fuzz/regressions/<target>/:
//! inputs that once crashed it), its generated seeds, and a fixed number of deterministic
//! mutations of all of those. A panic (or an abort) fails the test.

use std::path::Path;

/// Mutations per target; POLYKAFKA_FUZZ_SMOKE_MUTATIONS overrides.
const MUTATIONS: usize = 4000;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let mut out = polykafka_fuzz::seeds(target);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for p in paths {
            out.push(std::fs::read(&p).unwrap());
        }
    }
    out
}

/// xorshift64*: the same mutations on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A few libFuzzer-like edits: flip a bit, set a byte to an edge value, insert, erase, duplicate a
/// range, overwrite 4 bytes with an interesting integer, splice another input's tail.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = d.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                d[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                d[i] = [0u8, 1, 0x7f, 0x80, 0xff][rng.below(5)];
            }
            2 => {
                let i = rng.below(len + 1);
                d.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                d.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                let chunk = d[i..i + n].to_vec();
                let at = rng.below(len + 1);
                d.splice(at..at, chunk);
            }
            5 if len >= 4 => {
                let i = rng.below(len - 3);
                let v: i32 = [0, -1, 1, i32::MAX, i32::MIN, 0x7fff, 65536, 14][rng.below(8)];
                d[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            6 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                d.truncate(cut);
                d.extend_from_slice(&other[from..]);
            }
            _ => d.truncate(rng.below(len + 1)),
        }
    }
    d
}

#[test]
fn every_target_survives_its_inputs_and_their_mutations() {
    let mutations = std::env::var("POLYKAFKA_FUZZ_SMOKE_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTATIONS);
    for &(name, target) in polykafka_fuzz::TARGETS {
        let start = std::time::Instant::now();
        let inputs = inputs(name);
        assert!(!inputs.is_empty(), "{name}: no inputs");
        for input in &inputs {
            target(input);
        }
        let mutations = match name {
            // Each SCRAM input that parses costs a PBKDF2 of thousands of iterations (~30 ms
            // unoptimized): a sixteenth of the mutations keeps this target under 10 s.
            "sasl_scram" => mutations / 16,
            // Each c_abi input creates and closes clients (worker tasks, a refused connection):
            // ~5 ms, mostly waiting for them to stop; a quarter keeps it near 5 s.
            "c_abi" => mutations / 4,
            _ => mutations,
        };
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for _ in 0..mutations {
            let a = &inputs[rng.below(inputs.len())];
            let b = &inputs[rng.below(inputs.len())];
            target(&mutate(&mut rng, a, b));
        }
        eprintln!("{name}: {} inputs and {mutations} mutations in {:.2?}", inputs.len(), start.elapsed());
    }
}
