#!/usr/bin/env bash
# The benchmarks the README quotes, in one command.
#
#   bench/run.sh                  everything, full sizes; writes bench/results.md
#   bench/run.sh quick            everything at 1/10 of the sizes (a smoke run)
#   bench/run.sh ingest report    only these groups (engine ingest stream report schedulers
#                                 fairness stall)
#   bench/run.sh readers          only the 200 slow readers of the CSV stream
#                                 (BACKENDS=sqlite bench/run.sh readers: SQLite only)
#   bench/run.sh push             only the 16 switches pushing (part of sources)
#   bench/run.sh demo             how long `callcsv demo` takes on SQLite (bench/demo.sh)
#   bench/run.sh stats            /stats on a brand of 10 000 000 calls (STATS_CALLS), p95 of
#                                 each query; ingestion with and without keeping the
#                                 statistics (this binary vs STATS_BASELINE_REV's, built here)
#   bench/run.sh pages            every console page as a signed-in brand operator, on the
#                                 same brand of STATS_CALLS calls (bench/pages.py)
#   bench/run.sh alertpass        one runner pass of 1 000 spend and quality alert rules on
#                                 the same brand of STATS_CALLS calls (ALERT_RULES rules)
#   bench/run.sh alerts           ingestion into a brand with 100 destination and velocity
#                                 alert rules vs one with none, alternately in one service
#                                 (ALERT_BATCH calls per POST, default 20 000; median of REPS)
#
# Environment: REPS (runs per measurement, default 3; the median is reported; a measurement
# whose run takes over SLOW seconds, default 60, is run twice only), BACKENDS (default
# "sqlite postgres"), PG (default postgres://postgres@127.0.0.1:5432), KEEP=1 (keep the work
# directory and the databases for a look afterwards), MAILED_OVERRIDE (reports in the stall
# scenario, default 2000; 200 with quick), NO_BUILD=1 (use the release binary as
# it is), BASELINE_BIN (schedulers: a release binary of another commit, run alternately
# with this one so both are measured in the same conditions; build it with
# `git worktree add /tmp/base REV && cargo build --release --manifest-path /tmp/base/Cargo.toml`),
# BENCH_BIN (another binary than target/release/callcsv; implies NO_BUILD=1), SVC_ENV (more
# variables for the service process, e.g. MALLOC_ARENA_MAX=2).
# Needs: cargo, python3, curl, sqlite3, psql (optional: wrk, for the push runs from wrk), and a PostgreSQL where that user may create
# databases (each run creates bench_<random>… and drops them at the end).
#
# Everything goes through the release binary over HTTP (target/release/callcsv serve) and
# the databases' own tools. Peak memory is VmHWM of the service process, read from /proc
# at the end of each phase; the service is restarted between phases so each peak is its own.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BENCH_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/callcsv}
PY="python3 $ROOT/bench/bench.py"
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REPS=${REPS:-3}
BACKENDS=${BACKENDS:-sqlite postgres}

QUICK=0
GROUPS_WANTED=()
for arg in "$@"; do
    case $arg in
        quick) QUICK=1 ;;
        demo) exec "$ROOT/bench/demo.sh" ;;
        engine | ingest | stream | report | schedulers | fairness | stall | readers | sources | push | stats | pages | alerts | alertpass) GROUPS_WANTED+=("$arg") ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | cut -c3-; exit 0 ;;
        *) echo "unknown argument: $arg (quick, engine, ingest, stream, report, schedulers, fairness, stall, readers, sources, push, stats, pages, alerts, alertpass)" >&2; exit 2 ;;
    esac
done
FULL=0
if [ ${#GROUPS_WANTED[@]} -eq 0 ]; then
    GROUPS_WANTED=(engine ingest stream report schedulers fairness stall readers sources alerts)
    [ $QUICK = 0 ] && FULL=1
fi
wanted() { [[ " ${GROUPS_WANTED[*]} " == *" $1 "* ]]; }

# Sizes: one ingestion batch, batches stored for streaming and the report, schedulers.
if [ $QUICK = 1 ]; then
    BATCH=10000; BATCHES=10; SCHEDULERS=1000; ENGINE_CALLS=200000; SMALL_CALLS=20
    BACKLOG_SCHEDULERS=1; MAILED=200
    READERS=50; READERS_CALLS=20000; READERS_SECONDS=10
    SOURCE_RECORDS=100000; PUSH_SECONDS=5
else
    BATCH=100000; BATCHES=10; SCHEDULERS=10000; ENGINE_CALLS=2000000; SMALL_CALLS=20
    BACKLOG_SCHEDULERS=10; MAILED=2000
    READERS=200; READERS_CALLS=100000; READERS_SECONDS=30
    SOURCE_RECORDS=1000000; PUSH_SECONDS=20
fi
# The statistics brand: STATS_CALLS calls over a year, the first million of them the first
# client's in October 2026 (the endpoint query's month); STATS_QUERIES timed GETs per query.
if [ $QUICK = 1 ]; then STATS_CALLS=${STATS_CALLS:-1000000}; else STATS_CALLS=${STATS_CALLS:-10000000}; fi
STATS_QUERIES=${STATS_QUERIES:-40}
# SOURCE_BIG=10000000 adds one upload of that many records (peak RSS only).
SOURCE_BIG=${SOURCE_BIG:-0}
# MAILED=… overrides the size of the stall scenario (reports due at once).
MAILED=${MAILED_OVERRIDE:-$MAILED}
# Each backlog scheduler catches up this many 15-minute runs (the default CALLCSV_MAX_CATCH_UP).
BACKLOG_EACH=1000
BACKLOG=$((BACKLOG_SCHEDULERS * BACKLOG_EACH))
PREFIXES=1000
TOTAL=$((BATCH * BATCHES))

WORK=$(mktemp -d /tmp/callcsv-bench.XXXXXX)
TAG=bench_$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
RESULTS=$WORK/results.tsv
: >"$RESULTS"
PIDS=()
DATABASES=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 "$PG/postgres" "$@"; }
create_db() { psql_admin -c "CREATE DATABASE $1 ${2:+TEMPLATE $2}" >/dev/null; DATABASES+=("$1"); }
drop_db() { PGOPTIONS='-c client_min_messages=warning' psql_admin -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null; }

cleanup() {
    local pid db
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        log "kept $WORK and the databases ${DATABASES[*]:-}"
        return
    fi
    for db in "${DATABASES[@]:-}"; do [ -n "$db" ] && drop_db "$db" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# median of the arguments (numbers)
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
max() { printf '%s\n' "$@" | sort -g | tail -1; }
# 2026-10-01T00:00:00Z → 2026-10-01 00:00:00 (how both databases store the service's times)
sql_time() { local t=${1%Z}; echo "${t/T/ }"; }
# 1234567 → 1 234 567
group() { echo "$1" | rev | sed 's/\([0-9]\{3\}\)/\1 /g; s/ $//' | rev; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
json() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------
# The service

SVC_PID=; SVC_URL=
# start_service DATA_DIR DB_URL RUNNER_INTERVAL LOG_LEVEL LOG_FILE → SVC_PID, SVC_URL
start_service() {
    local dir=$1 db=$2 runner=$3 level=$4 logfile=$5 port
    port=$(free_port)
    (
        cd "$dir"
        for v in $(env | grep -o '^CALLCSV_[A-Z_]*' || true); do unset "$v"; done
        export CALLCSV_DATA_DIR=$dir CALLCSV_BIND=127.0.0.1:$port CALLCSV_DATABASE_URL=$db \
            CALLCSV_BOOTSTRAP_ADMIN=bench CALLCSV_BOOTSTRAP_PASSWORD=bench-password \
            CALLCSV_RUNNER_INTERVAL=$runner CALLCSV_LOG=$level NO_COLOR=1
        # SVC_EXTRA: more CALLCSV_* settings for this start; SVC_ENV: other variables for
        # every start (an allocator's settings, say) (both word-split on purpose)
        # shellcheck disable=SC2086
        exec env ${SVC_ENV:-} ${SVC_EXTRA:-} "$BIN" serve
    ) >>"$logfile" 2>&1 &
    SVC_PID=$!
    PIDS+=("$SVC_PID")
    SVC_URL=http://127.0.0.1:$port
    local i
    for i in $(seq 300); do
        curl -fs "$SVC_URL/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$SVC_PID" 2>/dev/null || { tail -20 "$logfile" >&2; die "service did not start"; }
        sleep 0.1
    done
    die "service not healthy after 30 s"
}
# peak resident memory of a running process, MB
peak_mb() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
stop_service() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]:-}")
}

# result GROUP BACKEND WHAT VALUE TARGET STATUS RSS DETAILS
result() {
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
    log "RESULT $1 [$2] $3: $4 (target $5: $6) rss=$7 $8"
}
# slow SECONDS RUN: true when no more runs should follow (a run over SLOW seconds, default
# 60: such a measurement is run twice, not REPS times, to keep the whole run reasonable)
slow() { [ "$2" -ge 2 ] && awk -v s="$1" -v l="${SLOW:-60}" 'BEGIN { exit !(s > l) }'; }
verdict() { awk "BEGIN { exit !($1) }" && echo pass || echo MISS; }

# ---------------------------------------------------------------------------------------
# 1. Engine

