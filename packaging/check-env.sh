# packaging/check-env.sh - sourced (after lib.sh) by check-c.sh and check-go.sh: what both checks
# start with. Defines die (the script's name, FAILED and the reason; exit 1), exports KAFKA_BOOTSTRAP
# (from the environment, else build/cluster/cluster.env) and PATH without cargo and rustc.
die() { echo "$(basename "$0"): FAILED: $*" >&2; exit 1; }

if [[ -z "${KAFKA_BOOTSTRAP:-}" && -f "$PK_ROOT/build/cluster/cluster.env" ]]; then
  # shellcheck disable=SC1091
  . "$PK_ROOT/build/cluster/cluster.env"
fi
[[ -n "${KAFKA_BOOTSTRAP:-}" ]] || die "KAFKA_BOOTSTRAP is not set (and no build/cluster/cluster.env)"
export KAFKA_BOOTSTRAP
PATH="$(pk_path_without_rust)"
export PATH
! command -v cargo >/dev/null && ! command -v rustc >/dev/null || die "cargo or rustc is still on PATH"
