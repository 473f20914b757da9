#!/usr/bin/env bash
# Speed benchmark of sockgrade: figures, not pass/fail assertions.
#
#   tests/bench.sh                 # from any directory
#   BENCH_RUNS=30 tests/bench.sh   # more runs per measurement (default 10)
#   BENCH_TIMER=loop tests/bench.sh  # the plain loop even if hyperfine is here
#   BENCH_BATCH=0 tests/bench.sh   # skip the batch measurement (about 3 min)
#   BENCH_BATCH_RUNS=5 tests/bench.sh  # runs of the batch figures (default 3)
#
# What it measures (wall time of whole `sockgrade grade` commands):
#   1. reference-python (11 exercises, all pass) against the FLOOR: the
#      same 11 Python interpreters started one after another. Target: the
#      grade takes at most 0.6x the floor (issue 10's; on 2 CPUs the
#      programs' own CPU alone puts the bound near 0.5x), judged on RUNS
#      pairs (the floor, then the grade, one right after the other) by the
#      median of the pairs' ratios: a shared machine's speed drifts
#      between two blocks of runs by more than the difference measured.
#      As the real root, the same grade as user nobody too (as a student
#      runs it: no cgroups, no other user, a user namespace), for insight.
#   2. crash-at-start (11 programs that raise at once). Target: < 1.5 s.
#   3. reference-c, (a) as is, its manifest's `cc` build included, and
#      (b) pre-built: the binary compiled once beforehand and a manifest
#      without `build`. Target for (b): at most 40 ms.
#   Then sockgrade's own CPU beside its programs' for reference-python
#   and the pre-built C, medians of RUNS grades: the programs' is the
#   `programs_cpu_ms` of the grade's JSON; sockgrade's own is the CPU of
#   the whole command (every process of it, as its caller's rusage counts
#   them once they are waited for) less the programs'. That is the
#   launcher, the process that makes the namespaces (without root only)
#   and the grading process, whose own part (`grader_cpu_ms`) is shown
#   beside it.
#   Target: own <= 10% of the programs' for reference-python.
#   4. batch: `sockgrade batch --seed 1` (the default --jobs: eight per
#      CPU, with admission by CPU pressure) of 57 submissions, 19
#      copies each of three kinds, all on the fixed ports: good
#      (reference-python, 11 programs), wrong (wrong-text, 4) and hanging
#      (hang, 3, each waits for the grader's deadline: 3-5 s). Against the
#      FLOOR: every Python program of those 57 submissions (19 x 18 = 342)
#      started two at a time (`xargs -P 2`). Target: at most 1.5x the floor.
#      For insight, once each: the same batch with --jobs 8, 16 and 4,
#      and one hanging submission graded alone; then the lower bound that
#      the hanging kind's deadlines alone put on the batch, the lower bound
#      of starting programs in name order (the last hanging submission
#      waits for every start ahead of it, then for its deadlines), and
#      per-kind `duration_ms` from the results of the last default --jobs run.
#
# The notebook's exercises use FIXED ports, so everything runs inside a
# private network namespace (its own loopback): the benchmark cannot collide
# with tests, or another benchmark, running at the same time. The script
# re-executes itself once inside a namespace rather than paying for one per
# run: as the real root `unshare --net` only, like the test suite, so
# sockgrade keeps all its protections (programs as user nobody, cgroups,
# Landlock), as in CI and on autograders; otherwise `unshare --net
# --map-root-user` (a user namespace, fewer protections).
#
# The floors start the Python sockgrade itself would use: as the real root,
# the first of sys.executable (pyenv's, say), /usr/bin/python3 and
# /usr/local/bin/python3 that user nobody (65534) may execute (pyenv under
# /root, mode 0700, is not); otherwise sys.executable. The table's header
# line names it.
#
# Uses hyperfine when installed, otherwise a plain loop timed with
# `date +%s%N`. Exit status: 0 when every figure was measured (whether or
# not the targets are met), non-zero on a setup or harness error.

