#!/usr/bin/env bash
# Put what scripts/gpu_train.py brought back from a GPU machine into the repository's model store.
#
#   scripts/unpack_models.sh FILES_AT [--commit]
#
# FILES_AT is the folder the device tool copied $OUT into. models-NN.tar hold finished models
# (half precision, both evaluations in each card) and go into models/; checkpoints-NN.tar hold
# the per-epoch checkpoints of trainings stopped at the budget and go into models/checkpoints/,
# where `semcom train` resumes them (checkpoints are never committed). With --commit the new
# models are committed at once, so no later session trains them again.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$1; commit=${2:-}
mkdir -p models
shopt -s nullglob
for t in "$src"/models-*.tar; do tar -xf "$t" -C models; echo "unpacked $t"; done
for t in "$src"/checkpoints-*.tar; do tar -xf "$t" -C models; echo "unpacked $t (resumable checkpoints)"; done
[ -f "$src/summary.json" ] && cat "$src/summary.json"
if [ "$commit" = "--commit" ]; then
    git add models/*.safetensors models/*.json
    git commit -q -m "models: trained on a GPU by scripts/gpu_train.py" -- models && echo committed
fi
