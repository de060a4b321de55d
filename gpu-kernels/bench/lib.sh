# What the GPU runner scripts of this folder share; each sources it after setting $here, the staged folder
# (stage-gpu.sh copies this file there with the scripts, beside jre/, classes/, test-classes/, lib/ and
# junit-console.jar):
#   here="$(cd "$(dirname "$0")" && pwd)"; . "$here/lib.sh"

java="$here/jre/bin/java"
libs="$(ls "$here"/lib/*.jar | tr '\n' ':')"
cp="$here/classes:$here/test-classes:$libs"
# the JUnit console launcher, after the JVM options: "$java" -D... "${junit[@]}" --class-path "$cp" SELECTORS
junit=(-jar "$here/junit-console.jar" execute --disable-banner --disable-ansi-colors)
# the GPU test classes the seed runs cover
gpu_suite=(--select-class io.fastembedding.backend.cuda.CudaBackendTest
  --select-class io.fastembedding.backend.cuda.CudaTrainEpochTest
  --select-class io.fastembedding.backend.cuda.CudaDevicesTest)
# the deterministic-mode tests of CudaBackendTest (with -Dfastembedding.test.detOnly=true)
det_tests=(--select-class io.fastembedding.backend.cuda.CudaBackendTest
  --include-methodname '.*(trainsLikeTheReference|deterministic(SubListWalk|Walks)|bothScatterTiles|residentBatches).*')

# One line: the card, its driver, memory and clocks.
gpu_info() {
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm --format=csv,noheader
}

# The compute-sanitizer on the PATH or under /usr/local/cuda*; empty when there is none.
sanitizer() {
  command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1
}

# One line per JUnit log (--details=tree, with "exit N" appended last): its name, the successful and
# failed counts and the exit line.
test_summary() {
  local f
  for f in "$@"; do
    printf '%s: %s | %s | %s\n' "$(basename "$f" .log)" "$(grep -E '^\[ *[0-9]+ tests successful' "$f" | tr -s ' ')" \
      "$(grep -E '^\[ *[0-9]+ tests failed' "$f" | tr -s ' ')" "$(tail -1 "$f")"
  done
}

# det_ratios.py (fe_cuda_det / fe_cuda per point) on the named CudaBench CSVs.
det_ratios() {
  python3 "$here/det_ratios.py" "$@"
}

# A JVM option giving the JVM its own java.io.tmpdir: JCuda unpacks its native library there, and JVMs
# started at once that share the file can crash (SIGBUS in ld.so).
own_tmpdir() {
  local d
  d="$(mktemp -d /tmp/fe-jvm.XXXXXX)"
  echo "-Djava.io.tmpdir=$d"
}

# The report of the seed runs $1/seed-*.log (-Dfastembedding.test.agreement=print): one line each, the
# failures, and the $2 worst agreement ratios (the GPU's error over the CPU baselines'; limit 8).
seed_report() {
  test_summary "$1"/seed-*.log
  echo "# failures"
  grep -h -A4 "✘" "$1"/seed-*.log | grep -v "^--" | head -80
  echo "# agreement ratios (GPU error / CPU error; limit 8), worst $2 of $(cat "$1"/seed-*.log | grep -c '^AGREEMENT')"
  grep -h '^AGREEMENT' "$1"/seed-*.log | awk '{print $NF, $0}' | sort -g -r | head -"$2" | cut -c1-220
}

# The summary of each compute-sanitizer log $1/sanitizer-TOOL.log that exists, for the TOOLs named next.
sanitizer_report() {
  local dir=$1 tool
  shift
  for tool in "$@"; do
    [ -f "$dir/sanitizer-$tool.log" ] || continue
    echo "# sanitizer $tool:"
    grep -E "ERROR SUMMARY|RACECHECK SUMMARY|tests (successful|failed)|^exit" "$dir/sanitizer-$tool.log" | tr -s ' '
    grep -E -A3 "(Race|Hazard) reported|Invalid|Error:|Warning:" "$dir/sanitizer-$tool.log" | head -40
  done
}

# One CudaBench run of a variant: bench CSV NAME OPTIONS [CudaBench arguments]. OPTIONS, space-separated:
# -D... for the JVM, ptx:SUBDIR for kernels compiled otherwise ($here/SUBDIR/io/fastembedding/backend/cuda/
# *.ptx, first on the class path), anything else for CudaBench. Logs to $out/logs, one line to $sum (the
# seconds since $t0).
bench() {
  local csv="$1" name="$2" opts="$3"; shift 3
  local jopts=() bopts=() vcp="$cp" o
  for o in $opts; do
    case "$o" in -D*) jopts+=("$o") ;; ptx:*) vcp="$here/${o#ptx:}:$cp" ;; *) bopts+=("$o") ;; esac
  done
  timeout 200 "$java" "${jopts[@]}" -cp "$vcp" io.fastembedding.bench.cuda.CudaBench "$@" "${bopts[@]}" \
    --out "$csv" > "$out/logs/$(basename "${csv%.csv}").log" 2>&1
  echo "# $(basename "$csv") $name (${opts:-defaults}) exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
}

# The steps "grid" and "torch" of $steps: the full grid per variant of $1 (name=options, comma-separated
# options as for bench; "default" writes $out/fe.csv, others $out/fe-NAME.csv), then the PyTorch baseline
# alone ($out/torch.csv); then det_goals.py on each grid against it.
grids_torch_goals() {
  local v n f
  if [[ " $steps " == *" grid "* ]]; then
    for v in $1; do
      n="${v%%=*}"; f="$out/fe.csv"; [ "$n" = default ] || f="$out/fe-$n.csv"
      bench "$f" "$n" "$(echo "${v#*=}" | tr ',' ' ')"
    done
  fi
  if [[ " $steps " == *" torch "* ]]; then
    timeout "${TORCH_LIMIT:-280}" python3 "$here/torch_baseline.py" --out "$out/torch.csv" > "$out/logs/torch.log" 2>&1
    echo "# torch exit $? after $(( $(date +%s) - t0 )) s" | tee -a "$sum"
  fi
  for f in "$out"/fe*.csv; do
    [ -f "$f" ] && [ -f "$out/torch.csv" ] || continue
    echo "## $(basename "$f")" | tee -a "$sum"
    python3 "$here/det_goals.py" "$f" "$out/torch.csv" | tee -a "$sum"
  done
}