set -euo pipefail

RUNS="${BENCH_RUNS:-10}"
WARMUP=2
BATCH="${BENCH_BATCH:-1}"
BATCH_RUNS="${BENCH_BATCH_RUNS:-3}"
BATCH_COPIES=19  # of each kind: 3 x 19 = 57 submissions
# The batch measured against its target: sockgrade's own --jobs default
# (eight per CPU, admission by CPU pressure); 8, 16 and 4 for insight.
BATCH_JOBS=default
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
    local args=()
    mapfile -t args < <(unshare_args)
    unshare "${args[@]}" true 2>/dev/null ||
        die "unshare ${args[*]} fails here (user namespaces disabled?); cannot isolate the fixed ports"

    note "cargo build --release"
    cargo build --release --quiet || die "cargo build --release failed"

    local self
    self="$(pwd -P)/tests/bench.sh"
    export "$NETNS_VAR=$(readlink /proc/self/ns/net)"
    exec unshare "${args[@]}" bash "$self" "$@"
}

# unshare's arguments, one a line (as tests/common/mod.rs `unshare_args`):
# as the real root a network namespace only, so sockgrade keeps the real
# root's powers; otherwise inside a user namespace.
unshare_args() {
    if [[ "$(id -u)" == 0 ]]; then
        printf '%s\n' --net --
    else
        printf '%s\n' --net --map-root-user --
    fi
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
NRUNS=()   # timed runs behind the figure

# BENCH_TIMER=loop forces the plain loop even where hyperfine is installed.
HAVE_HYPERFINE=0
if [[ "${BENCH_TIMER:-auto}" != loop ]] && command -v hyperfine >/dev/null 2>&1; then
    HAVE_HYPERFINE=1
fi

# Run CMD (a shell command string) once, after PREPARE (untimed; may be
# empty), and check its exit status is one of OK_CODES (space-separated).
# A wrong status means the benchmark would time something else (a harness
# error, a failed build), so stop.
check_run() {
    local cmd="$1" ok_codes="$2" prepare="$3" out rc=0
    [[ -z "$prepare" ]] || eval "$prepare"
    out="$(eval "$cmd" 2>&1)" || rc=$?
    if [[ " $ok_codes " != *" $rc "* ]]; then
        echo "$out" | tail -n 20 >&2
        die "\`$cmd\` exited $rc (expected one of: $ok_codes)"
    fi
}

# measure NAME CMD [OK_CODES [PREPARE]]: time CMD, a shell command string,
# RUNS times after WARMUP runs, each run after PREPARE (untimed). RUNS and
# WARMUP are read when called, so a caller may override them with `local`.
measure() {
    local name="$1" cmd="$2" ok_codes="${3:-0}" prepare="${4:-}"
    note "$name: $cmd"
    check_run "$cmd" "$ok_codes" "$prepare"
    local result mean sd min max
    if ((HAVE_HYPERFINE)); then
        result="$(measure_hyperfine "$cmd" "$ok_codes" "$prepare")"
    else
        result="$(measure_loop "$cmd" "$prepare")"
    fi
    read -r mean sd min max <<<"$result"
    NAMES+=("$name"); MEANS+=("$mean"); SDS+=("$sd"); MINS+=("$min"); MAXS+=("$max")
    NRUNS+=("$RUNS")
    echo "   $(fmt_time "$mean" "$sd") [min $(ms "$min"), max $(ms "$max")]" >&2
}

# Prints "mean sd min max" in seconds.
measure_hyperfine() {
    local cmd="$1" ok_codes="$2" prepare="$3" json
    json="$(mktemp)"
    local args=(--warmup "$WARMUP" --runs "$RUNS" --export-json "$json" --style none)
    # sockgrade exits 1 when an exercise fails; hyperfine would abort.
    [[ "$ok_codes" == "0" ]] || args+=(--ignore-failure)
    [[ -z "$prepare" ]] || args+=(--prepare "$prepare")
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
    local cmd="$1" prepare="$2" run t0 t1 times=()
    for ((run = 0; run < WARMUP; run++)); do
        [[ -z "$prepare" ]] || eval "$prepare"
        eval "$cmd" >/dev/null 2>&1 || true
    done
    for ((run = 0; run < RUNS; run++)); do
        [[ -z "$prepare" ]] || eval "$prepare"
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

# calc EXPR [NAME=VALUE...]: an awk expression, printed with 2 decimals.
calc() {
    local expr="$1" vars=() pair
    shift
    for pair in "$@"; do vars+=(-v "$pair"); done
    awk "${vars[@]}" "BEGIN { printf \"%.2f\", $expr }"
}

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

# met A B [OP]: "target met" when A OP B (seconds; OP `<` unless given,
# or `<=`), else "target missed".
met() {
    if awk -v a="$1" -v b="$2" "BEGIN { exit !(a ${3:-<} b) }"; then
        echo "target met"
    else
        echo "target missed"
    fi
}

table_header() {
    printf '%-44s %4s  %-36s %-26s %s\n' "what" "runs" "mean +- sd [min-max]" "target" "met?"
}

# table_row NAME TARGET VERDICT: one measurement's line of a table.
table_row() {
    local i
    i="$(index_of "$1")"
    printf '%-44s %4s  %-36s %-26s %s\n' "${NAMES[$i]}" "${NRUNS[$i]}" \
        "$(fmt_time "${MEANS[$i]}" "${SDS[$i]}") [$(awk -v a="${MINS[$i]}" -v b="${MAXS[$i]}" \
            'BEGIN { printf "%.0f-%.0f", a * 1000, b * 1000 }')]" \
        "$2" "$3"
}

# --- the benchmarks -----------------------------------------------------------

NOBODY=65534

# True when sockgrade, run here, runs the programs as user nobody: it is
# root and uid 65534 exists in its user namespace (the real root, not the
# root of `--map-root-user`, whose namespace maps only one uid).
programs_run_as_nobody() {
    [[ "$(id -u)" == 0 ]] &&
        awk -v u="$NOBODY" '$1 <= u && u < $1 + $3 { found = 1 } END { exit !found }' /proc/self/uid_map
}

# The interpreter sockgrade would run the Python programs with
# (grader/student/locate.rs, `Interpreter::find`): `python3` resolved to
# sys.executable (so the floor does not pay for a pyenv shim, ~70 ms a
# start, either); as the real root, the first of it, /usr/bin/python3 and
# /usr/local/bin/python3 that user nobody may execute.
python_path() {
    local own candidate
    own="$(python3 -c 'import sys; print(sys.executable)')" ||
        die "python3 is needed (the Python fixtures and the floor)"
    if ! programs_run_as_nobody; then
        echo "$own"
        return
    fi
    command -v setpriv >/dev/null 2>&1 ||
        die "setpriv (util-linux) is needed to find the python user nobody may execute"
    # Through `env`: setpriv keeps root's capabilities (PR_SET_KEEPCAPS) until
    # its own execve, so it would reach a python under /root (0700) itself,
    # whose loader, as nobody, then quietly takes the system's libpython.
    # env is exec'd first, which drops them; its execve is nobody's alone.
    for candidate in "$own" /usr/bin/python3 /usr/local/bin/python3; do
        if (cd / && setpriv --reuid="$NOBODY" --regid="$NOBODY" --clear-groups \
            env -- "$candidate" -c pass) >/dev/null 2>&1; then
            echo "$candidate"
            return
        fi
    done
    die "no python3 that user nobody ($NOBODY) may execute (tried $own, /usr/bin/python3, /usr/local/bin/python3)"
}

# python_note PY: who runs the programs, and with which interpreter.
python_note() {
    if programs_run_as_nobody; then
        echo "python $1 (the first user nobody may execute; programs run as nobody, real root)"
    else
        echo "python $1 (sys.executable; programs run as $(id -un), in a user namespace)"
    fi
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
    local paired
    paired="$(measure_paired "$floor_cmd" "$sg grade $subs/reference-python")"
    # As a student runs it: no cgroups, no other user, a user namespace.
    local as_user=""
    if programs_run_as_nobody; then
        as_user="reference-python (as user nobody)"
        measure "$as_user" "setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups $sg grade $subs/reference-python"
    fi
    measure "crash-at-start" "$sg grade $subs/crash-at-start" "1"
    measure "reference-c (with cc build)" "$sg grade $subs/reference-c"
    measure "reference-c (pre-built)" "$sg grade $tmp/reference-c-prebuilt"
    [[ "$BATCH" == 0 ]] || measure_batch "$sg" "$q_py" "$tmp"

    # --- the tables ---
    local floor ref crash cbuilt
    floor="$(mean_of "floor: 11 x python -c 'import socket'")"
    ref="$(mean_of reference-python)"
    crash="$(mean_of crash-at-start)"
    cbuilt="$(mean_of "reference-c (pre-built)")"

    echo
    echo "sockgrade speed benchmark: $timer, $RUNS runs, $(nproc) CPUs, default --jobs; floors: $(python_note "$py")"
    table_header
    table_row "floor: 11 x python -c 'import socket'" "(the floor)" ""
    table_row reference-python "(ratio of means $(calc 'r / f' r="$ref" f="$floor"))" ""
    local paired_ratio paired_floor paired_grade
    read -r paired_ratio paired_floor paired_grade <<<"$paired"
    printf '%-44s %4s  %-36s %-26s %s\n' "reference-python / floor, paired" "$RUNS" \
        "median $(calc r r="$paired_ratio") ($(ms "$paired_grade") / $(ms "$paired_floor"))" \
        "<= 0.6x floor" "$(met "$paired_ratio" 0.6 '<=')"
    [[ -z "$as_user" ]] ||
        table_row "$as_user" "(ratio of means $(calc 'r / f' r="$(mean_of "$as_user")" f="$floor"))" ""
    table_row crash-at-start "< 1500 ms" "$(met "$crash" 1.5)"
    table_row "reference-c (with cc build)" "(none)" ""
    table_row "reference-c (pre-built)" "<= 40 ms" "$(met "$cbuilt" 0.040 '<=')"
    echo
    echo "sockgrade's own CPU beside its programs' (median of $RUNS grades each; own: the whole command's CPU less programs_cpu_ms):"
    cpu_split reference-python "$sg" "$subs/reference-python" "$tmp" 10
    cpu_split "reference-c (pre-built)" "$sg" "$tmp/reference-c-prebuilt" "$tmp" ""
    [[ "$BATCH" == 0 ]] || report_batch "$tmp" "$py"
    echo
    echo "$load_before"
    load_note after
}

# measure_paired FLOOR_CMD CMD: RUNS pairs, each FLOOR_CMD then CMD, timed
# one right after the other, so that both see the machine in the same
# state (a shared machine drifts between two blocks of runs by more than
# the difference measured). Prints "ratio floor cmd": the median of the
# pairs' ratios and the median times (seconds).
measure_paired() {
    local floor_cmd="$1" cmd="$2" run t0 t1 t2 pairs=()
    note "paired: the floor, then $cmd, $RUNS times"
    for ((run = 0; run < RUNS; run++)); do
        t0="$(date +%s%N)"
        eval "$floor_cmd" >/dev/null 2>&1 || true
        t1="$(date +%s%N)"
        eval "$cmd" >/dev/null 2>&1 || true  # exit status checked by check_run
        t2="$(date +%s%N)"
        pairs+=("$((t1 - t0)) $((t2 - t1))")
    done
    printf '%s\n' "${pairs[@]}" | python3 -c '
import statistics, sys
pairs = [tuple(int(x) / 1e9 for x in line.split()) for line in sys.stdin]
print(statistics.median(g / f for f, g in pairs),
      statistics.median(f for f, _ in pairs), statistics.median(g for _, g in pairs))'
}

# cpu_split NAME SG DIR TMP TARGET: RUNS grades of DIR, and the CPU time of
# sockgrade itself (all its processes) and of the programs it started
# (medians: one grade's figures move by a tenth from run to run), judged
# against TARGET (own, in percent of the programs') unless it is empty.
cpu_split() {
    local name="$1" sg="$2" dir="$3" tmp="$4" target="$5"
    python3 - "$name" "$target" "$sg" "$dir" "$tmp/cpu.json" "$RUNS" <<'EOF'
import json, os, resource, statistics, subprocess, sys
name, target, sg, folder, out, runs = sys.argv[1:7]

def children_cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000

grades = []
for _ in range(int(runs)):
    if os.path.exists(out):
        os.remove(out)  # never a previous run's figures
    before = children_cpu_ms()
    subprocess.run([sg, "grade", folder, "--json", out],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = children_cpu_ms() - before
    if not os.path.exists(out):
        sys.exit(f"bench.sh: `{sg} grade {folder}` wrote no {out}")
    grades.append((command, json.load(open(out))))
if any(r.get("grader_cpu_ms") is None or r.get("programs_cpu_ms") is None for _, r in grades):
    print(f"  {name}: not reported on this platform")
    sys.exit()
own = [command - r["programs_cpu_ms"] for command, r in grades]
programs = statistics.median(r["programs_cpu_ms"] for _, r in grades)
grading = statistics.median(r["grader_cpu_ms"] for _, r in grades)
wall = statistics.median(r["duration_ms"] for _, r in grades)
shares = [100 * o / r["programs_cpu_ms"] for o, (_, r) in zip(own, grades) if r["programs_cpu_ms"]]
share = f"{statistics.median(shares):.1f}%" if shares else "-"
judged = ""
if target and shares:
    met = "met" if statistics.median(shares) <= float(target) else "missed"
    judged = f" target: own <= {target}% of the programs': {met}"
print(f"  {name:28} own {statistics.median(own):5.0f} ms (grading process {grading:.0f}),"
      f" programs {programs:5.0f} ms: own = {share} of the programs' (wall {wall:.0f} ms){judged}")
EOF
    rm -f "$tmp/cpu.json"
}

# --- the batch benchmark ------------------------------------------------------

# KIND:FIXTURE, in the order the copies are named.
BATCH_KINDS=(good:reference-python wrong:wrong-text hang:hang)
BATCH_SIZE=$((BATCH_COPIES * ${#BATCH_KINDS[@]}))
BATCH_FLOOR_NAME="floor: python starts, 2 at a time"
BATCH_HANG_NAME="one hanging submission (grade hang)"

batch_name() { echo "batch $BATCH_SIZE, --jobs $1"; }
# The --jobs flag for a measured setting ("default": none).
jobs_flag() { [[ "$1" == default ]] || echo "--jobs $1"; }
batch_out() { echo "$2/out-jobs-$1"; }

# make_batch DIR: BATCH_COPIES copies of each kind, named 01-good,
# 01-wrong, 01-hang, 02-good... The batch grades in name order, so the
# kinds are interleaved (as in a real class) rather than all the hanging
# ones last.
make_batch() {
    local dir="$1" n kind
    mkdir -p "$dir"
    for ((n = 1; n <= BATCH_COPIES; n++)); do
        for kind in "${BATCH_KINDS[@]}"; do
            cp -R "fixtures/submissions/${kind#*:}" "$(printf '%s/%02d-%s' "$dir" "$n" "${kind%%:*}")"
        done
    done
}

# batch_programs: the Python programs in the batch (each one interpreter start).
batch_programs() {
    local kind files total=0
    for kind in "${BATCH_KINDS[@]}"; do
        files=("fixtures/submissions/${kind#*:}"/*.py)
        total=$((total + ${#files[@]}))
    done
    echo $((total * BATCH_COPIES))
}

# check_batch OUT: the run graded every submission, in namespaces, and the
# good copies passed (same fixed ports at once: a collision would fail them).
check_batch() {
    python3 - "$1" "$BATCH_SIZE" <<'EOF' || die "batch output $1 is not as expected"
import json, pathlib, sys
out, expected = pathlib.Path(sys.argv[1]), int(sys.argv[2])
n = json.load(open(out / "summary.json"))["submissions"]
problems = [] if n == expected else [f"{n} submissions graded, not {expected}"]
for path in sorted(out.glob("*/results.json")):
    r = json.load(open(path))
    if r["isolation"] != "namespaces":
        problems.append(f"{r['submission']}: isolation {r['isolation']!r}")
    if r["submission"].endswith("-good") and r["score"] != r["max_score"]:
        problems.append(f"{r['submission']}: {r['score']}/{r['max_score']}")
for p in problems[:10]:
    print("check_batch:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}

# measure_batch SG Q_PY TMP: the batch figures (fewer, longer runs).
measure_batch() {
    local sg="$1" q_py="$2" tmp="$3" dir="$3/batch" programs jobs out
    # Read by measure. No warm-up run: the check run before the timed ones is one.
    local RUNS="$BATCH_RUNS" WARMUP=0
    make_batch "$dir"
    programs="$(batch_programs)"
    BATCH_FLOOR_NAME="floor: $programs python starts, 2 at a time"

    measure "$BATCH_FLOOR_NAME" "seq $programs | xargs -P 2 -I{} $q_py -c 'import socket'"
    for jobs in "$BATCH_JOBS" 8 16 4; do
        # Only the target's figure gets BATCH_RUNS runs; the others are for insight.
        [[ "$jobs" == "$BATCH_JOBS" ]] || RUNS=1
        out="$(batch_out "$jobs" "$tmp")"
        measure "$(batch_name "$jobs")" \
            "$sg batch $dir --out $out $(jobs_flag "$jobs") --seed 1 --isolation namespace" 1 "rm -rf $out"
        check_batch "$out"
    done
    RUNS=1
    measure "$BATCH_HANG_NAME" "$sg grade fixtures/submissions/hang" 1
}

# starts_order_bound BATCH_DIR OUT FLOOR BATCH: the least any batch can
# take when it cannot tell a hanging submission before running it and
# starts programs in name order, as sockgrade admits submissions: the last
# hanging submission's programs start only after every program ahead of it
# (their share of the floor, the CPUs fully used), and then it waits out
# its deadlines (the least a hanging submission took in the run). A
# scheduler that knew which submissions hang would start them first and
# could come near the floor itself.
starts_order_bound() {
    python3 - "$@" <<'EOF'
import json, pathlib, sys
batch, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
floor, measured = float(sys.argv[3]), float(sys.argv[4])
names = sorted(p.name for p in batch.iterdir())
programs = {name: len(list((batch / name).glob("*.py"))) for name in names}
total = sum(programs.values())
last_hang = max(i for i, name in enumerate(names) if name.endswith("-hang"))
ahead = sum(programs[name] for name in names[:last_hang])
hang = min(json.load(open(p))["duration_ms"] / 1000 for p in out.glob("*-hang/results.json"))
bound = floor * ahead / total + hang
print(f"lower bound in name order: the last hanging submission ({names[last_hang]}) starts after"
      f" {ahead} of {total} programs ({floor * ahead / total:.2f} s of the floor), then waits"
      f" {hang:.2f} s: {bound:.2f} s, ratio {bound / floor:.2f}; measured {measured:.2f} s,"
      f" {measured / bound:.2f}x the bound")
EOF
}

# report_batch TMP PY: the batch table, then what bounds and dominates it.
report_batch() {
    local tmp="$1" py="$2" floor batch hang ratio jobs
    floor="$(mean_of "$BATCH_FLOOR_NAME")"
    batch="$(mean_of "$(batch_name "$BATCH_JOBS")")"
    hang="$(mean_of "$BATCH_HANG_NAME")"
    ratio="$(calc 'b / f' b="$batch" f="$floor")"

    echo
    echo "batch: $BATCH_SIZE submissions ($BATCH_COPIES x good, wrong, hanging; all on the fixed ports), --seed 1, $(nproc) CPUs; floor: python $py"
    table_header
    table_row "$BATCH_FLOOR_NAME" "(the floor)" ""
    table_row "$(batch_name "$BATCH_JOBS")" "<= 1.5x floor (ratio $ratio)" "$(met "$batch" "$(calc '1.5 * f' f="$floor")" "<=")"
    for jobs in 8 16 4; do
        table_row "$(batch_name "$jobs")" "(ratio $(calc 'b / f' b="$(mean_of "$(batch_name "$jobs")")" f="$floor"))" ""
    done
    table_row "$BATCH_HANG_NAME" "(insight)" ""

    echo
    echo "floor $(calc f f="$floor") s, batch --jobs $BATCH_JOBS $(calc b b="$batch") s: ratio $ratio (target <= 1.5);" \
        "2x floor is $(calc '2 * f' f="$floor") s, the batch is $(calc 'b - 2 * f' b="$batch" f="$floor") s over it"
    echo "one hanging submission takes $(calc h h="$hang") s"
    echo "lower bound from the $BATCH_COPIES hanging submissions alone: $BATCH_COPIES x $(calc h h="$hang") s / jobs" \
        "(in whole rounds: ceil($BATCH_COPIES / jobs) x $(calc h h="$hang") s)"
    for jobs in 4 8 16; do
        echo "  --jobs $jobs: $(calc "c * h / $jobs" c="$BATCH_COPIES" h="$hang") s" \
            "($(calc "int((c + $jobs - 1) / $jobs) * h" c="$BATCH_COPIES" h="$hang") s)," \
            "measured $(calc b b="$(mean_of "$(batch_name "$jobs")")") s"
    done
    starts_order_bound "$tmp/batch" "$(batch_out "$BATCH_JOBS" "$tmp")" "$floor" "$batch"
    echo "per-submission duration_ms (the child's grade) in the last --jobs $BATCH_JOBS run:"
    python3 - "$(batch_out "$BATCH_JOBS" "$tmp")" "$((8 * $(nproc)))" <<'EOF'
import collections, json, pathlib, sys
out, jobs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
kinds = collections.defaultdict(list)    # kind: submission durations
longest = collections.defaultdict(list)  # kind: its longest exercise's
for path in sorted(out.glob("*/results.json")):
    r = json.load(open(path))
    kind = r["submission"].split("-", 1)[1]
    kinds[kind].append(r["duration_ms"] / 1000)
    longest[kind].append(max(e["duration_ms"] for e in r["exercises"]) / 1000)
total = sum(sum(d) for d in kinds.values())
for kind, d in kinds.items():
    print(f"  {kind:5} x{len(d)}: min {min(d):.2f} s, mean {sum(d) / len(d):.2f} s, max {max(d):.2f} s;"
          f" {sum(d):6.1f} s in all ({100 * sum(d) / total:.0f}%);"
          f" longest exercise {sum(longest[kind]) / len(d):.2f} s on average")
print(f"  all: {total:.1f} s of grading; / {jobs} jobs = {total / jobs:.1f} s if perfectly packed")
EOF
}

# --- entry point --------------------------------------------------------------

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
[[ "$BATCH_RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_BATCH_RUNS must be a positive integer, not '$BATCH_RUNS'"
[[ "$BATCH" == [01] ]] || die "BENCH_BATCH must be 0 or 1, not '$BATCH'"
cd -- "$(repo_root)"
if [[ -z "${!NETNS_VAR:-}" ]]; then
    enter_namespace "$@"
else
    main_in_namespace "$@"
fi
