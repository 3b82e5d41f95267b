#!/usr/bin/env python3
"""Whole-process timings of spikegpu next to its peers, in one sequence, so each peer runs between
two measurements of ours on the same machine (the figures of BENCHMARKS.md; this VM drifts by up to
40% between minutes).

    scripts/bench_vs_peers.py ours:ei_coba:dense:10 brian2:ei_coba brainpy:ei_coba ours:ei_coba:dense:10
    scripts/bench_vs_peers.py rates:ei_coba:6 brainpy-rates:ei_coba:6

Steps:
  ours:NET:MODE:RUNS     fresh `spikegpu run` processes (CPU engine), timed around the process
  brian2:NET             Brian2 C++ standalone: benches/peers/bench_brian2.py (B nets) or
                         ei_brian2.py (E/I nets), 3 timed runs of the compiled binary
  brainpy:NET            BrainPy, jitted: bench_brainpy.py or ei_brainpy.py, 3 runs after the compile
  rates:NET:SEEDS        spikegpu's rates over SEEDS realizations (connectivity and V_init seeds)
  brainpy-rates:NET:SEEDS, brian2-rates:NET:SEEDS   the same for a peer
The peers need the venv of benches/peers/setup.sh in $PEERS_WORK (default /tmp/spikegpu-peers).
Build first: `cargo build --release`. Results go to stdout and are appended to bench_vs_peers.log.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, 'target', 'release', 'spikegpu')
NETS = os.path.join(ROOT, 'benches', 'networks')
PEERS = os.path.join(ROOT, 'benches', 'peers')
WORK = os.environ.get('PEERS_WORK', '/tmp/spikegpu-peers')
LOG = open(os.path.join(ROOT, 'bench_vs_peers.log'), 'a')


def say(line):
    print(line, flush=True)
    LOG.write(line + '\n')
    LOG.flush()


def load():
    return open('/proc/loadavg').read().split()[0]


def peer_cmd(peer, net, seed=None, runs=3):
    py = os.path.join(WORK, 'venv', 'bin', 'python')
    if net.startswith('ei_'):
        script = os.path.join(PEERS, f'ei_{peer}.py')
        cmd = [py, script, os.path.join(NETS, f'{net}.json'), '--runs', str(runs)]
    else:
        script = os.path.join(PEERS, f'bench_{peer}.py')
        cmd = [py, script, net, '--runs', str(runs)] + (['--target', 'standalone'] if peer == 'brian2' else [])
    if seed is not None:
        cmd += ['--seed', str(seed)]
    return cmd


def peer(name, net, seed=None, runs=3):
    say(f'== {name} {net} seed {seed} load {load()} {time.strftime("%T")}')
    out = subprocess.run(peer_cmd(name, net, seed, runs), capture_output=True, text=True, env=dict(os.environ, PEERS_WORK=WORK))
    result = None
    for line in out.stdout.splitlines():
        if line.startswith('RESULT'):
            say(line)
            result = json.loads(line[len('RESULT '):])
    if out.returncode:
        say(f'rc {out.returncode}: {out.stderr[-2000:]}')
    return result


def run_ours(path, mode, out):
    t = time.perf_counter()
    subprocess.run([BIN, 'run', path, '--backend', 'cpu', '--mode', mode, '--out', out, '--quiet'], check=True)
    wall = time.perf_counter() - t
    return wall, json.load(open(os.path.join(out, 'summary.json')))


def ours(net, mode, runs):
    say(f'== spikegpu {net} cpu {mode} x{runs} load {load()} {time.strftime("%T")}')
    wall, sim = [], []
    out = os.path.join(tempfile.gettempdir(), 'spikegpu_bench_vs_peers')
    for _ in range(runs):
        w, summary = run_ours(os.path.join(NETS, f'{net}.json'), mode, out)
        wall.append(w)
        sim.append(summary['wall_seconds'])
    say(f'RESULT_SPIKEGPU {net} {mode} process median {statistics.median(wall):.4f} min {min(wall):.4f} '
        f'max {max(wall):.4f} sim median {statistics.median(sim):.4f} peak MiB {summary.get("peak_memory_mib")} '
        f'rates {summary["rates_hz"]}')


def rates(net, seeds):
    """spikegpu's rates over realizations: the file's connectivity and V_init seeds moved."""
    base = json.load(open(os.path.join(NETS, f'{net}.json')))
    per = {}
    for s in range(1, seeds + 1):
        for k, p in enumerate(base['projections']):
            c = p['connectivity']
            if c.get('kind') == 'fixed_prob':
                c['seed'] = 1000 * s + k
        for k, p in enumerate(base['populations']):
            if isinstance(p.get('V_init'), dict):
                p['V_init']['seed'] = 1000 * s + 500 + k
        with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
            json.dump(base, f)
        out = os.path.join(tempfile.gettempdir(), 'spikegpu_rates')
        _, summary = run_ours(f.name, 'dense', out)
        os.unlink(f.name)
        for pop, r in summary['rates_hz'].items():
            per.setdefault(pop, []).append(r)
    summary_line(f'spikegpu {net}', per)


def peer_rates(name, net, seeds):
    per = {}
    for s in range(seeds):
        r = peer(name, net, seed=42 + s, runs=1)
        for pop, v in r['rate_hz'].items():
            per.setdefault(pop, []).append(v)
    summary_line(f'{name} {net}', per)


def summary_line(what, per):
    say(f'RATES {what} over {len(next(iter(per.values())))} realizations: ' + ', '.join(
        f'{pop} {statistics.mean(v):.2f} +- {statistics.stdev(v) if len(v) > 1 else 0:.2f} Hz' for pop, v in per.items()))


for step in sys.argv[1:]:
    kind, net, *rest = step.split(':')
    if kind == 'ours':
        ours(net, rest[0], int(rest[1]))
    elif kind == 'rates':
        rates(net, int(rest[0]))
    elif kind.endswith('-rates'):
        peer_rates(kind[:-len('-rates')], net, int(rest[0]))
    else:
        peer(kind, net)
