#!/usr/bin/env bash
# Speed benchmark of sockgrade: figures, not pass/fail assertions.
#
#   tests/bench.sh                 # from any directory
#   BENCH_RUNS=30 tests/bench.sh   # more runs per measurement (default 10)
#   BENCH_TIMER=loop tests/bench.sh  # the plain loop even if hyperfine is here
#
# What it measures (wall time of whole `sockgrade grade` commands):
#   1. reference-python (11 exercises, all pass) against the FLOOR: the
#      same 11 Python interpreters started one after another. Target: the
#      grade takes less than the floor.
#   2. crash-at-start (11 programs that raise at once). Target: < 1.5 s.
#   3. reference-c, (a) as is, its manifest's `cc` build included, and
#      (b) pre-built: the binary compiled once beforehand and a manifest
#      without `build`. Target for (b): about 0.1 s (met when <= 0.15 s).
#
# The notebook's exercises use FIXED ports, so everything runs inside a
# private network namespace (its own loopback): the benchmark cannot collide
# with tests, or another benchmark, running at the same time. The script
# re-executes itself once inside `unshare --net --map-root-user` rather than
# paying for a namespace per run.
#
# Uses hyperfine when installed, otherwise a plain loop timed with
# `date +%s%N`. Exit status: 0 when every figure was measured (whether or
# not the targets are met), non-zero on a setup or harness error.

set -euo pipefail

RUNS="${BENCH_RUNS:-10}"
WARMUP=2
# Set (to the parent's network namespace) only in the re-executed copy.
NETNS_VAR=SOCKGRADE_BENCH_PARENT_NETNS

die() {
    echo "bench.sh: $*" >&2
    exit 2
}

note() {
    echo "== $*" >&2
}

# --- outside the namespace: build, then re-exec inside one ------------------

# The repository root, whatever the caller's cwd.
repo_root() {
    local here
    here="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
    (cd -- "$here/.." && pwd -P)
}

enter_namespace() {
    command -v unshare >/dev/null 2>&1 ||
        die "unshare (util-linux) is not installed; it is needed for a private network namespace (the exercises use fixed ports)"
    command -v ip >/dev/null 2>&1 ||
        die "ip (iproute2) is not installed; it is needed to bring up the namespace's loopback"
    unshare --net --map-root-user -- true 2>/dev/null ||
        die "unshare --net --map-root-user fails here (user namespaces disabled?); cannot isolate the fixed ports"

    note "cargo build --release"
    cargo build --release --quiet || die "cargo build --release failed"

    local self
    self="$(pwd -P)/tests/bench.sh"
    export "$NETNS_VAR=$(readlink /proc/self/ns/net)"
    exec unshare --net --map-root-user -- bash "$self" "$@"
}

# --- inside the namespace ---------------------------------------------------

setup_namespace() {
    # Guard against the variable leaking from a caller's environment: we
    # must really be in a different network namespace from the parent's.
    [[ "$(readlink /proc/self/ns/net)" != "${!NETNS_VAR}" ]] ||
        die "$NETNS_VAR is set but this is not a private network namespace"
    ip link set lo up || die "cannot bring up the namespace's loopback"
}

load_note() {
    # Load average (1, 5, 15 min) and CPUs: a busy machine explains noisy figures.
    local load cpus
    load="$(cut -d' ' -f1-3 /proc/loadavg)"
    cpus="$(nproc)"
    echo "load average $load on $cpus CPUs ($1)"
    if awk -v l="${load%% *}" -v c="$cpus" 'BEGIN { exit !(l > c / 2) }'; then
        echo "  note: the machine is busy (1-min load > CPUs/2); figures may be inflated"
    fi
}

# Results, one entry per measurement, in order.
NAMES=()
MEANS=()   # seconds
SDS=()     # seconds ("-" when unknown: a single run)
MINS=()
MAXS=()

# BENCH_TIMER=loop forces the plain loop even where hyperfine is installed.
HAVE_HYPERFINE=0
if [[ "${BENCH_TIMER:-auto}" != loop ]] && command -v hyperfine >/dev/null 2>&1; then
    HAVE_HYPERFINE=1
