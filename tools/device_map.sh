#!/usr/bin/env bash
# One GPU call (the workplace's device tool) that trains the map GAN (coordinates → street) up to 128² on fresh
# world renders and judges it against the shipped 64² model on the same requested points, on the same GPU. Sized
# for a 15-minute device budget and the 10-minute call limit: ~1 min of data, MINUTES (6) of training, ~1 min of
# evaluation, plus ~1-2 min to start the machine outside the call.
#
#   here, once: the same .whl folder as tools/device_country.sh (diffusers, pycountry and their two small deps)
#   device run: command "MINUTES=6 bash tools/device_map.sh", carry [".whl"], timeout_s 600
#   dry run on a CPU (minutes): OUT=runs/device_map_dry DEVICE=cpu RENDERS=222 MINUTES=0.3 BATCH=8 STAGE=64 \
#     POINTS=8 CHANNELS=32,32,16,16,8 bash tools/device_map.sh
#
# The schedule fades each resolution in over STAGE images and trains it alone for STAGE more (8² → 128² is four
# doublings: 8·STAGE images to reach 128² alone). At the 64² run's 12 steps/s of 64 an H100 sees ~46k images a
# minute, so STAGE 40000 reaches 128² after about 7 minutes; MINUTES and STAGE trade resolution against time.
#
# Back under $OUT: log.txt; results.tar.gz holding eval_{shipped,new}.json (the eval's metrics.json for --points
# POINTS), the run's metrics.jsonl and curves.png, its last sample grid, the export's config.json and README.md; and
# the export's model.safetensors in pieces (join: cat model.safetensors.part-* > model.safetensors).
set -euo pipefail
MINUTES=${MINUTES:-6} RENDERS=${RENDERS:-55500} BATCH=${BATCH:-64} STAGE=${STAGE:-40000} POINTS=${POINTS:-300}
DEVICE=${DEVICE:-cuda} PRECISION=${PRECISION:-no} DATA_SEED=${DATA_SEED:-8} CHANNELS=${CHANNELS:-} EXTRA=${EXTRA:-}
# shellcheck source=tools/device_lib.sh
source "$(dirname "$0")/device_lib.sh"
data=data/device_map$DATA_SEED
render_cache "$data"

stamp "training $MINUTES min to 128²: batch $BATCH, $STAGE images per stage and per fade-in, $EXTRA"
channels=()
[ -n "$CHANNELS" ] && channels=(--channels "$CHANNELS")
# shellcheck disable=SC2086  # EXTRA is a list of flags
$PY -m train.train_map_gan --data "${data}_128" --runs-dir runs --name device_map --final-size 128 \
  "${channels[@]}" --batch-size "$BATCH" --stage-images "$STAGE" --fade-images "$STAGE" --steps 10000000 \
  --time-limit "$MINUTES" --outlier-km 8000 --select-every 1000 --sample-every 1000 --ckpt-every 1000000 \
  --log-every 200 --device "$DEVICE" --precision "$PRECISION" --no-progress $EXTRA
export_dir=runs/device_map/export
kept=runs/device_map_kept && rm -rf "$kept" && mkdir -p "$kept"

judge() {  # judge MODEL TAG: the map eval's POINTS requested points, one image each
  $PY -m streetgen.eval --task map --model "$1" --n 1 --points "$POINTS" --device "$DEVICE" \
    --out "runs/eval/device_map_$2" | grep -E "median|top1" || true
  cp "runs/eval/device_map_$2/metrics.json" "$kept/eval_$2.json"
}
stamp "judging the shipped model"; judge map_gan shipped
stamp "judging the new model"; judge "$export_dir" new

cp "$export_dir/config.json" "$export_dir/README.md" runs/device_map/metrics.jsonl "$kept/"
cp runs/device_map/curves.png "$kept/" 2>/dev/null || true
last=$(ls runs/device_map/samples/*.png 2>/dev/null | tail -1 || true)
[ -n "$last" ] && cp "$last" "$kept/"
tar -czf "$OUT/results.tar.gz" -C "$kept" .
split -b 15M -d "$export_dir/model.safetensors" "$OUT/model.safetensors.part-"
stamp "done"