bench_engine() {
    log "engine: cargo run --release --example bench_rating $ENGINE_CALLS (×$REPS)"
    local runs=() cpu=() out r
    for r in $(seq "$REPS"); do
        out=$(cargo run -q --release --example bench_rating "$ENGINE_CALLS")
        runs+=("$(sed -n 's/.* = \([0-9]*\) calls\/s (.*/\1/p' <<<"$out")")
        cpu+=("$(sed -n 's/^on-CPU time.* = \([0-9]*\) calls\/s/\1/p' <<<"$out")")
        log "  run $r: ${runs[-1]} calls/s (on-CPU ${cpu[-1]:-?})"
    done
    local m c
    m=$(median "${runs[@]}"); c=$(median "${cpu[@]}")
    result engine - "calls rated per second, one core, plan of 50 000 prefixes" \
        "$(group "${m%.*}")/s (on-CPU $(group "${c%.*}")/s)" "≥ 2 000 000/s" \
        "$(verdict "$m >= 2000000")" "-" "runs: ${runs[*]}"
}

# ---------------------------------------------------------------------------------------
# 2–4. Ingestion, streaming and one big report, per backend

# A fresh copy of the prepared database (brand, client, carrier, plans, profiles; no calls).
# Sets DB_URL and DB_FILE/DB_NAME for the backend.
fresh_db() {
    local backend=$1 dir=$2
    if [ "$backend" = sqlite ]; then
        rm -f "$dir/callcsv.db" "$dir/callcsv.db-wal" "$dir/callcsv.db-shm"
        cp "$dir/template.db" "$dir/callcsv.db"
        DB_URL=sqlite://$dir/callcsv.db
    else
        drop_db "${TAG}_calls"
        create_db "${TAG}_calls" "${TAG}_tpl"
        DB_URL=$PG/${TAG}_calls
    fi
}

# The database's own bulk load of FILE (the stored rows, as CSV without a header) into an
# empty billable_calls of a fresh copy of the prepared database: same columns, indexes,
# foreign keys, and the service's own PRAGMAs on SQLite. Prints seconds.
db_load() {
    local backend=$1 dir=$2 file=$3 t0
    if [ "$backend" = sqlite ]; then
        rm -f "$dir/load.db"*
        cp "$dir/template.db" "$dir/load.db"
        sync
        t0=$(now)
        sqlite3 "$dir/load.db" "PRAGMA journal_mode=WAL;" "PRAGMA synchronous=NORMAL;" \
            "PRAGMA foreign_keys=ON;" ".import --csv $file billable_calls" >/dev/null
        since "$t0"
        local n; n=$(sqlite3 "$dir/load.db" "SELECT count(*) FROM billable_calls")
        [ "$n" = "$BATCH" ] || die "sqlite import loaded $n rows, not $BATCH"
        rm -f "$dir/load.db"*
    else
        drop_db "${TAG}_load"
        create_db "${TAG}_load" "${TAG}_tpl"
        t0=$(now)
        psql -X -q -v ON_ERROR_STOP=1 "$PG/${TAG}_load" -c "\\copy billable_calls FROM '$file' CSV" >/dev/null
        since "$t0"
        drop_db "${TAG}_load"
    fi
}

# The database's own export of the report's rows and columns. Prints seconds.
REPORT_QUERY="SELECT callid, start_time, billed_seconds, caller, callee, cost, price, endpoint_type,
 endpoint_id, direction, client_id, carrier_id, ddi_provider_id, ddi_id FROM billable_calls
 WHERE brand_id = '%s' AND start_time >= '%s' AND start_time < '%s' AND direction = 'outbound'
 ORDER BY start_time, callid"
db_export() {
    local backend=$1 dir=$2 brand=$3 from=$4 to=$5 t0 q
    # shellcheck disable=SC2059
    q=$(printf "$REPORT_QUERY" "$brand" "$from" "$to" | tr '\n' ' ')
    t0=$(now)
    if [ "$backend" = sqlite ]; then
        sqlite3 -csv -header "$dir/callcsv.db" "$q" >"$dir/export.csv"
    else
        psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" -c "\\copy ($q) TO '$dir/export.csv' CSV HEADER" >/dev/null
    fi
    since "$t0"
    local n; n=$(($(wc -l <"$dir/export.csv") - 1))
    [ "$n" = "$TOTAL" ] || die "$backend export has $n rows, not $TOTAL"
}

