#!/bin/sh
# Reproduces the table of models/README.md: Para-Former with B = 1, 2, 4, 8 branches (one block
# each, progressive approximation), the same B = 8 trained plainly, and serial ViTs of L = 1, 2,
# 4, 8 blocks of the same block shape, all on Fashion-MNIST with the same recipe and seed.
# (B = 1 is the same network as L = 1, so it is trained once, as serial-l1.)
#   reference/experiment.sh [RUNS_DIR]     (default runs/fashion-mnist; about 25 min on 2 idle cores)
# Runs go in two queues of one thread each (the machine's two cores). A finished run (its
# results.json exists) is skipped, so an interrupted experiment continues where it stopped.
set -eu
cd "$(dirname "$0")/.."
RUNS=${1:-runs/fashion-mnist}
PY=/usr/bin/python3
EPOCHS=${EPOCHS:-4}
mkdir -p "$RUNS"

run() {  # name, then train.py arguments
  name=$1; shift
  if [ -f "$RUNS/$name/results.json" ]; then echo "$name: done already"; return 0; fi
  resume=  # --resume only where an interrupted run left its state (train.py refuses it otherwise)
  if [ -f "$RUNS/$name/train_state.pth" ]; then resume=--resume; fi
  $PY reference/train.py --out "$RUNS/$name" --epochs "$EPOCHS" --threads 1 $resume "$@" > "$RUNS/$name.log" 2>&1 ||
    { echo "$name: FAILED, see $RUNS/$name.log" >&2; return 1; }
  tail -n 1 "$RUNS/$name.log"
}

( run para-b8-progressive --branches 8 --mode progressive ) &
queue1=$!
(
  run para-b8-plain --branches 8 --mode plain
  run para-b4-progressive --branches 4 --mode progressive
  run para-b2-progressive --branches 2 --mode progressive
  for l in 1 2 4 8; do run serial-l$l --serial --blocks $l; done
) &
queue2=$!
status=0
wait $queue1 || status=1
wait $queue2 || status=1
[ $status -eq 0 ] || exit 1
$PY reference/summarize.py "$RUNS" models/README.md
