#!/usr/bin/env bash
# packaging/node.sh [--host] - the Node binding's npm packages, the napi-rs convention, as `npm pack`
# tarballs in dist/node/:
#   polykafka-<version>.tgz                  JS, .d.ts/.d.mts, the schema-registry entry; no Rust
#                                            sources, no install script; optionalDependencies on
#                                            the three platform packages at the same version
#   polykafka-linux-x64-gnu-<version>.tgz    the prebuilt polykafka.linux-x64-gnu.node (glibc 2.17+)
#   polykafka-linux-arm64-gnu-<version>.tgz  cross-built with cargo-zigbuild (glibc 2.17+)
#   polykafka-linux-x64-musl-<version>.tgz   cross-built with cargo-zigbuild (musl, dynamic libc)
# Each .node is checked with `file` (architecture) and readelf (libc it links, the napi entry point)
# and stripped of debug info. --host: the main package and linux-x64-gnu only, from
# `cargo build --release -p polykafka-node` with make test's profile (no cross-crate LTO), which is
# a no-op when make test's Node suite built that already. Exits non-zero on any failure.
set -euo pipefail
# shellcheck source=packaging/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

host=0
case "${1:-}" in
  --host) host=1 ;;
  "") ;;
  *) echo "usage: $0 [--host]" >&2; exit 2 ;;
esac
start=$SECONDS
node_dir="$PK_ROOT/bindings-node"
out="$PK_DIST/node"
stage="$PK_ROOT/build/node-packages"
target_dir="${CARGO_TARGET_DIR:-$PK_ROOT/target}"
die() { echo "node.sh: $*" >&2; exit 1; }
export PK_NODE_DIR="$node_dir" # read by the package.json writers below

dev_version="$(node -p "require('$node_dir/package.json').version")"
[[ "$dev_version" == "$PK_VERSION" ]] ||
  die "bindings-node/package.json has version $dev_version, Cargo.toml's [workspace.package] $PK_VERSION: make them equal"

# platform package -> Rust target, cargo-zigbuild target (glibc version pinned), npm cpu, npm libc,
# what `file` says of the architecture, the libc the .node must link.
declare -A rust=([linux-x64-gnu]=x86_64-unknown-linux-gnu [linux-arm64-gnu]=aarch64-unknown-linux-gnu
  [linux-x64-musl]=x86_64-unknown-linux-musl)
declare -A zig=([linux-x64-gnu]=x86_64-unknown-linux-gnu.2.17 [linux-arm64-gnu]=aarch64-unknown-linux-gnu.2.17
  [linux-x64-musl]=x86_64-unknown-linux-musl)
declare -A cpu=([linux-x64-gnu]=x64 [linux-arm64-gnu]=arm64 [linux-x64-musl]=x64)
declare -A libc=([linux-x64-gnu]=glibc [linux-arm64-gnu]=glibc [linux-x64-musl]=musl)
declare -A arch=([linux-x64-gnu]="x86-64" [linux-arm64-gnu]="ARM aarch64" [linux-x64-musl]="x86-64")
declare -A needed=([linux-x64-gnu]=libc.so.6 [linux-arm64-gnu]=libc.so.6 [linux-x64-musl]=libc.so)
all_platforms=(linux-x64-gnu linux-arm64-gnu linux-x64-musl)
if [[ $host == 1 ]]; then platforms=(linux-x64-gnu); else platforms=("${all_platforms[@]}"); fi

strip_tool="$(command -v llvm-strip || command -v strip || true)"
[[ -n "$strip_tool" ]] || die "neither llvm-strip nor strip is on PATH"

mkdir -p "$out"
rm -rf "$stage"
mkdir -p "$stage"

# ---- the native modules --------------------------------------------------------------------------
declare -A built
if [[ $host == 1 ]]; then
  # make test (tests/run) builds release without cross-crate LTO; the same profile here reuses it.
  export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-false}"
  echo "== cargo build --release -p polykafka-node (host, CARGO_PROFILE_RELEASE_LTO=$CARGO_PROFILE_RELEASE_LTO)"
  t0=$SECONDS
  (cd "$PK_ROOT" && cargo build --release --locked -p polykafka-node)
  echo "   $((SECONDS - t0)) s"
  built[linux-x64-gnu]="$target_dir/release/libpolykafka_node.so"
else
  pk_zig_env
  # musl: a cdylib needs the C runtime linked dynamically (as napi-rs builds its musl packages).
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=-crt-static"
  for p in "${platforms[@]}"; do
    pk_rust_target "${rust[$p]}"
    echo "== cargo zigbuild --release -p polykafka-node --target ${zig[$p]}"
    t0=$SECONDS
    (cd "$PK_ROOT" && cargo zigbuild --release --locked -p polykafka-node --target "${zig[$p]}")
    echo "   $((SECONDS - t0)) s"
    built[$p]="$target_dir/${rust[$p]}/release/libpolykafka_node.so"
  done
fi

