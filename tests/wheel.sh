#!/usr/bin/env bash
# The Python package, as a student gets it: builds the wheel the way a
# release does (maturin, manylinux2014 through zig, so it installs on
# glibc 2.17 and later: Ubuntu 18.04 autograder images too), installs it
# into a fresh virtual environment, and grades with the installed command:
# the reference submission (11/11, exit 0) and a failing one (exit 1).
# Then the Gradescope autograder (student-template/gradescope) with the
# wheel in its zip: setup.sh installs it, run_autograder grades 11/11.
# Prints the wheel's size, its platform tag and the time from `pip install`
# to the end of the first grade.
#
#   bash tests/wheel.sh    # from any directory; as root or not
#
# Needs python3 with venv, and the package registry for maturin and
# ziglang (installed into target/tools/wheel-venv, not the system).
# Exit status: 0 when every check passed, 1 when one failed, 2 on a setup
# error.

set -euo pipefail
cd "$(dirname "$0")/.."

die() {
    echo "wheel.sh: $*" >&2
    exit 2
}
fail() {
    echo "wheel.sh: FAILED: $*" >&2
    exit 1
}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[[ -n "$version" ]] || die "no version in Cargo.toml"

# The build tools, in a virtual environment of their own.
tools=target/tools/wheel-venv
if [[ ! -x "$tools/bin/maturin" ]] || ! "$tools/bin/python" -m ziglang version >/dev/null 2>&1; then
    python3 -m venv "$tools" || die "python3 cannot make a virtual environment (install python3-venv)"
    "$tools/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.7,<2" ziglang ||
        die "cannot install maturin and ziglang from the package registry"
fi

# maturin finds zig through `python -m ziglang` of the first python on PATH.
rm -rf target/wheels
PATH="$PWD/$tools/bin:$PATH" maturin build --release --locked --zig \
    --compatibility manylinux2014 --out target/wheels ||
    fail "maturin could not build a manylinux2014 wheel (it checks the glibc symbols itself)"
wheels=(target/wheels/sockgrade-"$version"-*.whl)
[[ -f "${wheels[0]}" ]] || fail "no wheel named sockgrade-$version-*.whl in target/wheels"
wheel=${wheels[0]}
tag=$(basename "$wheel" .whl)
tag=${tag#sockgrade-"$version"-}
[[ "$tag" == *manylinux_2_17_x86_64* || "$tag" == *manylinux2014_x86_64* ]] ||
    fail "the wheel's tag is $tag, not manylinux 2.17 (2014)"
size=$(du -k "$wheel" | cut -f1)

# A student's install: a fresh environment, the wheel, nothing else.
venv=$(mktemp -d /tmp/sockgrade-wheel-XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
started=$(date +%s%N)
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-index "$wheel" ||
    fail "pip could not install $wheel"
installed=$(date +%s%N)

sockgrade="$venv/bin/sockgrade"
[[ -x "$sockgrade" ]] || fail "pip put no sockgrade command in the environment's bin/"
shown=$("$sockgrade" --version)
[[ "$shown" == "sockgrade $version" ]] || fail "sockgrade --version says '$shown', not 'sockgrade $version'"
for page in man/man1/sockgrade.1 man/man1/sockgrade-grade.1 bash-completion/completions/sockgrade \
    zsh/site-functions/_sockgrade fish/vendor_completions.d/sockgrade.fish \
    sockgrade/schemas/results.schema.json sockgrade/schemas/summary.schema.json \
    sockgrade/schemas/gradescope.schema.json; do
    [[ -f "$venv/share/$page" ]] || fail "the wheel did not install share/$page"
done

# The exercises use fixed ports: grade in a private network namespace, as
# the test suite does (a user namespace too when not root).
isolate=(unshare --net)
[[ $(id -u) == 0 ]] || isolate=(unshare --net --map-root-user)
in_namespace() {
    "${isolate[@]}" sh -c 'ip link set lo up 2>/dev/null; exec "$@"' sh "$@"
}

set +e
out=$(in_namespace "$sockgrade" grade fixtures/submissions/reference-python 2>&1)
code=$?
graded=$(date +%s%N)
set -e
echo "$out" | tail -n 1
[[ $code == 0 ]] || fail "the installed sockgrade gave reference-python exit $code, not 0: $out"
grep -q "score 11/11" <<<"$out" || fail "reference-python is not 11/11 with the installed sockgrade: $out"

set +e
out=$(in_namespace "$sockgrade" grade fixtures/submissions/wrong-text 2>&1)
code=$?
set -e
[[ $code == 1 ]] || fail "the installed sockgrade gave wrong-text exit $code, not 1: $out"

# The Gradescope autograder as an instructor zips it, with this wheel in
# the zip: setup.sh installs it (into a fresh environment here, the
# image's Python on Gradescope), run_autograder grades an upload.
autograder="$venv/autograder"
mkdir -p "$autograder/submission"
cp -r student-template/gradescope "$autograder/source"
cp "$wheel" "$autograder/source/"
python3 -m venv "$venv/image"
PYTHON="$venv/image/bin/python" PATH="$venv/image/bin:$PATH" \
    bash "$autograder/source/setup.sh" >/dev/null ||
    fail "student-template/gradescope/setup.sh could not install the wheel beside it"
cp -r fixtures/submissions/reference-python "$autograder/submission/python"
AUTOGRADER_ROOT="$autograder" PATH="$venv/image/bin:$PATH" \
    in_namespace bash "$autograder/source/run_autograder" 2>/dev/null ||
    fail "run_autograder failed"
score=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["score"])' \
    "$autograder/results/results.json")
[[ "$score" == 11.0 ]] || fail "the Gradescope autograder gave reference-python $score, not 11.0"

echo "wheel: $(basename "$wheel"), ${size} KiB; platform tag $tag"
echo "pip install of the wheel: $(((installed - started) / 1000000)) ms; from pip install to the end of the first grade: $(((graded - started) / 1000000)) ms"
echo "wheel.sh: every check passed"
