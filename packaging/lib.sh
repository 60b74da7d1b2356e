# packaging/lib.sh - shared by the packaging scripts (sourced, not run). Defines:
#   PK_ROOT                    the repository root
#   PK_VERSION                 the one version of the engine and every package ([workspace.package] in Cargo.toml)
#   PK_DIST                    dist/ (git-ignored), where every artifact goes
#   PK_TARGETS                 the Rust targets `make dist` builds: host first, then the cross ones
#   pk_path_without_rust       prints $PATH with every directory holding cargo or rustc removed
#   pk_rust_target <triple>    makes sure rustup has the target's standard library
#   pk_zig_env                 puts cargo-zigbuild and zig (the `ziglang` package from PyPI) on PATH,
#                              installing them into build/ once (crates.io and PyPI only)
PK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PK_VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$PK_ROOT/Cargo.toml")"
PK_DIST="$PK_ROOT/dist"
PK_TARGETS=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl)

pk_path_without_rust() {
  local out="" d
  local IFS=:
  for d in $PATH; do
    [[ -z "$d" || -e "$d/cargo" || -e "$d/rustc" ]] && continue
    out="${out:+$out:}$d"
  done
  printf '%s\n' "$out"
}

pk_rust_target() {
  rustup target list --installed | grep -qx "$1" || rustup target add "$1" >&2
}

pk_zig_env() {
  local tools="$PK_ROOT/build/packaging-tools"
  if [[ ! -x "$tools/venv/bin/python" ]]; then
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/python" -m pip install -q --disable-pip-version-check "ziglang>=0.13,<0.16" >&2
  fi
  if [[ ! -x "$tools/bin/cargo-zigbuild" ]]; then
    cargo install -q --locked --root "$tools" cargo-zigbuild >&2
  fi
  # cargo-zigbuild runs `python3 -m ziglang` when no `zig` is on PATH: the venv's python3 comes first.
  export PATH="$tools/bin:$tools/venv/bin:$PATH"
}