fi

# Run CMD (a shell command string) once and check its exit status is one
# of OK_CODES (space-separated). A wrong status means the benchmark would
# time something else (a harness error, a failed build), so stop.
check_run() {
    local cmd="$1" ok_codes="$2" out rc=0
    out="$(eval "$cmd" 2>&1)" || rc=$?
    if [[ " $ok_codes " != *" $rc "* ]]; then
        echo "$out" | tail -n 20 >&2
        die "\`$cmd\` exited $rc (expected one of: $ok_codes)"
    fi
}

# measure NAME CMD OK_CODES: time CMD, a shell command string, RUNS times.
measure() {
    local name="$1" cmd="$2" ok_codes="${3:-0}"
    note "$name: $cmd"
    check_run "$cmd" "$ok_codes"
    local result mean sd min max
    if ((HAVE_HYPERFINE)); then
        result="$(measure_hyperfine "$cmd" "$ok_codes")"
    else
        result="$(measure_loop "$cmd")"
    fi
    read -r mean sd min max <<<"$result"
    NAMES+=("$name"); MEANS+=("$mean"); SDS+=("$sd"); MINS+=("$min"); MAXS+=("$max")
    echo "   $(fmt_time "$mean" "$sd") [min $(ms "$min"), max $(ms "$max")]" >&2
}

# Prints "mean sd min max" in seconds.
measure_hyperfine() {
    local cmd="$1" ok_codes="$2" json
    json="$(mktemp)"
    local args=(--warmup "$WARMUP" --runs "$RUNS" --export-json "$json" --style none)
    # sockgrade exits 1 when an exercise fails; hyperfine would abort.
    [[ "$ok_codes" == "0" ]] || args+=(--ignore-failure)
    hyperfine "${args[@]}" "$cmd" >/dev/null
    python3 - "$json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
sd = r.get("stddev")
print(r["mean"], "-" if sd is None else sd, r["min"], r["max"])
EOF
    rm -f "$json"
}

# Prints "mean sd min max" in seconds. Runs CMD in this shell (eval), so no
# shell start-up is added to the figure (CMD must not use the names below).
measure_loop() {
    local cmd="$1" run t0 t1 times=()
    for ((run = 0; run < WARMUP; run++)); do
        eval "$cmd" >/dev/null 2>&1 || true
    done
    for ((run = 0; run < RUNS; run++)); do
        t0="$(date +%s%N)"
        eval "$cmd" >/dev/null 2>&1 || true  # exit status checked by check_run
        t1="$(date +%s%N)"
        times+=("$((t1 - t0))")
    done
    printf '%s\n' "${times[@]}" | awk '
        { t = $1 / 1e9; s += t; ss += t * t; n++
          if (n == 1 || t < lo) lo = t; if (n == 1 || t > hi) hi = t }
        END { m = s / n; v = n > 1 ? (ss - n * m * m) / (n - 1) : 0
              if (v < 0) v = 0
              printf "%.6f %.6f %.6f %.6f\n", m, sqrt(v), lo, hi }'
}

# --- formatting and targets ---------------------------------------------------

ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }

fmt_time() {
    local mean="$1" sd="$2"
    if [[ "$sd" != "-" ]]; then
        awk -v m="$mean" -v d="$sd" 'BEGIN { printf "%7.1f +- %5.1f ms", m * 1000, d * 1000 }'
    else
        awk -v m="$mean" 'BEGIN { printf "%7.1f ms", m * 1000 }'
    fi
}

# index_of NAME: the position of a measurement in the result arrays.
index_of() {
    local i
    for i in "${!NAMES[@]}"; do
        [[ "${NAMES[$i]}" == "$1" ]] && { echo "$i"; return; }
    done
    die "no measurement named $1"
}

mean_of() { echo "${MEANS[$(index_of "$1")]}"; }

