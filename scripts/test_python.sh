#!/usr/bin/env bash
# The Python package's tests: makes a throwaway virtual environment with the newest CPython the
# machine has, installs BrainPy for it (2.9.0 on Python >= 3.12, 2.8.2 below), builds the package
# with `pip install .`, and runs pytest on tests/python plus the two examples. The bridge tests
# fail (not skip) when BrainPy cannot be installed or imported, and the CLI comparisons fail when
# the spikegpu binary is missing (SPIKEGPU_REQUIRE_BRAINPY=1, SPIKEGPU_REQUIRE_CLI=1).
# The abi3 wheel is also installed into a CPython 3.9 environment, when there is one, for a
# smoke test: one wheel must serve every CPython >= 3.9.
#
# Nothing is cached outside the job: the environments and pip's cache live in a temporary
# folder removed at the end. Extra arguments go to pytest.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/spikegpu-python.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export PIP_CACHE_DIR="$WORK/pip-cache" PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
# no __pycache__ folders left in the repository
export PYTHONDONTWRITEBYTECODE=1

# Mesa's WSI complains on every device open when this is unset; compute does not need it.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    export XDG_RUNTIME_DIR="$WORK/xdg"
    mkdir -m 700 "$XDG_RUNTIME_DIR"
fi

# Every CPython on PATH or under pyenv, as "major.minor path", newest first.
interpreters() {
    {
        for c in python3 python3.9 python3.10 python3.11 python3.12 python3.13 python3.14; do
            command -v "$c" 2>/dev/null || true
        done
        ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/python3 2>/dev/null || true
    } | sort -u | while read -r py; do
        v="$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2]) if sys.implementation.name == "cpython" else None' 2>/dev/null || true)"
        [ -n "$v" ] && [ "$v" != "None" ] && echo "$v $py"
    done | sort -t. -k1,1nr -k2,2nr
}

NEWEST="$(interpreters | awk -F'[ .]' '$1 == 3 && $2 >= 9' | head -n 1)"
if [ -z "$NEWEST" ]; then
    echo "no CPython >= 3.9 found" >&2
    exit 1
fi
PYVER="${NEWEST%% *}"
PYTHON="${NEWEST#* }"
echo "python: $PYTHON ($PYVER)"

"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q --upgrade pip

# BrainPy and the versions shared/SEMANTICS.md was read from (2.9.0 needs Python >= 3.12; 2.8.2
# is the newest for 3.11). numba is BrainPy's CPU backend for sparse products.
if [ "${PYVER#3.}" -ge 12 ]; then
    BRAINPY=(brainpy==2.9.0 brainstate==0.6.0 brainevent==0.3.0 jax==0.12.0.1 jaxlib==0.12.0.1 numba==0.68.1)
else
    BRAINPY=(brainpy==2.8.2 numba)
fi
# The downloads run in the background while cargo builds the package and the CLI.
echo "installing pytest, scipy, matplotlib, tqdm and ${BRAINPY[*]} (in the background)"
(
    PIP_CACHE_DIR="$WORK/pip-cache-deps"
    "$VPY" -m pip install -q pytest scipy matplotlib tqdm || exit 2
    "$VPY" -m pip install -q "${BRAINPY[@]}" || exit 3
) > "$WORK/deps.log" 2>&1 &
DEPS=$!

# The package, built as a user builds it. The Rust build shares the repository's target folder
# with `cargo test --release` (same workspace, same profile), so only the bindings compile here.
"$VPY" -m pip wheel -q --no-deps -w "$WORK/wheel" .
# The CLI the API is compared against.
cargo build --release --bin spikegpu
export SPIKEGPU_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/spikegpu"

status=0
wait "$DEPS" || status=$?
if [ "$status" -eq 2 ]; then
    cat "$WORK/deps.log" >&2
    echo "could not install pytest, scipy, matplotlib, tqdm" >&2
    exit 1
elif [ "$status" -ne 0 ]; then
    # go on: the bridge tests then fail, naming the missing BrainPy
    cat "$WORK/deps.log" >&2
    echo "warning: could not install ${BRAINPY[*]}; the bridge tests will fail" >&2
fi
"$VPY" -m pip install -q "$WORK"/wheel/spikegpu-*.whl
export SPIKEGPU_REQUIRE_BRAINPY=1 SPIKEGPU_REQUIRE_CLI=1

# Run from outside the repository, so that `import spikegpu` is the installed package.
cd "$WORK"
"$VPY" -m pytest -q -p no:cacheprovider --rootdir "$ROOT" "$ROOT/tests/python" "$@"

echo "examples:"
"$VPY" "$ROOT/examples/ampa_seed.py" --out "$WORK/out/ampa_seed.png"
test -s "$WORK/out/ampa_seed.png"
# (BrainPy's deprecation warnings of the docs' own `sum_inputs` are left out of the log)
if ! (cd "$WORK" && "$VPY" -W ignore "$ROOT/examples/from_brainpy.py" > "$WORK/from_brainpy.log" 2>&1); then
    cat "$WORK/from_brainpy.log" >&2
    exit 1
fi
grep -v -i "warn" "$WORK/from_brainpy.log" || true
test -s "$WORK/out/from_brainpy.png"

# One abi3 wheel for every CPython >= 3.9: a smoke test on the oldest supported.
OLDEST="$(interpreters | awk -F'[ .]' '$1 == 3 && $2 == 9' | head -n 1)"
if [ -n "$OLDEST" ]; then
    "${OLDEST#* }" -m venv "$WORK/venv39"
    "$WORK/venv39/bin/python" -m pip install -q "$WORK"/wheel/spikegpu-*.whl
    "$WORK/venv39/bin/python" - <<'EOF'
import numpy as np, spikegpu as sg, sys
net = sg.Network(dt=0.1)
pre = net.spike_time_group("pre", 1, [0, 0, 0, 0], [10.0, 30.0, 50.0, 70.0])
post = net.lif_ref("post", 1, V_rest=-60.0, V_th=-50.0, V_reset=-60.0, tau=20.0, tau_ref=5.0, V_init=-60.0)
net.projection(pre, post, sg.AMPA(), sg.One2One(), weight=1.0, output=sg.COBA(E=0.0), name="syn")
net.monitor("V", post.V)
v = net.run(1000, backend="cpu", progress=False)["V"]
assert v.dtype == np.float32 and v.shape == (1000, 1) and -56.3 < v.max() < -56.1, v.max()
print("abi3 wheel on Python %d.%d: ok" % sys.version_info[:2])
EOF
fi
