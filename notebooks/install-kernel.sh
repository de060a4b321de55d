#!/usr/bin/env bash
# Installs the Java kernel "fast-embedding-java" for Jupyter: a kernel.json that starts
# io.fastembedding.notebook.JShellKernel with Spark, this project and XChart on its class path.
#   notebooks/install-kernel.sh            into the user's Jupyter data dir (jupyter --data-dir)
#   notebooks/install-kernel.sh DIR        into DIR/kernels/fast-embedding-java (JUPYTER_PATH=DIR)
# Build first: mvn -pl notebooks -am package -DskipTests (it writes notebooks/target/classpath.txt).
# KERNEL_HEAP sets the kernel JVM's heap (default 4g).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -f "$here/target/classpath.txt" ]; then
  echo "no $here/target/classpath.txt: build first with 'mvn -pl notebooks -am package -DskipTests'" >&2
  exit 1
fi
if [ $# -ge 1 ]; then
  data_dir="$1"
else
  data_dir="$(jupyter --data-dir)"
fi
kernel_dir="$data_dir/kernels/fast-embedding-java"
mkdir -p "$kernel_dir"
source "$here/../examples/spark-jvm-flags.sh"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
cp="$here/target/classes:$(cat "$here/target/classpath.txt")"
python3 - "$kernel_dir/kernel.json" "$java_bin" "${KERNEL_HEAP:-4g}" "$here/log4j2.properties" \
    "$cp" "${flags[@]}" <<'PY'
import json, sys
out, java, heap, log4j, cp, *flags = sys.argv[1:]
argv = [java, "-Xmx" + heap, *flags, "-Djava.awt.headless=true",
        "-Dlog4j2.configurationFile=" + log4j, "-cp", cp,
        "io.fastembedding.notebook.JShellKernel", "{connection_file}"]
with open(out, "w") as f:
    json.dump({"argv": argv, "display_name": "Java (spark-fast-embedding)", "language": "java",
               "interrupt_mode": "message"}, f, indent=1)
PY
echo "installed the kernel 'fast-embedding-java' in $kernel_dir"