# ---- the platform packages -----------------------------------------------------------------------
for p in "${platforms[@]}"; do
  name="polykafka-$p"
  dir="$stage/$name"
  file_name="polykafka.$p.node"
  mkdir -p "$dir"
  [[ -f "${built[$p]}" ]] || die "no native module at ${built[$p]} for $p"
  # Copied at once: the target dir may be shared with other builds that replace the file.
  cp "${built[$p]}" "$dir/$file_name"
  # The release profile keeps line tables (debug = 1): 166 MB for arm64; without them and the local
  # symbols 19 MB (napi-rs strips its packages likewise). Panics still carry their message.
  "$strip_tool" --strip-unneeded "$dir/$file_name"
  desc="$(file -b "$dir/$file_name")"
  [[ "$desc" == *"ELF 64-bit LSB shared object, ${arch[$p]}"* ]] ||
    die "$name: $file_name is not a ${arch[$p]} shared object: $desc"
  libs="$(readelf -d "$dir/$file_name" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  [[ " $libs" == *" ${needed[$p]} "* ]] || die "$name: $file_name does not link ${needed[$p]} (${libc[$p]}): $libs"
  readelf --dyn-syms -W "$dir/$file_name" | grep -qw napi_register_module_v1 ||
    die "$name: $file_name exports no napi_register_module_v1"
  glibc_max=""
  if [[ ${libc[$p]} == glibc ]]; then
    glibc_max="$(readelf -V -W "$dir/$file_name" | grep -o 'GLIBC_2[.0-9]*' | sort -uV | tail -n1)"
    # The cross builds pin glibc 2.17 (as napi-rs's gnu packages); --host links the system's.
    if [[ $host == 0 && "$(printf '%s\n' "$glibc_max" GLIBC_2.17 | sort -V | tail -n1)" != GLIBC_2.17 ]]; then
      die "$name: $file_name needs $glibc_max, more than the GLIBC_2.17 it was built for"
    fi
    glibc_max=", needs $glibc_max"
  fi
  echo "   $name: ${desc%%, BuildID*}; links ${libs% }$glibc_max"
  node - "$dir" "$name" "$PK_VERSION" "$file_name" "${cpu[$p]}" "${libc[$p]}" <<'EOF'
const [dir, name, version, main, cpu, libc] = process.argv.slice(2)
const dev = require(`${process.env.PK_NODE_DIR}/package.json`)
const pkg = {
  name,
  version,
  description: `The prebuilt native module of polykafka for ${name.replace('polykafka-', '')}`,
  license: dev.license,
  main,
  files: [main],
  os: ['linux'],
  cpu: [cpu],
  libc: [libc],
  engines: dev.engines,
}
require('fs').writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n')
require('fs').writeFileSync(
  `${dir}/README.md`,
  `# ${name}\n\nThe native module of [polykafka](https://www.npmjs.com/package/polykafka) for ${pkg.os[0]} ${cpu} ` +
    `(${libc}). Install \`polykafka\`, which depends on this package on the platforms it fits.\n`
)
EOF
done

# ---- the main package ----------------------------------------------------------------------------
main_dir="$stage/polykafka"
mkdir -p "$main_dir"
main_files=(index.js index.mjs index.d.ts index.d.mts streams.d.ts lib schema-registry.js schema-registry.mjs
  schema-registry.d.ts schema-registry.d.mts README.md)
for f in "${main_files[@]}"; do
  [[ -e "$node_dir/$f" ]] || die "bindings-node/$f is missing"
  cp -R "$node_dir/$f" "$main_dir/"
done
# The published package.json: the dev one without the scripts (the install script builds with
# cargo; the others use files not shipped) and the devDependencies, plus one optional dependency per
# platform package, all at the one version.
node - "$main_dir" "$PK_VERSION" "${all_platforms[@]}" <<'EOF'
const [dir, version, ...platforms] = process.argv.slice(2)
const pkg = require(`${process.env.PK_NODE_DIR}/package.json`)
delete pkg.scripts
delete pkg.devDependencies
pkg.version = version
pkg.files = pkg.files.filter(f => !/^(src\/|scripts\/|build\.rs$|Cargo\.toml$)/.test(f))
pkg.optionalDependencies = Object.fromEntries(platforms.map(p => [`polykafka-${p}`, version]))
require('fs').writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n')
EOF

# ---- npm pack ------------------------------------------------------------------------------------
echo "== npm pack into ${out#"$PK_ROOT"/}"
for name in polykafka "${platforms[@]/#/polykafka-}"; do
  rm -f "$out/$name"-[0-9]*.tgz
  tgz="$(cd "$stage/$name" && npm pack --silent --pack-destination "$out")"
  [[ "$tgz" == "$name-$PK_VERSION.tgz" && -f "$out/$tgz" ]] || die "npm pack of $name gave '$tgz'"
  # Nothing from Rust in any tarball; the main package without a .node, each platform one with its own.
  listing="$(tar -tzf "$out/$tgz")"
  if grep -Eq '\.rs$|Cargo\.toml|scripts/build\.js' <<<"$listing"; then die "$tgz holds Rust build files"; fi
  if [[ $name == polykafka ]]; then
    if grep -q '\.node$' <<<"$listing"; then die "$tgz holds a .node"; fi
    grep -qx 'package/schema-registry.d.mts' <<<"$listing" || die "$tgz lacks schema-registry.d.mts"
  else
    grep -qx "package/polykafka.${name#polykafka-}.node" <<<"$listing" || die "$tgz lacks its .node"
  fi
  printf '   %-40s %6s KiB packed, %7s KiB unpacked\n' "$tgz" "$(($(stat -c %s "$out/$tgz") / 1024))" \
    "$(($(tar -xzOf "$out/$tgz" | wc -c) / 1024))"
done
echo "node.sh: ${#platforms[@]} platform package(s) + polykafka $PK_VERSION in $((SECONDS - start)) s"