bench_calls() {
    local backend=$1 dir=$WORK/$1 svclog t0 r out
    mkdir -p "$dir"
    svclog=$dir/service.log
    log "[$backend] preparing: brand, client, carrier, two plans of $PREFIXES prefixes, profiles"
    if [ "$backend" = sqlite ]; then
        DB_URL=sqlite://$dir/callcsv.db
    else
        create_db "${TAG}_tpl"
        DB_URL=$PG/${TAG}_tpl
    fi
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes "$PREFIXES" >/dev/null
    stop_service "$SVC_PID"
    [ "$backend" = sqlite ] && sqlite3 "$dir/callcsv.db" ".backup $dir/template.db"
    local brand; brand=$(json "$(cat "$dir/state.json")" brand)

    log "[$backend] generating $BATCHES CSV files of $BATCH calls"
    for r in $(seq 0 $((BATCHES - 1))); do
        $PY calls --state "$dir/state.json" --count "$BATCH" --batch "$r" --out "$dir/calls-$r.csv" &
    done
    wait

    # -- 2. Ingestion: one request of BATCH calls into an empty table, REPS times.
    local secs=() rss=()
    for r in $(seq "$REPS"); do
        fresh_db "$backend" "$dir"
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        out=$($PY ingest --url "$SVC_URL" --state "$dir/state.json" --file "$dir/calls-0.csv")
        [ "$(json "$out" accepted)" = "$BATCH" ] || die "ingest: $out"
        secs+=("$(json "$out" seconds)")
        rss+=("$(peak_mb "$SVC_PID")")
        stop_service "$SVC_PID"
        log "  [$backend] ingest run $r: ${secs[-1]} s, peak ${rss[-1]} MB"
        wanted ingest || break # otherwise only needed to store the first batch
    done
    if wanted ingest; then
        # The stored rows, exported by the database itself, loaded back by the database itself.
        if [ "$backend" = sqlite ]; then
            sqlite3 -csv "$dir/callcsv.db" "SELECT * FROM billable_calls" >"$dir/rows.csv"
        else
            psql -X -q "$DB_URL" -c "\\copy billable_calls TO '$dir/rows.csv' CSV" >/dev/null
        fi
        local load=()
        for r in $(seq "$REPS"); do
            load+=("$(db_load "$backend" "$dir" "$dir/rows.csv")")
            log "  [$backend] database bulk load run $r: ${load[-1]} s"
        done
        local m l ratio
        m=$(median "${secs[@]}"); l=$(median "${load[@]}"); ratio=$(calc "$m / $l")
        result ingest "$backend" "$(group $BATCH) calls as one text/csv POST (rated, stored)" \
            "$m s = $(group "$(calc "$BATCH / $m" 0)") calls/s; bulk load $l s; ratio ${ratio}×" "≤ 3× bulk load" \
            "$(verdict "$ratio <= 3")" "$(max "${rss[@]}") MB" \
            "POST runs: ${secs[*]}; $( [ $backend = sqlite ] && echo 'sqlite3 .import' || echo 'psql \copy FROM') runs: ${load[*]}"
    fi
    wanted stream || wanted report || return 0

    # -- Store the rest: BATCHES requests of BATCH in all.
    log "[$backend] storing $TOTAL calls (batches 2..$BATCHES)"
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    local more=()
    for r in $(seq 1 $((BATCHES - 1))); do
        out=$($PY ingest --url "$SVC_URL" --state "$dir/state.json" --file "$dir/calls-$r.csv")
        more+=("$(json "$out" seconds)")
    done
    log "  [$backend] batches 2..$BATCHES: ${more[*]} s (table growing to $TOTAL)"
    stop_service "$SVC_PID"
    if [ "$backend" = postgres ]; then psql -X -q "$DB_URL" -c "VACUUM ANALYZE billable_calls"; fi

    # -- 3. Streaming all calls as CSV. Its own process first streams about a tenth of the
    # calls (the first 3 days of the month); a second process streams all of them, REPS times.
    # Flat memory: the peak after one full stream is no higher than after the tenth (later
    # requests in the same process may add some: glibc keeps freed buffers, see results.md).
    if wanted stream; then
        local before small small_rows first peak
        before=$(date -u -d "$(date -u +%Y-%m-01) -1 month +3 days" +%Y-%m-%dT%H:%M:%SZ)
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        out=$($PY stream --url "$SVC_URL" --state "$dir/state.json" --before "$before")
        small=$(peak_mb "$SVC_PID"); small_rows=$(json "$out" rows)
        stop_service "$SVC_PID"
        log "  [$backend] stream of the first 3 days: $small_rows rows in $(json "$out" seconds) s, peak $small MB"
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        secs=()
        for r in $(seq "$REPS"); do
            out=$($PY stream --url "$SVC_URL" --state "$dir/state.json")
            [ "$(json "$out" rows)" = "$TOTAL" ] || die "stream: $out"
            secs+=("$(json "$out" seconds)")
            [ "$r" = 1 ] && first=$(peak_mb "$SVC_PID")
            log "  [$backend] stream run $r: ${secs[-1]} s, $(json "$out" bytes) bytes, peak so far $(peak_mb "$SVC_PID") MB"
            slow "${secs[-1]}" "$r" && break
        done
        peak=$(peak_mb "$SVC_PID")
        stop_service "$SVC_PID"
        local m; m=$(median "${secs[@]}")
        result stream "$backend" "GET /billable_calls, Accept: text/csv, $(group $TOTAL) rows" \
            "$m s = $(group "$(calc "$TOTAL / $m" 0)") rows/s" "≤ 100 MB RSS, flat" \
            "$(verdict "$peak <= 100 && $first <= $small * 1.1 + 2")" \
            "$first MB ($small MB for $(group $small_rows) rows; $peak MB after ${#secs[@]} streams)" \
            "runs: ${secs[*]}; peak $small MB streaming $small_rows rows, $first MB streaming $TOTAL, $peak MB after ${#secs[@]} streams of $TOTAL in one process"
    fi

    # -- 4. One report of all calls: claim → stored CSV, timed from the service's log
    # ("recorded due occurrences", after which the same pass claims it, → "report built").
    # Each run in its own process (runner every second): the first creates the scheduler
    # due at the start of this month, the next ones set nextExecution back there (a rerun).
    if wanted report; then
        local rlog sid built=() peaks=() from to t
        for r in $(seq "$REPS"); do
            rlog=$dir/report-$r.log
            start_service "$dir" "$DB_URL" 1 info "$rlog"
            if [ "$r" = 1 ]; then
                sid=$(json "$($PY scheduler --url "$SVC_URL" --state "$dir/state.json")" id)
            else
                $PY rerun --url "$SVC_URL" --id "$sid" >/dev/null
            fi
            out=$($PY wait-report --url "$SVC_URL" --id "$sid" --count "$r")
            [ "$(json "$out" rowCount)" = "$TOTAL" ] || die "report: $out"
            peaks+=("$(peak_mb "$SVC_PID")")
            stop_service "$SVC_PID"
            t=$(sed 's/\x1b\[[0-9;]*m//g' "$rlog" | python3 -c '
import sys, datetime as dt
start = None
for line in sys.stdin:
    t = line.split()[0]
    t = dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() if t[:2] == "20" else None
    if "recorded due occurrences" in line: start = t
    elif "report built" in line and start is not None: print(f"{t - start:.3f}"); start = None
')
            [ -n "$t" ] || die "report: no claim→built pair in $rlog"
            built+=("$t")
            log "  [$backend] report run $r (claim → stored CSV): $t s, peak ${peaks[-1]} MB"
            slow "$t" "$r" && break
        done
        from=$(json "$out" inDate); to=$(json "$out" outDate)
        local file; file=$(ls -t "$dir"/reports/*/*.csv | head -1)
        local exp=()
        for r in $(seq "$REPS"); do
            exp+=("$(db_export "$backend" "$dir" "$brand" "$(sql_time "$from")" "$(sql_time "$to")")")
            log "  [$backend] database export run $r: ${exp[-1]} s"
        done
        # Same rows and columns, in the same order (quoting, line ends and header aside).
        cmp -s <(tail -n +2 "$file" | tr -d '\r"') <(tail -n +2 "$dir/export.csv" | tr -d '"') ||
            die "the report $file and the database export differ"
        local m e ratio peak
        m=$(median "${built[@]}"); e=$(median "${exp[@]}"); ratio=$(calc "$m / $e")
        peak=$(max "${peaks[@]}")
        result report "$backend" "one report of $(group $TOTAL) calls, claim → stored CSV" \
            "$m s; database export $e s; ratio ${ratio}×" "≤ 1.5× export, ≤ 100 MB" \
            "$(verdict "$ratio <= 1.5 && $peak <= 100")" "$peak MB" \
            "report runs: ${built[*]} (peaks ${peaks[*]} MB); $( [ $backend = sqlite ] && echo 'sqlite3 -csv' || echo 'psql \copy TO') runs: ${exp[*]}"
    fi
}

# ---------------------------------------------------------------------------------------
# 5. Many schedulers due at once

# sched_template BACKEND INSTANCES KIND → a database where SCHEDULERS schedulers are all due
# at the start of this month and no report exists yet, made by $BIN (KIND names the copy:
# "current" or "baseline", so each binary starts from a database its own migrations made).
sched_template() {
    local backend=$1 n=$2 kind=$3 dir=$WORK/sched-$1-$2-$3 db_url out
    mkdir -p "$dir"
    if [ "$backend" = sqlite ]; then db_url=sqlite://$dir/callcsv.db
    else create_db "${TAG}_sched${n}_$kind"; db_url=$PG/${TAG}_sched${n}_$kind; fi
    log "[$backend $n $kind] creating $SCHEDULERS schedulers due at the start of this month (runner off)"
    start_service "$dir" "$db_url" 0 warn "$dir/service.log"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes 10 >/dev/null
    $PY calls --state "$dir/state.json" --count "$SMALL_CALLS" --out "$dir/calls.csv"
    $PY ingest --url "$SVC_URL" --state "$dir/state.json" --file "$dir/calls.csv" >/dev/null
    out=$($PY schedulers --url "$SVC_URL" --state "$dir/state.json" --count "$SCHEDULERS" --threads 8)
    log "  [$backend $n $kind] created in $(json "$out" seconds) s"
    stop_service "$SVC_PID"
    if [ "$backend" = sqlite ]; then
        sqlite3 "$dir/callcsv.db" ".backup $dir/template.db"
        rm -f "$dir/callcsv.db" "$dir/callcsv.db-wal" "$dir/callcsv.db-shm"
    else
        create_db "${TAG}_sched${n}_${kind}_tpl" "${TAG}_sched${n}_$kind"
    fi
}

# sched_run BACKEND INSTANCES KIND → SCHED_SECS, SCHED_PEAKS: one timed run of $BIN from
# KIND's template, from starting the service(s) to every report ready; checks the reports.
sched_run() {
    local backend=$1 n=$2 kind=$3 dir=$WORK/sched-$1-$2-$3 db_url i pids=() t0 c dups rows
    if [ "$backend" = sqlite ]; then
        db_url=sqlite://$dir/callcsv.db
        sql() { sqlite3 "$dir/callcsv.db" "$1"; }
        rm -f "$dir/callcsv.db" "$dir/callcsv.db-wal" "$dir/callcsv.db-shm"
        cp "$dir/template.db" "$dir/callcsv.db"
    else
        db_url=$PG/${TAG}_sched${n}_$kind
        sql() { psql -X -qtA -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }
        drop_db "${TAG}_sched${n}_$kind"
        create_db "${TAG}_sched${n}_$kind" "${TAG}_sched${n}_${kind}_tpl"
    fi
    rm -rf "$dir/reports" "$dir/outbox"
    t0=$(now)
    for i in $(seq "$n"); do
        start_service "$dir" "$db_url" 1 warn "$dir/service.log"
        pids+=("$SVC_PID")
    done
    while :; do
        c=$(sql "SELECT count(*) FROM call_csv_reports WHERE status = 'ready'")
        [ "$c" -ge "$SCHEDULERS" ] && break
        [ "$(since "$t0" | cut -d. -f1)" -lt 1800 ] || die "only $c reports after 1800 s"
        sleep 0.2
    done
    SCHED_SECS=$(since "$t0")
    SCHED_PEAKS=()
    for i in "${pids[@]}"; do SCHED_PEAKS+=("$(peak_mb "$i")"); stop_service "$i"; done
    dups=$(sql "SELECT count(*) - count(DISTINCT scheduler_id) FROM call_csv_reports")
    [ "$dups" = 0 ] || die "$dups duplicate reports"
    rows=$(sql "SELECT min(row_count) || '-' || max(row_count) FROM call_csv_reports")
    [ "$rows" = "$SMALL_CALLS-$SMALL_CALLS" ] || die "report row counts $rows, not $SMALL_CALLS each"
}

# bench_schedulers BACKEND INSTANCES: SCHEDULERS schedulers due at once, until all built.
# With BASELINE_BIN (another build of callcsv, e.g. an earlier commit's), each run of this
# binary is followed by a run of the baseline from its own template, so both are measured
# under the same conditions and the table gives their ratio.
bench_schedulers() {
    local backend=$1 n=$2 label r kinds=(current) kind cur=() base=() peaks=() current_bin=$BIN
    label=$backend; [ "$backend" = postgres ] && label="postgres, $n instance$([ "$n" = 1 ] || echo s)"
    [ -n "${BASELINE_BIN:-}" ] && kinds+=(baseline)
    for kind in "${kinds[@]}"; do
        [ "$kind" = baseline ] && BIN=$BASELINE_BIN
        sched_template "$backend" "$n" "$kind"
        BIN=$current_bin
    done
    for r in $(seq "$REPS"); do
        for kind in "${kinds[@]}"; do
            [ "$kind" = baseline ] && BIN=$BASELINE_BIN
            sched_run "$backend" "$n" "$kind"
            BIN=$current_bin
            if [ "$kind" = current ]; then cur+=("$SCHED_SECS"); peaks+=("${SCHED_PEAKS[@]}")
            else base+=("$SCHED_SECS"); fi
            log "  [$label] run $r ($kind): $SCHEDULERS reports in $SCHED_SECS s (peaks ${SCHED_PEAKS[*]} MB)"
        done
        slow "${cur[-1]}" "$r" && break
    done
    local m b value target=(reported) status=- details
    m=$(median "${cur[@]}")
    value="$m s = $(calc "$SCHEDULERS / $m" 0) reports/s"
    details="runs: ${cur[*]}; from starting the service(s) to all reports ready; no duplicates"
    if [ ${#base[@]} -gt 0 ]; then
        b=$(median "${base[@]}")
        value="$value; baseline $b s; ratio $(calc "$m / $b")×"
        target="≤ baseline (+10 % noise)"
        status=$(verdict "$m <= $b * 1.1")
        details="$details; baseline $BASELINE_BIN runs: ${base[*]}"
    fi
    result schedulers "$label" "$(group $SCHEDULERS) schedulers due at once ($SMALL_CALLS-row reports, no email)" \
        "$value" "${target[*]}" "$status" "$(max "${peaks[@]}") MB" "$details"
}

# ---------------------------------------------------------------------------------------
# 6. Fairness: brand B's report falling due behind brand A's queue

# bench_fairness BACKEND INSTANCES
bench_fairness() {
    local backend=$1 n=$2 label dir db_url svclog r out
    label=$backend; [ "$backend" = postgres ] && label="postgres, $n instance$([ "$n" = 1 ] || echo s)"
    dir=$WORK/fair-$backend-$n
    mkdir -p "$dir"
    svclog=$dir/service.log
    if [ "$backend" = sqlite ]; then
        db_url=sqlite://$dir/callcsv.db
        sql() { sqlite3 "$dir/callcsv.db" "$1"; }
    else
        create_db "${TAG}_fair$n"
        db_url=$PG/${TAG}_fair$n
        sql() { psql -X -qtA -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }
    fi
    log "[$label] fairness: brands A (with $SMALL_CALLS calls) and B (runner off)"
    start_service "$dir" "$db_url" 0 warn "$svclog"
    $PY setup --url "$SVC_URL" --state "$dir/a.json" --prefixes 10 --name "Brand A" >/dev/null
    $PY setup --url "$SVC_URL" --state "$dir/b.json" --prefixes 10 --name "Brand B" >/dev/null
    $PY calls --state "$dir/a.json" --count "$SMALL_CALLS" --out "$dir/calls.csv"
    $PY ingest --url "$SVC_URL" --state "$dir/a.json" --file "$dir/calls.csv" >/dev/null
    stop_service "$SVC_PID"
    if [ "$backend" = sqlite ]; then
        sqlite3 "$dir/callcsv.db" ".backup $dir/template.db"
    else
        create_db "${TAG}_fair${n}_tpl" "${TAG}_fair$n"
    fi
    local brand_a brand_b
    brand_a=$(json "$(cat "$dir/a.json")" brand)
    brand_b=$(json "$(cat "$dir/b.json")" brand)

    local secs=() queued=() left=() i pids t0 c sid urls
    for r in $(seq "$REPS"); do
        rm -rf "$dir/reports" "$dir/outbox"
        if [ "$backend" = sqlite ]; then
            rm -f "$dir/callcsv.db" "$dir/callcsv.db-wal" "$dir/callcsv.db-shm"
            cp "$dir/template.db" "$dir/callcsv.db"
        else
            drop_db "${TAG}_fair$n"
            create_db "${TAG}_fair$n" "${TAG}_fair${n}_tpl"
        fi
        pids=(); urls=()
        for i in $(seq "$n"); do
            start_service "$dir" "$db_url" 1 warn "$svclog"
            pids+=("$SVC_PID"); urls+=("$SVC_URL")
        done
        # A's queue: the runners record it (a bounded batch per round) and start on it.
        $PY backlog --url "${urls[0]}" --state "$dir/a.json" --count "$BACKLOG_SCHEDULERS" \
            --occurrences "$BACKLOG_EACH" >/dev/null
        t0=$(now)
        while :; do
            c=$(sql "SELECT count(*) FROM call_csv_reports WHERE brand_id = '$brand_a'")
            [ "$c" -ge "$BACKLOG" ] && break
            [ "$(since "$t0" | cut -d. -f1)" -lt 600 ] || die "only $c of A's occurrences recorded after 600 s"
            sleep 0.2
        done
        queued+=("$(sql "SELECT count(*) FROM call_csv_reports WHERE brand_id = '$brand_a' AND status IN ('pending', 'building')")")
        # B's monthly report falls due now (its nextExecution is the start of this month).
        t0=$(now)
        sid=$(json "$($PY scheduler --url "${urls[0]}" --state "$dir/b.json" --name "B report")" id)
        while :; do
            c=$(sql "SELECT count(*) FROM call_csv_reports WHERE scheduler_id = '$sid' AND status = 'ready'")
            [ "$c" -ge 1 ] && break
            [ "$(since "$t0" | cut -d. -f1)" -lt 1800 ] || die "B's report not ready after 1800 s"
            sleep 0.1
        done
        secs+=("$(since "$t0")")
        left+=("$(sql "SELECT count(*) FROM call_csv_reports WHERE brand_id = '$brand_a' AND status IN ('pending', 'building')")")
        for i in "${pids[@]}"; do stop_service "$i"; done
        log "  [$label] run $r: B's report ready ${secs[-1]} s after falling due; A had ${queued[-1]} queued then, ${left[-1]} after"
    done
    local m
    m=$(median "${secs[@]}")
    result fairness "$label" "brand B's report falling due behind brand A's $(group $BACKLOG) queued occurrences: until ready" \
        "$m s" "≤ 10 s" "$(verdict "$m <= 10")" "-" \
        "runs: ${secs[*]}; A's queue when B fell due: ${queued[*]}; A's queue when B's report was ready: ${left[*]}"
}

# ---------------------------------------------------------------------------------------
# 7. A relay that stalls after DATA: building goes on

# bench_stall BACKEND
bench_stall() {
    local backend=$1 dir db_url svclog mode out
    dir=$WORK/stall-$backend
    mkdir -p "$dir"
    svclog=$dir/service.log
    if [ "$backend" = sqlite ]; then
        db_url=sqlite://$dir/callcsv.db
        sql() { sqlite3 "$dir/callcsv.db" "$1"; }
    else
        create_db "${TAG}_stall"
        db_url=$PG/${TAG}_stall
        sql() { psql -X -qtA -v ON_ERROR_STOP=1 "$db_url" -c "$1"; }
    fi
    log "[$backend] stall: $MAILED schedulers due at once, each mailing its report (runner off)"
    start_service "$dir" "$db_url" 0 warn "$svclog"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes 10 >/dev/null
    $PY calls --state "$dir/state.json" --count "$SMALL_CALLS" --out "$dir/calls.csv"
    $PY ingest --url "$SVC_URL" --state "$dir/state.json" --file "$dir/calls.csv" >/dev/null
    $PY schedulers --url "$SVC_URL" --state "$dir/state.json" --count "$MAILED" --threads 8 \
        --email ops@example.com >/dev/null
    stop_service "$SVC_PID"
    if [ "$backend" = sqlite ]; then
        sqlite3 "$dir/callcsv.db" ".backup $dir/template.db"
    else
        create_db "${TAG}_stall_tpl" "${TAG}_stall"
    fi

    local -A rates sent runs
    local r t0 c secs relay port
    for mode in ok stall; do
        runs[$mode]=""; local list=()
        for r in $(seq "$REPS"); do
            rm -rf "$dir/reports" "$dir/outbox"
            if [ "$backend" = sqlite ]; then
                rm -f "$dir/callcsv.db" "$dir/callcsv.db-wal" "$dir/callcsv.db-shm"
                cp "$dir/template.db" "$dir/callcsv.db"
            else
                drop_db "${TAG}_stall"
                create_db "${TAG}_stall" "${TAG}_stall_tpl"
            fi
            port=$(free_port)
            $PY relay --port "$port" --mode "$mode" &
            relay=$!; PIDS+=("$relay")
            sleep 0.3
            t0=$(now)
            SVC_EXTRA="CALLCSV_SMTP_URL=smtp://127.0.0.1:$port?tls=none" \
                start_service "$dir" "$db_url" 1 warn "$svclog"
            while :; do
                c=$(sql "SELECT count(*) FROM call_csv_reports WHERE status = 'ready'")
                [ "$c" -ge "$MAILED" ] && break
                [ "$(since "$t0" | cut -d. -f1)" -lt 1800 ] || die "only $c reports after 1800 s"
                sleep 0.2
            done
            secs=$(since "$t0")
            list+=("$secs")
            sent[$mode]=$(sql "SELECT count(*) FROM call_csv_reports WHERE email_status = 'sent'")
            # The relay goes first: its connections close, so no send is left hanging.
            kill "$relay" 2>/dev/null; wait "$relay" 2>/dev/null || true
            stop_service "$SVC_PID"
            log "  [$backend] relay $mode, run $r: $MAILED reports in $secs s; ${sent[$mode]} emails sent by then"
        done
        runs[$mode]="${list[*]}"
        rates[$mode]=$(calc "$MAILED / $(median "${list[@]}")" 0)
    done
    result stall "$backend" "$(group $MAILED) mailed reports due at once, relay answering vs relay stalling after DATA: reports built/s" \
        "${rates[ok]}/s answering, ${rates[stall]}/s stalled" "same rate" \
        "$(verdict "${rates[stall]} >= 0.8 * ${rates[ok]}")" "-" \
        "answering runs: ${runs[ok]} (emails sent when all were built: ${sent[ok]}); stalled runs: ${runs[stall]} (sent: ${sent[stall]})"
}

# ---------------------------------------------------------------------------------------
# 8. Slow readers: READERS concurrent GETs of the CSV stream of READERS_CALLS calls, each
# reading 32 KiB/s through a 16 KiB receive buffer for READERS_SECONDS, while a prober (a
# process of its own) times GET /brands/{id} and a 10-call JSON page (20 a second); the
# same prober first runs 10 s with no reader, for comparison. The stream limits are
# raised to READERS so every reader streams (the defaults would refuse the last 150 with
# 429). Peak RSS is VmHWM; "after" is VmRSS 10 s after the readers hung up (each run's
# details also have it after 3 s, and the load average).

bench_readers() {
    local backend=$1 dir=$WORK/readers-$1 svclog r out p99s=() idles=() hwms=() afters=() details=()
    mkdir -p "$dir"
    svclog=$dir/service.log
    if [ "$backend" = sqlite ]; then DB_URL=sqlite://$dir/callcsv.db
    else create_db "${TAG}_readers"; DB_URL=$PG/${TAG}_readers; fi
    log "[$backend] readers: preparing $READERS_CALLS calls"
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes "$PREFIXES" >/dev/null
    $PY calls --state "$dir/state.json" --count "$READERS_CALLS" --out "$dir/calls.csv"
    out=$($PY ingest --url "$SVC_URL" --state "$dir/state.json" --file "$dir/calls.csv")
    [ "$(json "$out" accepted)" = "$READERS_CALLS" ] || die "ingest: $out"
    stop_service "$SVC_PID"
    for r in $(seq "$REPS"); do
        SVC_EXTRA="CALLCSV_MAX_STREAMS=$READERS CALLCSV_MAX_STREAMS_PER_BRAND=$READERS" \
            start_service "$dir" "$DB_URL" 0 warn "$svclog"
        out=$($PY readers --url "$SVC_URL" --state "$dir/state.json" --pid "$SVC_PID" \
            --count "$READERS" --seconds "$READERS_SECONDS")
        stop_service "$SVC_PID"
        [ "$(json "$out" streaming)" = "$READERS" ] || die "readers: not all streamed: $out"
        p99s+=("$(json "$out" p99_ms)"); idles+=("$(json "$out" idle_p99_ms)"); hwms+=("$(json "$out" hwm_mb)"); afters+=("$(json "$out" rss_after_10s_mb)")
        details+=("$out")
        log "  [$backend] readers run $r: $out"
    done
    local p99 hwm
    p99=$(median "${p99s[@]}"); hwm=$(median "${hwms[@]}")
    result readers "$backend" "$READERS slow readers of the CSV stream ($(group $READERS_CALLS) calls, 32 KiB/s each) + other requests" \
        "p99 $p99 ms (other requests; $(median "${idles[@]}") ms with no reader, same runs); RSS $(median "${afters[@]}") MB after" "≤ 300 MB RSS, p99 < 100 ms" \
        "$(verdict "$hwm <= 300 && $p99 < 100")" "$hwm MB" "runs: ${details[*]}"
}

# ---------------------------------------------------------------------------------------
# 9. CDR sources: upload of a SOURCE_RECORDS-line Asterisk Master.csv (18 columns, answered
# outbound calls from extensions, client by accountcode, carrier by the dstchannel's trunk)
# to an asterisk-csv source, streamed, rated and stored; against the database's own bulk
# load of the rows it stored (as for ingestion). Peak RSS of the service; SOURCE_BIG adds
# one upload of that many records to show memory stays flat.

# The brand, its sources and a template database for fresh_db.
sources_template() {
    local backend=$1 dir=$2
    if [ "$backend" = sqlite ]; then DB_URL=sqlite://$dir/callcsv.db
    else create_db "${TAG}_tpl"; DB_URL=$PG/${TAG}_tpl; fi
    start_service "$dir" "$DB_URL" 0 warn "$dir/service.log"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes "$PREFIXES" >/dev/null
    $PY source --url "$SVC_URL" --state "$dir/state.json" >/dev/null
    stop_service "$SVC_PID"
    if [ "$backend" = sqlite ]; then sqlite3 "$dir/callcsv.db" ".backup $dir/template.db"; fi
}

# Push: 16 senders, one record per request, PUSH_SECONDS each run (also alone: bench/run.sh push).
push_runs() {
    local backend=$1 dir=$2 svclog=$2/service.log out r
    local rates=() p99s=() pushes=()
    for r in $(seq "$REPS"); do
        fresh_db "$backend" "$dir"
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        out=$($PY push --url "$SVC_URL" --state "$dir/state.json" --senders 16 --seconds "$PUSH_SECONDS")
        stop_service "$SVC_PID"
        [ "$(json "$out" failures)" = 0 ] || die "push: $out"
        rates+=("$(json "$out" per_second)"); p99s+=("$(json "$out" p99_ms)"); pushes+=("$out")
        log "  [$backend] push run $r: $out"
    done
    local rate p99
    rate=$(median "${rates[@]}"); p99=$(median "${p99s[@]}")
    result sources "$backend" "push: 16 senders posting one FreeSWITCH mod_json_cdr document per request" \
        "$(group "$rate") records/s, p99 $p99 ms" "≥ 2 000/s, p99 ≤ 50 ms" \
        "$(verdict "$rate >= 2000 && $p99 <= 50")" "-" "runs: ${pushes[*]}"
    # The same 16 senders from wrk (two C threads, bench/push.lua) when it is installed
    # (Debian's wrk): the Python senders take a good share of two cores themselves.
    command -v wrk >/dev/null || { log "  wrk not installed: no wrk push runs"; return 0; }
    local wrates=() wp99s=() wruns=() ids
    for r in $(seq "$REPS"); do
        fresh_db "$backend" "$dir"
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        ids=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['pushSource'], s['pushSecret'])" "$dir/state.json")
        out=$(PUSH_PATH="/cdr_sources/${ids% *}/records" PUSH_SECRET="${ids#* }" \
            wrk -t 2 -c 16 -d "${PUSH_SECONDS}s" -s "$ROOT/bench/push.lua" "$SVC_URL" | sed -n 's/^JSON //p')
        stop_service "$SVC_PID"
        [ "$(json "$out" failures)" = 0 ] || die "wrk push: $out"
        wrates+=("$(json "$out" per_second)"); wp99s+=("$(json "$out" p99_ms)"); wruns+=("$out")
        log "  [$backend] wrk push run $r: $out"
    done
    rate=$(median "${wrates[@]}"); p99=$(median "${wp99s[@]}")
    result sources "$backend" "push from wrk: 16 connections each posting one mod_json_cdr document per request" \
        "$(group "$rate") records/s, p99 $p99 ms" "≥ 2 000/s, p99 ≤ 50 ms" \
        "$(verdict "$rate >= 2000 && $p99 <= 50")" "-" "runs: ${wruns[*]}"

}

# Ingestion with 100 destination and velocity alert rules vs none: two brands of one
# service, one with the rules; POSTs of ALERT_BATCH fresh calls to each in turn (which one
# goes first alternates), REPS times; the medians compared.
bench_alerts() {
    local backend=$1 dir=$WORK/alerts-$1 svclog r out none=() ruled=()
    local batch=${ALERT_BATCH:-$([ $QUICK = 1 ] && echo 2000 || echo 20000)}
    mkdir -p "$dir"
    svclog=$dir/service.log
    if [ "$backend" = sqlite ]; then
        DB_URL=sqlite://$dir/callcsv.db
    else
        create_db "${TAG}_alerts"
        DB_URL=$PG/${TAG}_alerts
    fi
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    log "[$backend] alerts: two brands, 100 rules on one"
    $PY setup --url "$SVC_URL" --state "$dir/none.json" --prefixes "$PREFIXES" >/dev/null
    $PY setup --url "$SVC_URL" --state "$dir/rules.json" --prefixes "$PREFIXES" >/dev/null
    $PY alert-rules --url "$SVC_URL" --state "$dir/rules.json" --count 100 >/dev/null
    for r in $(seq 0 $((REPS - 1))); do
        $PY calls --state "$dir/none.json" --count "$batch" --batch "$r" --out "$dir/none-$r.csv"
        $PY calls --state "$dir/rules.json" --count "$batch" --batch "$r" --out "$dir/rules-$r.csv"
    done
    post() {
        out=$($PY ingest --url "$SVC_URL" --state "$dir/$1.json" --file "$dir/$1-$2.csv")
        [ "$(json "$out" accepted)" = "$batch" ] || die "alerts ingest: $out"
        json "$out" seconds
    }
    for r in $(seq 0 $((REPS - 1))); do
        if [ $((r % 2)) = 0 ]; then
            none+=("$(post none "$r")"); ruled+=("$(post rules "$r")")
        else
            ruled+=("$(post rules "$r")"); none+=("$(post none "$r")")
        fi
        log "  [$backend] alerts run $((r + 1)): no rules ${none[-1]} s, 100 rules ${ruled[-1]} s"
    done
    local peak m0 m1 slower
    peak=$(peak_mb "$SVC_PID")
    stop_service "$SVC_PID"
    m0=$(median "${none[@]}"); m1=$(median "${ruled[@]}")
    slower=$(calc "($m1 / $m0 - 1) * 100" 1)
    result alerts "$backend" "$(group "$batch") calls per POST, 100 destination + velocity rules vs none" \
        "$m1 s vs $m0 s = ${slower} %" "≤ 10 % slower" "$(verdict "$slower <= 10")" "$peak MB" \
        "no rules: ${none[*]}; 100 rules: ${ruled[*]}"
}

bench_push() {
    local backend=$1 dir=$WORK/push-$1
    mkdir -p "$dir"
    log "[$backend] push: preparing the brand and its sources"
    sources_template "$backend" "$dir"
    push_runs "$backend" "$dir"
}

bench_sources() {
    local backend=$1 dir=$WORK/sources-$1 svclog r out secs=() rss=() big=""
    mkdir -p "$dir"
    svclog=$dir/service.log
    log "[$backend] sources: preparing the brand, its source and a $(group $SOURCE_RECORDS)-line Master.csv"
    sources_template "$backend" "$dir"
    $PY master-csv --state "$dir/state.json" --count "$SOURCE_RECORDS" --out "$dir/Master.csv"
    for r in $(seq "$REPS"); do
        fresh_db "$backend" "$dir"
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        out=$($PY upload --url "$SVC_URL" --state "$dir/state.json" --file "$dir/Master.csv")
        [ "$(json "$out" accepted)" = "$SOURCE_RECORDS" ] || die "upload: $out"
        secs+=("$(json "$out" seconds)")
        rss+=("$(peak_mb "$SVC_PID")")
        stop_service "$SVC_PID"
        log "  [$backend] upload run $r: ${secs[-1]} s, peak ${rss[-1]} MB"
    done
    if [ "$backend" = sqlite ]; then
        sqlite3 -csv "$dir/callcsv.db" "SELECT * FROM billable_calls" >"$dir/rows.csv"
    else
        psql -X -q "$DB_URL" -c "\\copy billable_calls TO '$dir/rows.csv' CSV" >/dev/null
    fi
    local load=() BATCH=$SOURCE_RECORDS
    for r in $(seq "$REPS"); do
        load+=("$(db_load "$backend" "$dir" "$dir/rows.csv")")
        log "  [$backend] database bulk load run $r: ${load[-1]} s"
    done
    if [ "$SOURCE_BIG" -gt 0 ]; then
        $PY master-csv --state "$dir/state.json" --count "$SOURCE_BIG" --seed 1 --out "$dir/Big.csv"
        fresh_db "$backend" "$dir"
        start_service "$dir" "$DB_URL" 0 warn "$svclog"
        out=$($PY upload --url "$SVC_URL" --state "$dir/state.json" --file "$dir/Big.csv")
        [ "$(json "$out" accepted)" = "$SOURCE_BIG" ] || die "upload: $out"
        big="; $(group "$SOURCE_BIG") records: $(json "$out" seconds) s, peak $(peak_mb "$SVC_PID") MB"
        stop_service "$SVC_PID"
        rm -f "$dir/Big.csv"
        log "  [$backend] big upload$big"
    fi
    # Spool: the same Master.csv appended to a file of the source's spool directory while the
    # service runs (runner scanning every second); from the first byte appended to the last
    # record stored.
    local spools=() spoolruns=()
    for r in $(seq "$REPS"); do
        fresh_db "$backend" "$dir"
        rm -rf "$dir/spoolroot"; mkdir -p "$dir/spoolroot/spool"
        SVC_EXTRA="CALLCSV_SPOOL_ROOT=$dir/spoolroot CALLCSV_SPOOL_POLL_SECONDS=1" \
            start_service "$dir" "$DB_URL" 30 warn "$svclog"
        out=$($PY spool --url "$SVC_URL" --state "$dir/state.json" --file "$dir/Master.csv" \
            --dir "$dir/spoolroot/spool")
        stop_service "$SVC_PID"
        spools+=("$(json "$out" seconds)"); spoolruns+=("$out")
        log "  [$backend] spool run $r: $out"
    done
    rm -rf "$dir/spoolroot"
    push_runs "$backend" "$dir"

    local m l ratio peak
    m=$(median "${secs[@]}"); l=$(median "${load[@]}"); ratio=$(calc "$m / $l"); peak=$(max "${rss[@]}")
    result sources "$backend" "upload of a $(group "$SOURCE_RECORDS")-line asterisk-csv Master.csv (18 columns; rated, stored)" \
        "$m s = $(group "$(calc "$SOURCE_RECORDS / $m" 0)") records/s; bulk load $l s; ratio ${ratio}×" "≤ 2× bulk load, ≤ 100 MB" \
        "$(verdict "$ratio <= 2 && $peak <= 100")" "$peak MB" \
        "upload runs: ${secs[*]} (peaks ${rss[*]} MB); $( [ $backend = sqlite ] && echo 'sqlite3 .import' || echo 'psql \copy FROM') runs: ${load[*]}$big"
    local sp sratio
    sp=$(median "${spools[@]}"); sratio=$(calc "$sp / $m")
    result sources "$backend" "spool: the same Master.csv appended to a watched spool file while the service runs" \
        "$sp s from first byte appended to last record stored; upload $m s; ratio ${sratio}×" "≤ 2× upload" \
        "$(verdict "$sratio <= 2")" "-" "runs: ${spoolruns[*]}"
}


# ---------------------------------------------------------------------------------------
# 10. Statistics: GET /stats on a brand of STATS_CALLS calls over a year (Dec 2025 – Nov
# 2026), both backends. The brand (50 clients, 5 carriers, 200 endpoints of the first
# client) is made over HTTP; the calls are generated by the database itself (bulk SQL,
# billable_calls' indexes dropped meanwhile and rebuilt); the rollup is then built by
# migrations 000018's and 000020's own statements (see rollup_sql).
# Each query is timed STATS_QUERIES times after 3 untimed ones; p95 by nearest rank.
# Then ingestion with and without keeping the statistics: the 100 000-call POST of
# `bench/run.sh ingest` on a fresh database, alternately by this binary and by the one of
# STATS_BASELINE_REV (the commit before the rollup, built in target/stats-baseline; or
# STATS_BASELINE_BIN), REPS times each.

STATS_BASELINE_REV=${STATS_BASELINE_REV:-cf0f758}

# stats_sql BACKEND BRAND → the INSERT of the calls (reads the bench_map table)
stats_sql() {
    local backend=$1 brand=$2 n=$STATS_CALLS
    local countries="FRDEITPTGBUSMXARCOMANLBECHATPLRORUCNINBRCLPESEDKIEGRZANGEC"
    if [ "$backend" = sqlite ]; then
        local t="datetime(CASE WHEN n < 1000000 THEN '2026-10-01' ELSE '2025-12-01' END, '+' || (CASE WHEN n < 1000000 THEN (n * 2677) % 2678400 ELSE (n * 7919) % 31536000 END) || ' seconds')"
        local money="printf('%d.%06d', X / 1000000, X % 1000000)"
        local uuid="printf('00000000-0000-7000-8000-%012d', n)"
        echo "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < $n - 1),"
    else
        local t="CASE WHEN n < 1000000 THEN timestamp '2026-10-01' + ((n * 2677) % 2678400) * interval '1 second' ELSE timestamp '2025-12-01' + ((n * 7919) % 31536000) * interval '1 second' END"
        local money="((X) / 1000000)::text || '.' || lpad(((X) % 1000000)::text, 6, '0')"
        local uuid="'00000000-0000-7000-8000-' || lpad(n::text, 12, '0')"
        echo "WITH s(n) AS (SELECT generate_series(0::bigint, $n - 1)),"
    fi
    cat <<SQL
g AS (
  SELECT n, $t AS t,
    CASE WHEN n % 5 = 0 THEN 'inbound' ELSE 'outbound' END AS dir,
    CASE (n / 3) % 20 WHEN 15 THEN 'noanswer' WHEN 16 THEN 'noanswer' WHEN 17 THEN 'busy'
      WHEN 18 THEN 'busy' WHEN 19 THEN 'failed' ELSE 'answered' END AS disp,
    CASE WHEN n < 1000000 THEN 0 ELSE n % 50 END AS ci,
    (n * 13) % 600 AS secs,
    (n * 2654435761) % 1000 AS h
  FROM s
),
c AS (
  SELECT g.*,
    CASE WHEN disp = 'answered' THEN secs ELSE 0 END AS billed,
    CASE WHEN disp = 'answered' AND dir = 'outbound' THEN secs * (100 + (n % 7) * 50) END AS cost_m,
    CASE WHEN disp = 'answered' AND dir = 'outbound' AND n % 100 <> 7 THEN secs * (150 + (n % 7) * 75) END AS price_m,
    CASE WHEN h < 600 THEN 'ES' ELSE substr('$countries', CAST(1 + 2 * (h % 29) AS INTEGER), 2) END AS country
  FROM g
)
INSERT INTO billable_calls (id, brand_id, callid, start_time, duration, billed_seconds, caller,
  callee, direction, client_id, carrier_id, endpoint_type, endpoint_id, cost, price, cost_micros,
  price_micros, destination_country, disposition, created_at, updated_at)
SELECT $uuid, '$brand', 'call-' || n, t, CAST(secs AS TEXT), billed,
  CASE WHEN dir = 'inbound' THEN '+' || n ELSE '+34910000000' END,
  CASE WHEN dir = 'inbound' THEN '+34910000000' ELSE '+' || n END,
  dir, cl.id, ca.id, CASE WHEN ep.id IS NOT NULL THEN 'User' END, ep.id,
  CASE WHEN cost_m IS NOT NULL THEN ${money//X/cost_m} END,
  CASE WHEN price_m IS NOT NULL THEN ${money//X/price_m} END,
  cost_m, price_m, country, disp, t, t
FROM c
JOIN bench_map cl ON cl.kind = 'client' AND cl.i = ci
LEFT JOIN bench_map ca ON ca.kind = 'carrier' AND ca.i = (n / 7) % 5 AND dir = 'outbound'
LEFT JOIN bench_map ep ON ep.kind = 'endpoint' AND ep.i = (n / 50) % 200 AND ci = 0;
SQL
}

# The rollup statements of migrations 000018 (quarter-hours) and 000020 (days), for BACKEND.
rollup_sql() {
    sed -n '/^-- The calls stored before/,$p' "$ROOT"/migrations/"$1"/*_call_rollups/up.sql
    sed -n '/^-- The days of the rows stored before/,/^-- The journal of differences/p' \
        "$ROOT"/migrations/"$1"/*_rollups_daily/up.sql | grep -v '^-- The journal of differences'
}

bench_stats_queries() {
    local backend=$1 dir=$WORK/stats-$1 svclog out brand big t0 sqlx
    mkdir -p "$dir"
    svclog=$dir/service.log
    if [ "$backend" = sqlite ]; then
        DB_URL=sqlite://$dir/callcsv.db
        sqlx() { sqlite3 -bail "$dir/callcsv.db" "$@"; }
    else
        create_db "${TAG}_stats"; DB_URL=$PG/${TAG}_stats
        sqlx() { psql -X -q -v ON_ERROR_STOP=1 "$DB_URL" "$@"; }
    fi
    log "[$backend] stats: brand with 50 clients, 5 carriers, 200 endpoints"
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes 10 >/dev/null
    $PY stats-setup --url "$SVC_URL" --state "$dir/state.json" >/dev/null
    stop_service "$SVC_PID"
    brand=$(json "$(cat "$dir/state.json")" brand)
    big=$(json "$(cat "$dir/state.json")" client)
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("CREATE TABLE bench_map (kind TEXT, i INTEGER, id TEXT);")
for kind in ("client", "carrier", "endpoint"):
    for i, v in enumerate(s[kind + "s"]):
        print(f"INSERT INTO bench_map VALUES (\x27{kind}\x27, {i}, \x27{v}\x27);")
' "$dir/state.json" >"$dir/map.sql"
    log "[$backend] stats: generating $(group "$STATS_CALLS") calls in the database"
    t0=$(now)
    if [ "$backend" = sqlite ]; then
        sqlx "SELECT sql || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'billable_calls' AND sql IS NOT NULL" >"$dir/indexes.sql"
        sqlx "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_master WHERE type = 'index' AND tbl_name = 'billable_calls' AND sql IS NOT NULL" >"$dir/drop.sql"
        { echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-1000000;"; cat "$dir/drop.sql" "$dir/map.sql";
          stats_sql sqlite "$brand"; cat "$dir/indexes.sql"; echo "DROP TABLE bench_map;"; } | sqlx >/dev/null
    else
        sqlx -tA -c "SELECT indexdef || ';' FROM pg_indexes WHERE tablename = 'billable_calls' AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%key'" >"$dir/indexes.sql"
        sqlx -tA -c "SELECT 'DROP INDEX ' || indexname || ';' FROM pg_indexes WHERE tablename = 'billable_calls' AND indexname NOT LIKE '%pkey' AND indexname NOT LIKE '%key'" >"$dir/drop.sql"
        { echo "SET session_replication_role = replica;"; cat "$dir/drop.sql" "$dir/map.sql";
          stats_sql postgres "$brand"; cat "$dir/indexes.sql"; echo "DROP TABLE bench_map;"; } | sqlx >/dev/null
    fi
    log "  [$backend] calls generated and indexed in $(since "$t0") s"
    t0=$(now)
    rollup_sql "$backend" | sqlx >/dev/null
    if [ "$backend" = sqlite ]; then sqlx "ANALYZE" >/dev/null; else sqlx -c "VACUUM ANALYZE" >/dev/null; fi
    local rollup_rows
    if [ "$backend" = sqlite ]; then rollup_rows=$(sqlx "SELECT count(*) FROM call_rollups")
    else rollup_rows=$(sqlx -tA -c "SELECT count(*) FROM call_rollups"); fi
    log "  [$backend] rollup built by the migration's SQL in $(since "$t0") s: $rollup_rows rows"

    local month="startTime%5Bafter%5D=2026-10-01&startTime%5Bstrictly_before%5D=2026-11-01"
    local year="startTime%5Bafter%5D=2025-12-01&startTime%5Bstrictly_before%5D=2026-12-01"
    local base="/stats?brand=$brand&timezone=Europe/Madrid"
    printf '%s\n' "$base&$month&groupBy=day" "$base&$month&groupBy=country" \
        "$base&$month&groupBy=carrier" "$base&$year&groupBy=month,carrier" \
        "$base&$month&client=$big&groupBy=endpoint" >"$dir/paths.txt"
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    if wanted pages; then bench_pages "$backend" "$dir"; fi
    if wanted alertpass; then bench_alert_pass "$backend" "$dir"; fi
    if ! wanted stats; then
        stop_service "$SVC_PID"
        if [ "${KEEP:-0}" != 1 ]; then
            if [ "$backend" = sqlite ]; then rm -f "$dir"/callcsv.db*; else drop_db "${TAG}_stats"; fi
        fi
        return
    fi
    out=$($PY stats-queries --url "$SVC_URL" --paths "$dir/paths.txt" --count "$STATS_QUERIES")
    stop_service "$SVC_PID"
    log "  [$backend] $out"
    local what target limit path p95 i=0
    for what in "31 days by day|50" "31 days by country|50" "31 days by carrier|50" \
        "a year by month,carrier|200" "a client's month by endpoint|500"; do
        i=$((i + 1))
        path=$(sed -n "${i}p" "$dir/paths.txt")
        limit=${what#*|}
        p95=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]]["p95_ms"])' "$out" "$path")
        local detail; detail=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1])[sys.argv[2]]; print("median %s ms, %s rows, %s calls" % (d["median_ms"], d["rows"], d["calls"]))' "$out" "$path")
        result stats "$backend" "GET /stats, $(group "$STATS_CALLS")-call brand: ${what%|*}" \
            "p95 $p95 ms" "≤ $limit ms" "$(verdict "$p95 <= $limit")" "-" \
            "$STATS_QUERIES requests after 3 untimed; $detail; rollup $rollup_rows rows"
    done
    if [ "${KEEP:-0}" != 1 ]; then
        if [ "$backend" = sqlite ]; then rm -f "$dir"/callcsv.db*; else drop_db "${TAG}_stats"; fi
    fi
}

# 12. One runner pass of ALERT_RULES (default 1 000) enabled spend and quality alert rules
# on the statistics brand (its service running, stopped here): `callcsv evaluate-alerts
# --at` a moment of its busiest month, REPS times; the first pass records the events that
# fire, the later ones find them recorded. Target: 2 s per pass.
bench_alert_pass() {
    local backend=$1 dir=$2 out secs=() recorded=() r n=${ALERT_RULES:-1000}
    log "[$backend] alert pass: $n spend and quality rules"
    $PY alert-rules-pass --url "$SVC_URL" --state "$dir/state.json" --count "$n" >/dev/null
    stop_service "$SVC_PID"
    for r in $(seq "$REPS"); do
        out=$(cd "$dir" && env CALLCSV_DATA_DIR="$dir" CALLCSV_DATABASE_URL="$DB_URL" CALLCSV_LOG=warn \
            "$BIN" evaluate-alerts --at 2026-10-15T12:20:00Z)
        secs+=("$(json "$out" seconds)"); recorded+=("$(json "$out" recorded)")
        log "  [$backend] alert pass $r: $out"
    done
    local m; m=$(median "${secs[@]}")
    result alertpass "$backend" "one runner pass of $(group "$n") spend and quality rules, $(group "$STATS_CALLS")-call brand" \
        "$(calc "$m" 2) s" "≤ 2 s" "$(verdict "$m <= 2")" "-" \
        "passes: ${secs[*]} s; events recorded: ${recorded[*]}"
    start_service "$dir" "$DB_URL" 0 warn "$dir/service.log"
}

# 11. The console's pages as a brand operator of the statistics brand (its service running),
# each timed STATS_QUERIES times after 2 untimed; p95 by nearest rank, target 100 ms.
bench_pages() {
    local backend=$1 dir=$2 client call out
    client=$(json "$(cat "$dir/state.json")" client)
    call=$(json "$($PY operator --url "$SVC_URL" --state "$dir/state.json")" call)
    local pages=(/ui/ "/ui/?range=24h" "/ui/?range=7d" /ui/calls "/ui/calls?client=$client"
        /ui/statistics /ui/statistics/traffic /ui/statistics/countries /ui/statistics/carriers
        /ui/statistics/clients /ui/statistics/compare /ui/schedulers /ui/schedulers/new
        /ui/reports /ui/clients /ui/carriers /ui/ddis /ui/endpoints /ui/ddi_providers
        /ui/rating_plans /ui/rating_profiles /ui/cdr_sources /ui/cdr_imports "/ui/calls/$call"
        "/ui/calls?from=2026-10-01T00%3A00&to=2026-11-01T00%3A00"
        "/ui/statistics/traffic?from=2026-10-01&to=2026-10-31"
        "/ui/statistics/traffic?from=2025-12-01&to=2026-11-30"
        "/ui/statistics/countries?from=2026-10-01&to=2026-10-31"
        "/ui/statistics/carriers?from=2026-10-01&to=2026-10-31"
        "/ui/statistics/clients?from=2026-10-01&to=2026-10-31"
        "/ui/statistics/compare?day=2026-10-15&days=7")
    log "  [$backend] pages: ${#pages[@]} console pages as a brand operator"
    out=$(python3 "$ROOT/bench/pages.py" --url "$SVC_URL" --user bench-operator \
        --password bench-password --reps "$STATS_QUERIES" --dump "$dir" "${pages[@]}")
    log "  [$backend] $out"
    local summary
    summary=$(python3 -c '
import json, sys
d = json.loads(sys.argv[1])["pages"]
bad = [k for k, v in d.items() if v["status"] != [200]]
if bad:
    sys.exit("pages not 200: " + ", ".join("%s %s" % (k, d[k]["status"]) for k in bad))
worst = max(d, key=lambda k: d[k]["p95_ms"])
print("%s\t%s\t%s" % (d[worst]["p95_ms"], worst, "; ".join("%s %s" % (k, v["p95_ms"]) for k, v in d.items())))
' "$out") || die "$summary"
    local p95 worst all
    IFS=$'\t' read -r p95 worst all <<<"$summary"
    result pages "$backend" "console pages (${#pages[@]}) as a brand operator, $(group "$STATS_CALLS")-call brand: the slowest page's p95" \
        "p95 $p95 ms ($worst)" "≤ 100 ms" "$(verdict "$p95 <= 100")" "-" \
        "$STATS_QUERIES requests per page after 2 untimed; p95 ms per page: $all"
}

# The release binary of STATS_BASELINE_REV (built once into target/stats-baseline, starting
# from a copy of target/release so only callcsv itself compiles).
stats_baseline_bin() {
    if [ -n "${STATS_BASELINE_BIN:-}" ]; then echo "$STATS_BASELINE_BIN"; return; fi
    local src=$ROOT/target/stats-baseline/src tgt=$ROOT/target/stats-baseline
    if [ ! -x "$tgt/release/callcsv" ] || [ "$(cat "$tgt/rev" 2>/dev/null)" != "$STATS_BASELINE_REV" ]; then
        log "building the baseline $STATS_BASELINE_REV into $tgt"
        mkdir -p "$tgt"
        [ -d "$tgt/release" ] || cp -a "${CARGO_TARGET_DIR:-$ROOT/target}/release" "$tgt/release"
        rm -rf "$src"; mkdir -p "$src"
        git -C "$ROOT" archive "$STATS_BASELINE_REV" | tar -x -C "$src"
        CARGO_TARGET_DIR=$tgt cargo build -q --release --bin callcsv --manifest-path "$src/Cargo.toml" >&2
        echo "$STATS_BASELINE_REV" >"$tgt/rev"
    fi
    echo "$tgt/release/callcsv"
}

bench_stats_ingest() {
    local backend=$1 dir=$WORK/stats-ingest-$1 svclog=$WORK/stats-ingest-$1/service.log base_bin r out kind
    local with=() without=() lags=() current_bin=$BIN
    mkdir -p "$dir"
    base_bin=$(stats_baseline_bin)
    if [ "$backend" = sqlite ]; then DB_URL=sqlite://$dir/callcsv.db
    else create_db "${TAG}_tpl"; DB_URL=$PG/${TAG}_tpl; fi
    start_service "$dir" "$DB_URL" 0 warn "$svclog"
    $PY setup --url "$SVC_URL" --state "$dir/state.json" --prefixes "$PREFIXES" >/dev/null
    stop_service "$SVC_PID"
    [ "$backend" = sqlite ] && sqlite3 "$dir/callcsv.db" ".backup $dir/template.db"
    $PY calls --state "$dir/state.json" --count "$BATCH" --out "$dir/calls.csv"
    for r in $(seq "$REPS"); do
        for kind in with without; do
            [ "$kind" = without ] && BIN=$base_bin
            fresh_db "$backend" "$dir"
            start_service "$dir" "$DB_URL" 0 warn "$svclog"
            out=$($PY ingest --url "$SVC_URL" --state "$dir/state.json" --file "$dir/calls.csv")
            [ "$(json "$out" accepted)" = "$BATCH" ] || die "ingest: $out"
            local lag=""
            if [ "$kind" = with ]; then
                # How long after the POST the rollup alone holds every call (the journal
                # folded; /stats is exact meanwhile from both).
                local t0 left
                t0=$(now)
                while :; do
                    if [ "$backend" = sqlite ]; then left=$(sqlite3 "$dir/callcsv.db" "SELECT count(*) FROM call_rollup_journal")
                    else left=$(psql -X -tA "$DB_URL" -c "SELECT count(*) FROM call_rollup_journal"); fi
                    [ "$left" = 0 ] && break
                    sleep 0.05
                done
                lag=$(since "$t0"); lags+=("$lag")
            fi
            stop_service "$SVC_PID"
            BIN=$current_bin
            if [ "$kind" = with ]; then with+=("$(json "$out" seconds)"); else without+=("$(json "$out" seconds)"); fi
            log "  [$backend] ingest $kind statistics, run $r: $(json "$out" seconds) s${lag:+, journal folded $lag s after}"
        done
    done
    if [ "$backend" = postgres ]; then drop_db "${TAG}_calls"; drop_db "${TAG}_tpl"; fi
    local w wo cost
    w=$(median "${with[@]}"); wo=$(median "${without[@]}")
    cost=$(calc "(1 - $wo / $w) * 100" 1)
    result stats "$backend" "ingestion of $(group $BATCH) calls (one text/csv POST) with vs without keeping the statistics" \
        "$(group "$(calc "$BATCH / $w" 0)")/s with, $(group "$(calc "$BATCH / $wo" 0)")/s without: throughput −$cost %" \
        "≤ 15 %" "$(verdict "$cost <= 15")" "-" \
        "with (this commit): ${with[*]} s; without ($STATS_BASELINE_REV): ${without[*]} s; the rollup alone caught up ${lags[*]} s after each POST with (the statistics journal folded; /stats is exact meanwhile)"
}
# ---------------------------------------------------------------------------------------

if [ "${NO_BUILD:-0}" = 1 ] || [ -n "${BENCH_BIN:-}" ]; then
    log "NO_BUILD=1: using $BIN as it is"
else
    log "building: cargo build --release (binary and examples)"
    cargo build -q --release --bins --examples
fi
COMMIT=$(git -C "$ROOT" describe --always --dirty --abbrev=10 2>/dev/null || echo unknown)
log "commit $COMMIT; work dir $WORK; sizes: batch $BATCH × $BATCHES, $SCHEDULERS schedulers; $REPS runs each"

wanted engine && bench_engine
for backend in $BACKENDS; do
    if wanted ingest || wanted stream || wanted report; then bench_calls "$backend"; fi
done
if wanted readers; then
    for backend in $BACKENDS; do bench_readers "$backend"; done
fi
if wanted schedulers; then
    for backend in $BACKENDS; do
        if [ "$backend" = sqlite ]; then bench_schedulers sqlite 1
        else bench_schedulers postgres 1; bench_schedulers postgres 2; fi
    done
fi
if wanted fairness; then
    for backend in $BACKENDS; do
        if [ "$backend" = sqlite ]; then bench_fairness sqlite 1
        else bench_fairness postgres 1; bench_fairness postgres 2; fi
    done
fi
if wanted stall; then
    for backend in $BACKENDS; do bench_stall "$backend"; done
fi
if wanted sources; then
    for backend in $BACKENDS; do bench_sources "$backend"; done
elif wanted push; then
    for backend in $BACKENDS; do bench_push "$backend"; done
fi
if wanted alerts; then
    for backend in $BACKENDS; do bench_alerts "$backend"; done
fi
if wanted stats || wanted pages || wanted alertpass; then
    for backend in $BACKENDS; do
        bench_stats_queries "$backend"
        if wanted stats; then bench_stats_ingest "$backend"; fi
    done
fi

# ---------------------------------------------------------------------------------------
# The table

table() {
    echo "| benchmark | backend | result (median of $REPS) | peak RSS | target | |"
    echo "|---|---|---|---|---|---|"
    awk -F'\t' '{ printf "| %s: %s | %s | %s | %s | %s | %s |\n", $1, $3, $2, $4, $7, $5, $6 }' "$RESULTS"
}
{
    echo "# callcsv benchmarks"
    echo
    echo "- date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- commit: $COMMIT (release build of the working tree)"
    echo "- machine: $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); shared with other work, so figures are noisy: each is the median of $REPS runs"
    echo "- databases: SQLite (bundled in the binary; sqlite3 $(sqlite3 --version | cut -d' ' -f1) for the baselines), PostgreSQL $(psql -X -qtA "$PG/postgres" -c 'SHOW server_version' | cut -d' ' -f1) on 127.0.0.1"
    echo "- sizes: ingestion $(group $BATCH) calls in one request, all rated against plans of $(group $PREFIXES) prefixes; streaming and the report $(group $TOTAL) calls ($BATCHES requests of $(group $BATCH)); $(group $SCHEDULERS) schedulers"
    echo "- command: \`bench/run.sh${*:+ $*}\`"
    echo
    table
    echo
    echo "Details (every run, in seconds):"
    echo
    awk -F'\t' '{ printf "- %s [%s]: %s\n", $1, $2, $8 }' "$RESULTS"
} >"$WORK/results.md"

echo
cat "$WORK/results.md"
if [ $FULL = 1 ]; then
    cp "$WORK/results.md" "$ROOT/bench/results.md"
    log "written to bench/results.md"
else
    cp "$WORK/results.md" "$ROOT/bench/results-partial.md"
    log "written to bench/results-partial.md (bench/results.md is only written by a full run)"
fi
