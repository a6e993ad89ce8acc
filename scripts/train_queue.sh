#!/usr/bin/env bash
# Train a scenario's missing models one at a time, shipping and committing each as it finishes.
#
#   scripts/train_queue.sh SCENARIO DATA_DIR NAME[:weights|:models] ...
#
# Each NAME is a codec of SCENARIO; ":weights" ships it into semcom/weights (the main job's
# defaults), ":models" (the default) into the repository's models/ store. A model already
# stored is not trained again, so the queue can be stopped and restarted at any time.
# Run it in the background:  nohup scripts/train_queue.sh ... > train_queue.log 2>&1 &
# It runs the code of the checkout it lives in (PYTHONPATH), so a developer can keep editing
# another worktree of the repository while the queue trains from a fixed commit.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
scenario=$1; data=$2; shift 2
for item in "$@"; do
    name=${item%%:*}; dest=${item#*:}; [ "$dest" = "$item" ] && dest=models
    echo "=== $(date -u +%FT%TZ) $name -> $dest"
    if ! python -m semcom train "$scenario" --only "$name" --data "$data"; then
        echo "=== $name: training failed; continuing with the next model"; continue
    fi
    for attempt in 1 2 3 4 5; do  # git may be busy with a commit of the developer's
        if python scripts/ship_models.py "$scenario" "$name" --data "$data" --to "$dest" --commit; then break; fi
        echo "=== $name: shipping failed (attempt $attempt); retrying in 30 s"; sleep 30
    done
done
echo "=== $(date -u +%FT%TZ) queue done"
