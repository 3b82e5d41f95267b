#!/usr/bin/env bash
# The GPU device check, in two halves, because the lent GPU machine has no Rust toolchain and no
# network:
#
#   scripts/device-check.sh prepare              here: builds a stripped release binary and copies
#                                                everything the check needs into .device/ (ignored
#                                                by git; carry it): networks, golden cases, the
#                                                Vulkan loader's Debian packages, this script
#   .device/device-check.sh run OUT [--dry-run]  there: uses only .device/; writes every section's
#                                                output and exit status under OUT
#
# Sections (each with its own time limit and exit status in OUT/status.txt; a failing section
# does not stop the others): environment and Vulkan loader, adapters (refuses to go on unless an
# NVIDIA adapter is listed, except with --dry-run), probe (limits, features, copy bandwidth),
# golden cases (GPU against BrainPy's traces, GPU against the CPU engine, dense and event
# mode), benchmarks on the GPU (with GPU timestamps), the same networks on the machine's CPU.
# All of it is meant to fit in under 6 minutes on an H100/H200. `--dry-run` runs every section on
# whatever adapter there is (lavapipe in CI) with the small networks only, to check that the
# script and its carried files are complete.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)

prepare() {
    cd "$here/.." || exit 1
    local d=.device
    rm -rf "$d" && mkdir -p "$d/networks" "$d/golden" "$d/debs" || exit 1
    cargo build --release --quiet || exit 1
    # debug info makes the binary 4x larger; the lent machine only runs it
    cp target/release/spikegpu "$d/spikegpu" && strip "$d/spikegpu" || exit 1
    cp benches/networks/*.json "$d/networks/" && cp -r tests/golden/. "$d/golden/" || exit 1
    cp scripts/device-check.sh "$d/device-check.sh"
    # the Vulkan loader (the lent machine has none), as the device notes say
    local lists=/tmp/spikegpu-apt-amd64
    mkdir -p "$lists/partial"
    local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists="$lists")
    if apt-get "${o[@]}" update >/dev/null 2>&1; then
        (cd "$d/debs" && apt-get "${o[@]}" download libvulkan1 >/dev/null 2>&1) || echo "warning: could not download libvulkan1" >&2
    else
        echo "warning: apt-get update failed: no Vulkan loader carried" >&2
    fi
    echo "prepared $(du -sh "$d" | cut -f1) in $d:"
    ls -la "$d" "$d/debs"
}

run() {
    local out=${1:?usage: device-check.sh run OUT [--dry-run]}
    local dry=${2:-}
    # exported: the sections that are functions run in a child bash
    export d=$here out
    export bin=$d/spikegpu
    mkdir -p "$out" || exit 1
    : >"$out/status.txt"
    local t_start=$SECONDS
    section() {
        local name=$1 limit=$2
        shift 2
        echo "== $name (limit ${limit}s)"
        if [ "$(type -t "$1")" = function ]; then
            # timeout runs programs, not functions: a child bash gets the function's definition
            timeout "$limit" bash -c "$(declare -f "$1"); $1" >"$out/$name.txt" 2>&1
        else
            timeout "$limit" "$@" >"$out/$name.txt" 2>&1
        fi
        local rc=$?
        echo "$name $rc $((SECONDS - t_start))s" >>"$out/status.txt"
        tail -n 25 "$out/$name.txt"
        [ "$rc" = 0 ] || echo "-- section $name: exit $rc"
        return "$rc"
    }
    environment() {
        uname -a
        nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 || true
        if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
            echo "no Vulkan loader installed: unpacking the carried one"
            for f in "$d"/debs/*.deb; do dpkg -x "$f" / || return 1; done
            ldconfig
        fi
        ldconfig -p | grep -i libvulkan || { echo "no libvulkan after unpacking"; return 1; }
        ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ /usr/local/nvidia/share/vulkan/icd.d/ 2>/dev/null
        echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
    }
    section environment 60 environment
    # the NVIDIA driver's ICD where the loader does not look by itself
    if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \
        && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
        export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    fi
    export WGPU_BACKEND=vulkan
    section adapters 60 "$bin" devices
    if [ -z "$dry" ] && ! grep -qi nvidia "$out/adapters.txt"; then
        echo "refusing to go on: no NVIDIA adapter among $(cat "$out/adapters.txt")"
        exit 3
    fi
    [ -z "$dry" ] && export WGPU_ADAPTER_NAME=nvidia
    section probe 60 "$bin" probe --mib "$([ -n "$dry" ] && echo 16 || echo 1024)"

    # every file the full check reads must have been carried, dry run or not
    local f missing=0
    for f in B1 B2 B3 B2x10 ei_coba ei_cuba ei_coba_x10 scale_1e8; do
        [ -f "$d/networks/$f.json" ] || { echo "missing $d/networks/$f.json"; missing=1; }
    done
    [ -d "$d/golden/models" ] && [ -x "$bin" ] || { echo "missing the golden cases or the binary in $d"; missing=1; }
    echo "carried files $([ $missing = 0 ] && echo complete || echo INCOMPLETE)"
    [ $missing = 0 ] || exit 4
    export cases
    if [ -n "$dry" ]; then
        # lavapipe is slow: the small cases only
        cases="$d/golden/seed_E0.json $d/golden/seed_delay.json $d/golden/models/expon_post_coba.json"
    else
        cases="$(ls "$d"/golden/*.json "$d"/golden/models/*.json)"
    fi
    golden() {
        local status=0 case name m
        for case in $cases; do
            name=$(basename "$case" .json)
            "$bin" run "$case" --backend cpu --out "$out/g/$name-cpu" --quiet || status=1
            for m in dense event; do
                "$bin" run "$case" --backend gpu --mode $m --out "$out/g/$name-gpu-$m" --quiet || { status=1; continue; }
                echo "$name $m: $("$bin" compare "$case" "$out/g/$name-gpu-$m" | tail -n 1)" || status=1
                echo "$name $m vs cpu: $("$bin" compare "$out/g/$name-gpu-$m" "$out/g/$name-cpu" | tail -n 1)" || status=1
            done
        done
        return $status
    }
    section golden 120 golden

    local nets cpu_nets
    if [ -n "$dry" ]; then
        nets="B1"
        cpu_nets="B1"
    else
        nets="${NETS:-B1 B2 B3 ei_coba ei_cuba B2x10 ei_coba_x10 scale_1e8}"
        cpu_nets="${CPU_NETS:-B2 B3 ei_coba}"
    fi
    local n
    for n in $nets; do
        section "bench-gpu-$n" 90 "$bin" bench --dir "$d/networks" --nets "$n" --backends gpu,gpu-event --repeats 2 --out "$out/bench"
    done
    for n in $cpu_nets; do
        section "bench-cpu-$n" 90 "$bin" bench --dir "$d/networks" --nets "$n" --backends cpu,cpu-event --repeats 2 --out "$out/bench"
    done
    rm -rf "$out/g" "$out/bench"
    echo "== done in $((SECONDS - t_start)) s; section statuses:"
    cat "$out/status.txt"
    ! grep -qv ' 0 ' "$out/status.txt"
}

case "${1:-}" in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 prepare | run OUT [--dry-run]" >&2; exit 2 ;;
esac
