#!/bin/bash
# Creates NEST's virtual environment for the microcircuit comparison in $NEST_WORK (default
# /tmp/spikegpu-nest/venv): NEST 3.10 and the reference PyNEST microcircuit, both wheels from PyPI
# (CPython 3.11 on x86-64 Linux has them), numpy for the statistics.
set -e
work=${NEST_WORK:-/tmp/spikegpu-nest}
mkdir -p "$work"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --upgrade pip
"$work/venv/bin/pip" install -q "nest-simulator==3.10.0" "microcircuit==1.0" "numpy<2.5" "docopt-ng"
"$work/venv/bin/python" -c "import nest, microcircuit; print('nest', nest.__version__)"
