# shellcheck shell=bash
# Shared helpers for tests/cluster/{kafka,registry,selftest,faulttest}.
# Sourced, not run. Callers have `set -euo pipefail` on.

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_DIR/../.." && pwd)"
BUILD="${POLYKAFKA_BUILD:-$REPO_ROOT/build/cluster}"
LIB="$BUILD/lib"
# The Kafka version tests/cluster/pom.xml pins; other versions get their own lib-<version> folder
# (use_kafka_version).
POM_KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$CLUSTER_DIR/pom.xml" | head -1)
KAFKA_WANT_VERSION=$POM_KAFKA_VERSION
# shellcheck disable=SC2034 # TLS is used by kafka
TLS="$BUILD/tls"
JAVA="${JAVA:-java}"
if [[ -n "${JAVA_HOME:-}" && "$JAVA" == java && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
fi

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
# elapsed seconds since a now_ms stamp, with one decimal
since() { local d=$(( $(now_ms) - $1 )); printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100)); }

# ---------------------------------------------------------------- processes
# pid_alive PID [MARKER]: PID runs and (if given) its command line contains MARKER.
# The marker guards against acting on a recycled PID.
pid_alive() {
  local pid=$1 marker=${2:-}
  [[ -n "$pid" && -d /proc/$pid ]] || return 1
  # zombies count as dead
  local st; st=$(awk '/^State:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [[ "$st" != Z && -n "$st" ]] || return 1
  [[ -z "$marker" ]] && return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# pidfile_pid FILE MARKER -> prints the PID if it is alive and matches, else nothing
pidfile_pid() {
  local f=$1 marker=$2 pid
  [[ -f "$f" ]] || return 0
  pid=$(<"$f")
  if pid_alive "$pid" "$marker"; then echo "$pid"; fi
}

# stop_pid PID MARKER TIMEOUT_S NAME: SIGTERM, wait up to TIMEOUT_S, then SIGKILL.
stop_pid() {
  local pid=$1 marker=$2 timeout=$3 name=$4 t0
  pid_alive "$pid" "$marker" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  t0=$(now_ms)
  while pid_alive "$pid" "$marker"; do
    if (( $(now_ms) - t0 > timeout * 1000 )); then
      log "$name (pid $pid) still running after ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while pid_alive "$pid" "$marker"; do sleep 0.1; done
      return 0
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------- ports
# port_in_use PORT: true if something listens on 127.0.0.1:PORT (or any address).
port_in_use() {
  local p=$1
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
  return 1
}

# check_ports_free WHAT PORT... : fail fast naming the first taken port
check_ports_free() {
  local what=$1 p; shift
  for p in "$@"; do
    (( p > 0 && p < 65536 )) || die "$what: port $p is out of range (check the port base)"
    if port_in_use "$p"; then
      die "$what: port $p is already in use (on 127.0.0.1). Free it or choose other ports (see tests/cluster/README.md)."
    fi
  done
}

# ---------------------------------------------------------------- env files
# env_value VALUE -> value quoted only if it needs it for `source`
env_quote() {
  local v=$1
  if [[ "$v" =~ ^[A-Za-z0-9_./:,@%+=-]*$ ]]; then printf '%s' "$v"
  else printf "'%s'" "${v//\'/\'\\\'\'}"; fi
}
json_quote() {
  local v=$1
  v=${v//\\/\\\\}; v=${v//\"/\\\"}
  printf '"%s"' "$v"
}
# write_env_files BASE KEY=VALUE... : writes BASE.env (sourceable) and BASE.json
write_env_files() {
  local base=$1 kv k v first=1; shift
  {
    echo "# written by tests/cluster at $(date -u +%Y-%m-%dT%H:%M:%SZ); sourceable by sh; one KEY and value per line"
    for kv in "$@"; do k=${kv%%=*}; v=${kv#*=}; echo "$k=$(env_quote "$v")"; done
  } >"$base.env.tmp"
  {
    echo "{"
    for kv in "$@"; do
      k=${kv%%=*}; v=${kv#*=}
      if (( first )); then first=0; else echo ","; fi
      printf '  %s: %s' "$(json_quote "$k")" "$(json_quote "$v")"
    done
    printf '\n}\n'
  } >"$base.json.tmp"
  mv "$base.env.tmp" "$base.env"
  mv "$base.json.tmp" "$base.json"
}

# ---------------------------------------------------------------- kafka jars
# with_lock NAME CMD...: run CMD holding $BUILD/.NAME.lock (several sessions may share a build dir)
with_lock() {
  local name=$1; shift
  mkdir -p "$BUILD"
  if command -v flock >/dev/null 2>&1; then
    ( flock 9; "$@" ) 9>"$BUILD/.$name.lock"
  else
    "$@"
  fi
}

# use_kafka_version V: later calls use Kafka V's jars: build/cluster/lib for the pom's version,
# build/cluster/lib-V for any other (fetched with -Dkafka.version=V, the pom's dependencies otherwise).
use_kafka_version() {
  local v=${1:-$POM_KAFKA_VERSION}
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "bad Kafka version '$v' (expected X.Y.Z, e.g. 3.9.1)"
  KAFKA_WANT_VERSION=$v
  if [[ "$v" == "$POM_KAFKA_VERSION" ]]; then LIB="$BUILD/lib"; else LIB="$BUILD/lib-$v"; fi
}

# The stamp: the pom's hash (plus the version when it is not the pom's own).
jars_stamp() {
  local h; h=$(sha256sum "$CLUSTER_DIR/pom.xml" | cut -d' ' -f1)
  if [[ "$KAFKA_WANT_VERSION" == "$POM_KAFKA_VERSION" ]]; then echo "$h"; else echo "$h kafka $KAFKA_WANT_VERSION"; fi
}
jars_current() {
  local stamp="$LIB/.pom.sha256"
  [[ -f "$stamp" && "$(<"$stamp")" == "$(jars_stamp)" ]] &&
    compgen -G "$LIB/kafka_2.13-$KAFKA_WANT_VERSION.jar" >/dev/null
}

# ensure_kafka_jars: copy the pom's runtime jars (for $KAFKA_WANT_VERSION) into $LIB once; redo when
# pom.xml changed.
ensure_kafka_jars() {
  jars_current && return 0
  with_lock "jars-$KAFKA_WANT_VERSION" fetch_kafka_jars
}
fetch_kafka_jars() {
  local pom="$CLUSTER_DIR/pom.xml" stamp="$LIB/.pom.sha256" want t0 mlog="$BUILD/mvn-kafka.log" vargs=()
  jars_current && return 0
  want=$(jars_stamp)
  if [[ "$KAFKA_WANT_VERSION" != "$POM_KAFKA_VERSION" ]]; then
    vargs=(-Dkafka.version="$KAFKA_WANT_VERSION"); mlog="$BUILD/mvn-kafka-$KAFKA_WANT_VERSION.log"
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found: needed once to fetch the Kafka jars"
  t0=$(now_ms)
  log "fetching Kafka $KAFKA_WANT_VERSION jars with Maven into $LIB ..."
  rm -rf "$LIB.tmp"
  mkdir -p "$LIB.tmp"
  if ! mvn -B -q -f "$pom" dependency:copy-dependencies -Dcluster.lib="$LIB.tmp" ${vargs[@]+"${vargs[@]}"} \
       >"$mlog" 2>&1; then
    tail -40 "$mlog" >&2
    die "mvn copy-dependencies failed for Kafka $KAFKA_WANT_VERSION (full log: $mlog)"
  fi
  compgen -G "$LIB.tmp/kafka_2.13-$KAFKA_WANT_VERSION.jar" >/dev/null ||
    die "Maven gave no kafka_2.13-$KAFKA_WANT_VERSION.jar (log: $mlog)"
  rm -rf "$LIB"
  mv "$LIB.tmp" "$LIB"
  echo "$want" >"$stamp"
  log "Kafka jars ready in $(since "$t0")s ($(ls "$LIB"/*.jar | wc -l) jars)"
}

kafka_version() {
  local j
  j=$(compgen -G "$LIB/kafka_2.13-*.jar" | head -1)
  j=${j##*/kafka_2.13-}
  echo "${j%.jar}"
}

# JVM options for short-lived Kafka CLI tools: fast start matters more than peak speed.
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
  "-Dlog4j2.configurationFile=$CLUSTER_DIR/tools-log4j2.properties")

# run_kafka_class CLASS ARGS... : run a Kafka class (CLI) with the jar classpath
run_kafka_class() {
  local cls=$1; shift
  # shellcheck disable=SC2086
  exec "$JAVA" "${TOOL_JVM_OPTS[@]}" ${KAFKA_TOOL_OPTS:-} -cp "$LIB/*" "$cls" "$@"
}
