//! Generates `include/polykafka.h` with cbindgen. The header is committed; the file is written
//! only when its text changes, and `check-header.sh` fails when a build changed it.

use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    // The shared library's SONAME: programs record libpolykafka.so.0 (the ABI's major version), so a
    // later libpolykafka.so.0.x replaces it without relinking them. The static library is unaffected.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libpolykafka.so.0");
    }
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .generate()
        .expect("generating the C header");
    let mut text = Vec::new();
    bindings.write(&mut text);
    let path = dir.join("include").join("polykafka.h");
    if std::fs::read(&path).ok().as_deref() != Some(&text[..]) {
        std::fs::write(&path, &text).expect("writing include/polykafka.h");
    }
}
