#!/usr/bin/env bash
# Copy the shipped / committed models of another worktree (the training queue's) into this one
# and commit them: scripts/sync_models_from.sh /path/to/other/worktree
set -euo pipefail
cd "$(dirname "$0")/.."
src=$1
changed=0
paths=()
for dir in semcom/weights models; do
    [ -d "$src/$dir" ] || continue
    mkdir -p "$dir"
    for f in "$src/$dir"/*.safetensors "$src/$dir"/*.json; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        if ! cmp -s "$f" "$dir/$name"; then cp "$f" "$dir/$name"; git add "$dir/$name"; paths+=("$dir/$name"); changed=1; fi
    done
done
# a model re-shipped under a new weights file: drop the superseded one
for card in semcom/weights/*.json models/*.json; do
    [ -e "$card" ] || continue
    key=$(basename "$card" .json)
    keep=$(python3 -c "import json,sys; print(json.load(open('$card'))['weights_file'])")
    for w in "$(dirname "$card")/$key".*.safetensors; do
        if [ -e "$w" ] && [ "$(basename "$w")" != "$keep" ] && git ls-files --error-unmatch "$w" >/dev/null 2>&1; then git rm -q -f "$w"; paths+=("$w"); changed=1; elif [ -e "$w" ] && [ "$(basename "$w")" != "$keep" ]; then rm -f "$w"; fi
    done
done
if [ "$changed" = 1 ]; then git commit -q -m "models: synced from the training queue ($(date -u +%FT%TZ))" -- "${paths[@]}" && echo "committed"; fi
exit 0
