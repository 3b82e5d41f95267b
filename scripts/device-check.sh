#!/usr/bin/env bash
# The GPU device check, in one go: builds in release, names the adapter, checks GPU traces
# against the CPU engine on the golden cases and on a 1M-synapse network, then times the
# benchmark networks on the GPU. Passes on lavapipe; meant to be run once on a real GPU.
# Usage: scripts/device-check.sh [OUT_DIR]     (SHARED=path to the shared folder, default ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/device-check}
shared=${SHARED:-../shared}
mkdir -p "$out"
echo "== vulkan loader and ICDs"
ldconfig -p | grep -i libvulkan || echo "no libvulkan in ldconfig"
ls /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>/dev/null || true
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
echo "== build"
cargo build --release --quiet
bin=target/release/spikegpu
echo "== adapters"
$bin devices
echo "== golden cases: GPU vs BrainPy and GPU vs CPU"
status=0
for case in "$shared"/golden/*.json; do
    name=$(basename "$case" .json)
    $bin run "$case" --backend gpu --out "$out/$name-gpu" --quiet
    $bin run "$case" --backend cpu --out "$out/$name-cpu" --quiet
    python3 "$shared/tools/compare_case.py" "$case" "$out/$name-gpu" | tail -n 1 || status=1
    python3 "$shared/tools/compare_outputs.py" "$out/$name-gpu" "$out/$name-cpu" | tail -n 1 || status=1
done
echo "== 1M synapses: GPU vs CPU"
$bin run benches/networks/check_1e6.json --backend gpu --out "$out/check_1e6-gpu" --quiet
$bin run benches/networks/check_1e6.json --backend cpu --out "$out/check_1e6-cpu" --quiet
python3 "$shared/tools/compare_outputs.py" "$out/check_1e6-gpu" "$out/check_1e6-cpu" | tail -n 1 || status=1
echo "== benchmarks (GPU, then CPU for the same machine)"
$bin bench --nets "${NETS:-B1,B2,B3,B2x10,scale_1e7,scale_1e8}" --backends gpu,gpu-event --out "$out/bench" | tee "$out/bench-gpu.txt"
$bin bench --nets "${CPU_NETS:-B1,B2,B3}" --backends cpu,cpu-event --out "$out/bench" | tee "$out/bench-cpu.txt"
exit $status
