#!/usr/bin/env bash
# One GPU call (the workplace's device tool) that continues the shipped country diffusion model on fresh world
# renders and judges it against the shipped model on the same requests, on the same GPU. Sized for a 15-minute
# device budget and the 10-minute call limit: ~1 min of data, MINUTES (5) of training, ~2 min of evaluation, plus
# ~1-2 min to start the machine outside the call.
#
#   here, once (the device image has torch but not diffusers or pycountry; its huggingface_hub 1.33 serves):
#     echo /.whl/ >> .git/info/exclude && python3 -m pip download --no-deps --only-binary=:all: \
#       --python-version 3.12 --implementation cp --platform manylinux_2_17_x86_64 -d .whl \
#       diffusers==0.42.1 pycountry==26.2.16 importlib_metadata lazy-importer
#   device run: command "MINUTES=5 EXTRA='--rival-weight 1' bash tools/device_country.sh", carry [".whl"],
#     timeout_s 600
#   dry run on a CPU (minutes): OUT=runs/device_dry DEVICE=cpu PRECISION=no RENDERS=333 MINUTES=0.3 BATCH=8 \
#     EVAL_N=1 EVAL_COUNTRIES=8 bash tools/device_country.sh
#
# Back under $OUT (the tool returns at most 8 files of 16 MiB): log.txt; results.tar.gz holding
# eval_{shipped,new}_{nN,s9100}.json (the eval's metrics.json for --n EVAL_N and for --n EVAL_N/2 --seed 9100),
# with AUTOGUIDED=1 (the default) eval_{shipped_ag,new_ag}_nN.json (shipped+early, new+shipped), the
# run's metrics.jsonl and curves.png, the export's config.json and README.md; and the export's model.safetensors in
# pieces (join: cat model.safetensors.part-* > model.safetensors).
set -euo pipefail
MINUTES=${MINUTES:-5} RENDERS=${RENDERS:-55500} BATCH=${BATCH:-256} LR=${LR:-5e-5} EXTRA=${EXTRA:-}
DEVICE=${DEVICE:-cuda} PRECISION=${PRECISION:-bf16} DATA_SEED=${DATA_SEED:-7}
EVAL_N=${EVAL_N:-12} EVAL_COUNTRIES=${EVAL_COUNTRIES:-0}
# shellcheck source=tools/device_lib.sh
source "$(dirname "$0")/device_lib.sh"
data=data/device_ft$DATA_SEED
render_cache "$data"

stamp "training $MINUTES min: batch $BATCH, lr $LR, $EXTRA"
# shellcheck disable=SC2086  # EXTRA is a list of flags
$PY -m train.train_country_diffusion --data "${data}_128" --runs-dir runs --name device_ft \
  --init-from checkpoints/country_diffusion --steps 10000000 --time-limit "$MINUTES" --batch-size "$BATCH" \
  --lr "$LR" --warmup-steps 200 --ema-decay 0.9995 --ema-warmup 0 --log-every 100 --ckpt-every 1000000 \
  --sample-every 0 --device "$DEVICE" --precision "$PRECISION" --no-progress $EXTRA
export_dir=runs/device_ft/export
kept=runs/device_kept && rm -rf "$kept" && mkdir -p "$kept"

judge_n() {  # judge_n MODEL TAG: the eval's --n EVAL_N requests (1,332 by default)
  $PY -m streetgen.eval --task country --model "$1" --n "$EVAL_N" --countries "$EVAL_COUNTRIES" \
    --device "$DEVICE" --batch 256 --out "runs/eval/device_$2_n" | grep -E "top1 |top5 |frechet"
  cp "runs/eval/device_$2_n/metrics.json" "$kept/eval_$2_n$EVAL_N.json"
}
judge() {  # judge MODEL TAG: judge_n, and half as many requests on seeds nothing was tuned on
  judge_n "$1" "$2"
  $PY -m streetgen.eval --task country --model "$1" --n $(((EVAL_N + 1) / 2)) --seed 9100 \
    --countries "$EVAL_COUNTRIES" --device "$DEVICE" --batch 256 --out "runs/eval/device_$2_s" \
    | grep -E "top1 |top5 |frechet"
  cp "runs/eval/device_$2_s/metrics.json" "$kept/eval_$2_s9100.json"
}
stamp "judging the shipped model"; judge country_diffusion shipped
stamp "judging the new model"; judge "$export_dir" new

cp "$export_dir/config.json" "$export_dir/README.md" runs/device_ft/metrics.jsonl "$kept/"
cp runs/device_ft/curves.png "$kept/" 2>/dev/null || true
pack() { tar -czf "$OUT/results.tar.gz" -C "$kept" .; }
pack
split -b 15M -d "$export_dir/model.safetensors" "$OUT/model.safetensors.part-"
stamp "results packed"

# Autoguided (the app samples the shipped model autoguided by its earlier export): the shipped route, and the new
# model autoguided by the shipped one — each training round's predecessor is a weaker model of the same kind.
# After the pack above, so a call that runs out of time here still brings the plain comparison back.
if [ "${AUTOGUIDED:-1}" = 1 ]; then
  stamp "judging the shipped route (autoguided by country_diffusion_early)"
  judge_n country_diffusion+country_diffusion_early shipped_ag
  stamp "judging the new model autoguided by the shipped one"
  judge_n "$export_dir+country_diffusion" new_ag
  pack
fi
stamp "done"
