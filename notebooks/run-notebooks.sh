#!/usr/bin/env bash
# Executes both notebooks headlessly, as `mvn test` does (the notebooks module's test phase):
#   - bank-marketing.ipynb through Debian's jupyter-nbconvert with the fast-embedding-java kernel;
#     the executed copy, with its PNG outputs, goes to target/executed/;
#   - bank-marketing.zpln: its %spark paragraphs in the Scala 2.13 REPL (ZeppelinNoteRunner).
# A failing cell or paragraph exits non-zero. Needs the apt packages jupyter-nbconvert and
# python3-nbclient (.ci/install-notebook-tools.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v jupyter-nbconvert >/dev/null 2>&1; then
  echo "jupyter-nbconvert is missing: the notebooks cannot run. Install Debian's jupyter-nbconvert" \
    "and python3-nbclient (as root: .ci/install-notebook-tools.sh), or skip with -DskipTests" >&2
  exit 1
fi
export BANK_CSV="$PWD/target/data/bank-full.csv"
jupyter_dir="$PWD/target/jupyter"
bash install-kernel.sh "$jupyter_dir" >/dev/null
export JUPYTER_PATH="$jupyter_dir"
# the Debian jupyter scripts run /usr/bin/python3 with Debian's modules
export JUPYTER_PLATFORM_DIRS=1 JUPYTER_DATA_DIR="$jupyter_dir" JUPYTER_RUNTIME_DIR="$jupyter_dir/runtime"
rm -rf target/executed && mkdir -p target/executed

t0=$(date +%s)
echo "[notebooks] executing bank-marketing.ipynb with the fast-embedding-java kernel"
jupyter-nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=fast-embedding-java \
  --ExecutePreprocessor.timeout=900 --output-dir target/executed bank-marketing.ipynb
python3 - target/executed/bank-marketing.ipynb <<'PY'
import json, sys
nb = json.load(open(sys.argv[1]))
pngs = sum(1 for c in nb["cells"] for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(f"[notebooks] bank-marketing.ipynb: {len(nb['cells'])} cells, {pngs} PNG outputs, "
      f"{len(errors)} errors")
if errors or pngs < 3:
    sys.exit("[notebooks] expected no errors and 3 PNG pictures")
PY
t1=$(date +%s)
echo "[notebooks] bank-marketing.ipynb ran in $((t1 - t0)) s"

source ../examples/spark-jvm-flags.sh
echo "[notebooks] running the %spark paragraphs of bank-marketing.zpln in the Scala 2.13 REPL"
java -Xmx4g "${flags[@]}" -Djava.awt.headless=true -Dlog4j2.configurationFile=log4j2.properties \
  -cp "target/classes:$(cat target/classpath.txt)" io.fastembedding.notebook.ZeppelinNoteRunner \
  bank-marketing.zpln local[2] target/executed/zeppelin
pngs=$(find target/executed/zeppelin -name '*.png' | wc -l)
if [ "$pngs" -lt 3 ]; then
  echo "[notebooks] bank-marketing.zpln showed $pngs PNG pictures, expected 3" >&2
  exit 1
fi
echo "[notebooks] bank-marketing.zpln ran in $(( $(date +%s) - t1 )) s"
