#!/usr/bin/env bash
# Install smplestx into a fresh virtual environment (the README's first set-up command).
#
#   bash tools/install.sh [--venv DIR] [--lite]
#
# Both flavours add the web demo extra (Gradio, tools/webui.py) where Python >= 3.10.
#
# default  full mmcv with compiled ops + mmdet, for the person detector of the demo. mmcv is
#          built from source (the registry has no mmcv 2.x wheels): ~20-35 min on 2 CPU cores
#          the first time, seconds afterwards because pip caches the built wheel.
# --lite   mmcv-lite instead (pure Python, seconds): everything but the person detector.
#
# On a GPU machine install the CUDA torch you need first and use mim for mmcv instead
# (docs/get_started.md).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
FLAVOUR=detector
while [[ $# -gt 0 ]]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    --lite) FLAVOUR=lite; shift ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

PY="$VENV/bin/python"
[[ -x "$PY" ]] || python3 -m venv "$VENV"
WEB=",web"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "[install] Python < 3.10: skipping the web demo extra (Gradio 6 needs >= 3.10)"
  WEB=""
fi
PIP=("$PY" -m pip install --quiet --progress-bar off -c requirements/constraints.txt)

"$PY" -m pip install --quiet --progress-bar off --upgrade pip
echo "[install] torch + torchvision"
"${PIP[@]}" torch torchvision

if [[ "$FLAVOUR" == detector ]]; then
  echo "[install] full mmcv (source build with ops; cached by pip after the first time)"
  "${PIP[@]}" "setuptools<81" ninja psutil wheel
  MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" "${PIP[@]}" --no-build-isolation mmcv
  echo "[install] smplestx with the detector (mmdet), deploy (ONNX) and web extras and test tools"
  "${PIP[@]}" -e ".[detector,deploy,tests$WEB]"
else
  echo "[install] smplestx with mmcv-lite, the deploy (ONNX) and web extras and test tools"
  "${PIP[@]}" -e ".[lite,deploy,tests$WEB]"
fi
"$PY" -c "import smplestx, mmcv; print('[install] smplestx', smplestx.__version__, '| mmcv', mmcv.__version__)"
