//! Writes each target's generated seeds to fuzz/corpus/<target>/seed-NNN (the committed corpus):
//! `cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example write_corpus`.

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for &(name, _) in polykafka_fuzz::TARGETS {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let seeds = polykafka_fuzz::seeds(name);
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), s).unwrap();
        }
        println!("{name}: {} seeds", seeds.len());
    }
}
