# Sourced by the one-call GPU scripts (tools/device_*.sh) after their settings: the log under $OUT, `stamp`, the
# carried wheels (.whl/, see tools/device_country.sh), $PY, and `render_cache DIR` (fresh world renders of the judge
# countries at 128², cached for training in DIR_128).
: "${OUT:?set OUT to the folder that comes back}"
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
t0=$SECONDS
stamp() { echo "[$((SECONDS - t0)) s] $*"; }

if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --root-user-action=ignore --no-index --no-deps --no-compile --no-cache-dir --upgrade --target .whl/site .whl/*.whl
  export PYTHONPATH=.whl/site
fi
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
PY=${PY:-python3}
$PY -c "import torch, diffusers; print('torch', torch.__version__, 'diffusers', diffusers.__version__,
        'cuda', torch.cuda.is_available() and torch.cuda.get_device_name())"

render_cache() {  # render_cache DIR: $RENDERS renders (dataset seed $DATA_SEED) in DIR, cached at 128² in DIR_128
  local countries
  countries=$($PY -c 'from train.common.data import judge_countries; print(",".join(judge_countries()))')
  stamp "rendering $RENDERS world images (dataset seed $DATA_SEED)"
  $PY -m streetgen.world dataset --out "$1" --n "$RENDERS" --size 128 --countries "$countries" \
    --splits train=1.0 --quality 95 --seed "$DATA_SEED"
  $PY -m streetgen.data.cache --root "$1" --split train --size 128 --out "${1}_128"
}
