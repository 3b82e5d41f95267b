#!/usr/bin/env python3
"""Whole-process timings of spikegpu next to Brian2 standalone, in one sequence, so the peer runs
between two measurements of ours on the same machine (the figures of BENCHMARKS.md).

    scripts/bench_vs_peers.py ours:B2:event:10 peer:B2 ours:B2:event:10 ours:B2:dense:5

Each step is `ours:NET:MODE:RUNS` (fresh `spikegpu run` processes, timed around the process) or
`peer:NET` (`bench_brian2.py NET --target standalone --runs 3`, the peers' own script; needs the
venv of ../shared/bench/peers/setup.sh in $PEERS_WORK, default /tmp/spikegpu-peers). Build first:
`cargo build --release`. Results go to stdout and are appended to bench_vs_peers.log.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, 'target', 'release', 'spikegpu')
NETS = os.path.join(ROOT, 'benches', 'networks')
PEERS = os.path.join(os.path.dirname(ROOT), 'shared', 'bench', 'peers')
WORK = os.environ.get('PEERS_WORK', '/tmp/spikegpu-peers')
LOG = open(os.path.join(ROOT, 'bench_vs_peers.log'), 'a')


def say(line):
    print(line, flush=True)
    LOG.write(line + '\n')
    LOG.flush()


def load():
    return open('/proc/loadavg').read().split()[0]


def peer(net):
    say(f'== brian2 standalone {net} load {load()} {time.strftime("%T")}')
    env = dict(os.environ, PEERS_WORK=WORK)
    cmd = [os.path.join(WORK, 'venv', 'bin', 'python'), os.path.join(PEERS, 'bench_brian2.py'), net,
           '--target', 'standalone', '--runs', '3']
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith('RESULT'):
            say(line)
    if out.returncode:
        say(f'rc {out.returncode}: {out.stderr[-2000:]}')


def ours(net, mode, runs):
    say(f'== spikegpu {net} cpu {mode} x{runs} load {load()} {time.strftime("%T")}')
    wall, sim = [], []
    out = '/tmp/spikegpu_bench_vs_peers'
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([BIN, 'run', os.path.join(NETS, f'{net}.json'), '--backend', 'cpu', '--mode', mode,
                        '--out', out, '--quiet'], check=True)
        wall.append(time.perf_counter() - t)
        summary = json.load(open(os.path.join(out, 'summary.json')))
        sim.append(summary['wall_seconds'])
    say(f'RESULT_SPIKEGPU {net} {mode} process median {statistics.median(wall):.4f} min {min(wall):.4f} '
        f'max {max(wall):.4f} sim median {statistics.median(sim):.4f} spikes {summary["spike_counts"]}')


for step in sys.argv[1:]:
    kind, net, *rest = step.split(':')
    if kind == 'peer':
        peer(net)
    else:
        ours(net, rest[0], int(rest[1]))
