#!/usr/bin/env bash
# Runs every test, GPU tests included: installs Mesa's software Vulkan driver (lavapipe) when no
# Vulkan driver is present, so the GPU engine is tested for real even on a machine without a GPU,
# and requires the GPU path (a missing adapter fails the GPU tests instead of skipping them).
# Extra arguments go to `cargo test`.
set -euo pipefail

cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
fi

have_lavapipe() {
    compgen -G "/usr/share/vulkan/icd.d/lvp_icd*.json" >/dev/null
}

# Install when lavapipe is missing (or always under CI, where it is idempotent); an apt failure
# is only tolerated when the lavapipe ICD is already present.
if [ -n "${CI:-}" ] || ! have_lavapipe; then
if ! { $SUDO apt-get update \
        && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
            libvulkan1 mesa-vulkan-drivers; }; then
    if have_lavapipe; then
        echo "apt-get failed, but lavapipe is already installed; continuing" >&2
    else
        echo "could not install libvulkan1 mesa-vulkan-drivers and no lavapipe ICD found" >&2
        exit 1
    fi
fi
fi

export WGPU_BACKEND="${WGPU_BACKEND:-vulkan}" SPIKEGPU_REQUIRE_GPU=1
# Mesa's WSI complains on every device open when this is unset; compute does not need it.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
fi

cargo --version
cargo test --release "$@"
# the per-kernel benchmarks, shrunk, so they keep building and running
SPIKEGPU_BENCH_SMALL=1 cargo bench --bench kernels
# the Python package: built with `pip install .`, its tests and the BrainPy bridge's against
# BrainPy itself (a failure to install BrainPy fails them)
SPIKEGPU_REQUIRE_BRAINPY=1 bash scripts/test_python.sh
# the GPU device check, prepared as for the lent machine and dry-run on this one's adapter: the
# script and the files it carries are complete and every section runs
bash scripts/device-check.sh prepare
bash .device/device-check.sh run out/device-check-dry --dry-run