# met A B: "target met" when A < B (seconds), else "target missed".
met() {
    if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; then
        echo "target met"
    else
        echo "target missed"
    fi
}

# --- the benchmarks -----------------------------------------------------------

# The real interpreter: sockgrade resolves `python3` to sys.executable once,
# so the floor must not pay for a pyenv shim (~70 ms a start) either.
python_path() {
    python3 -c 'import sys; print(sys.executable)' ||
        die "python3 is needed (the Python fixtures and the floor)"
}

# A copy of reference-c with its binary already built and a manifest
# without `build` (same `exercises` map), so the grade times only the runs.
prebuilt_c() {
    local dir="$1"
    cp -R fixtures/submissions/reference-c/. "$dir/"
    (cd "$dir" && cc -O2 -o solution solution.c) || die "cannot compile reference-c"
    python3 - "$dir/sockgrade.json" <<'EOF'
import json, sys
path = sys.argv[1]
manifest = json.load(open(path))
manifest.pop("build", None)
json.dump(manifest, open(path, "w"), indent=2)
EOF
}

main_in_namespace() {
    setup_namespace

    local sg=target/release/sockgrade subs=fixtures/submissions py tmp
    [[ -x "$sg" ]] || die "$sg is missing"
    py="$(python_path)"
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now: $tmp is local
    trap "rm -rf -- '$tmp'" EXIT
    prebuilt_c "$tmp/reference-c-prebuilt"

    local timer=loop
    ((HAVE_HYPERFINE)) && timer="hyperfine $(hyperfine --version | awk '{ print $2 }')"
    note "timer: $timer; $RUNS runs after $WARMUP warm-up runs; python: $py"
    local load_before
    load_before="$(load_note before)"

    local floor_cmd q_py
    q_py="$(printf '%q' "$py")"
    floor_cmd="for _floor_n in 1 2 3 4 5 6 7 8 9 10 11; do $q_py -c 'import socket'; done"

    measure "floor: 11 x python -c 'import socket'" "$floor_cmd"
    measure "reference-python" "$sg grade $subs/reference-python"
    measure "crash-at-start" "$sg grade $subs/crash-at-start" "1"
    measure "reference-c (with cc build)" "$sg grade $subs/reference-c"
    measure "reference-c (pre-built)" "$sg grade $tmp/reference-c-prebuilt"

    # --- the table ---
    local floor ref crash cbuilt
    floor="$(mean_of "floor: 11 x python -c 'import socket'")"
    ref="$(mean_of reference-python)"
    crash="$(mean_of crash-at-start)"
    cbuilt="$(mean_of "reference-c (pre-built)")"

    local targets=(
        "(the floor)"
        "< floor ($(awk -v r="$ref" -v f="$floor" 'BEGIN { printf "ratio %.2f", r / f }'))"
        "< 1500 ms"
        "(none)"
        "~100 ms (met if < 150)"
    )
    local verdicts=(
        ""
        "$(met "$ref" "$floor")"
        "$(met "$crash" 1.5)"
        ""
        "$(met "$cbuilt" 0.150)"
    )

    echo
    echo "sockgrade speed benchmark: $timer, $RUNS runs, $(nproc) CPUs, default --jobs"
    printf '%-40s %-30s %-24s %s\n' "what" "mean +- sd [min-max]" "target" "met?"
    local i
    for i in "${!NAMES[@]}"; do
        printf '%-40s %-30s %-24s %s\n' "${NAMES[$i]}" \
            "$(fmt_time "${MEANS[$i]}" "${SDS[$i]}") [$(awk -v a="${MINS[$i]}" -v b="${MAXS[$i]}" \
                'BEGIN { printf "%.0f-%.0f", a * 1000, b * 1000 }')]" \
            "${targets[$i]}" "${verdicts[$i]}"
    done
    echo
    echo "$load_before"
    load_note after
}

# --- entry point --------------------------------------------------------------

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
cd -- "$(repo_root)"
if [[ -z "${!NETNS_VAR:-}" ]]; then
    enter_namespace "$@"
else
    main_in_namespace "$@"
fi
