#!/usr/bin/env bash
# Stages the Spark-on-GPU runs of docs/benchmarks.md ("Feeding the GPU from Spark") for a GPU machine
# with no Java or Maven, reached through a device tool that carries at most 64 MiB per call:
#
#   examples/gpu-cluster/stage.sh DEST [--deps]
#
# DEST is a git-ignored folder of the checkout the tool sends (e.g. <checkout>/.devcarry/NAME).
# --deps (first time, or after a dependency change): a jlink'd JRE with Spark's modules and the
# dependency jars, packed into folders d0..d5 so that jre + d0, d1, d2, d3, d4 and d5 + app each
# fit one call. Always: DEST/app, our part (the modules' jars, the examples' classes, gpu-kernels'
# test classes for EpochBench and the GPU tests, the JUnit console launcher, these scripts and the
# flights data from examples/data/flights-3m.parquet). Carry them one call each, back to back, while
# the machine is warm (a reply with warm: false means a new machine: carry them all again); then,
# in the call that carries DEST/app: bash DEST/app/run.sh (see run.sh for what it runs).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dest="${1:?usage: stage.sh DEST [--deps]}"
m2="${M2_REPO:-$HOME/.m2/repository}"
(cd "$root" && mvn -o -q -pl examples -am package -DskipTests && mvn -o -q -pl gpu-kernels test-compile)
mkdir -p "$dest"
if [ "${2:-}" = "--deps" ]; then
  deps="$(tr ':' '\n' < "$root/examples/target/classpath.txt" | grep -F "$m2/" | sort -u | tr '\n' ':')"
  rm -rf "$dest/jre" "$dest"/d[0-9]
  jlink --add-modules java.se,jdk.unsupported,jdk.management,jdk.crypto.ec,jdk.zipfs,jdk.security.auth,jdk.security.jgss,jdk.incubator.vector \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output "$dest/jre" 2>/dev/null
  jre_bytes="$(du -sb "$dest/jre" | cut -f1)"
  # first-fit decreasing into one call's worth each (64 MiB, less slack); rocksdbjni (72 MB, only
  # for Spark's state store) stays behind
  python3 - "$dest" "$jre_bytes" "$deps" <<'PY'
import os, shutil, sys
dest, jre, deps = sys.argv[1], int(sys.argv[2]), [d for d in sys.argv[3].split(':') if d.endswith('.jar')]
jars = sorted(((os.path.getsize(j), j) for j in deps if 'rocksdbjni' not in j), reverse=True)
caps = [65_000_000 - jre] + [65_000_000] * 4 + [45_000_000]
load = [0] * len(caps)
for size, j in jars:
    for i, cap in enumerate(caps):
        if load[i] + size <= cap:
            os.makedirs(f'{dest}/d{i}', exist_ok=True)
            shutil.copy(j, f'{dest}/d{i}/')
            load[i] += size
            break
    else:
        sys.exit(f'{j} does not fit the six calls')
print('dependency folders (bytes):', load)
PY
fi
app="$dest/app"
rm -rf "$app"; mkdir -p "$app/jars" "$app/examples/data" "$app/gk-test-classes"
cp "$root/spark-module/target/"spark-fast-embedding_*-SNAPSHOT.jar "$root/gpu-kernels/target/gpu-kernels-"*-SNAPSHOT.jar "$app/jars/"
cp -r "$root/examples/target/classes" "$app/classes"
cp -r "$root/gpu-kernels/target/test-classes/." "$app/gk-test-classes/"
cp "$m2/org/junit/platform/junit-platform-console-standalone/1.14.1/junit-platform-console-standalone-1.14.1.jar" "$app/junit-console.jar"
cp "$root/examples/flights-gpu-cluster.sh" "$root/examples/spark-jvm-flags.sh" "$root/examples/log4j2.properties" "$app/examples/"
cp "$root/examples/gpu-cluster/run.sh" "$app/run.sh"
data="${FLIGHTS:-$root/examples/data/flights-3m.parquet}"
[ -e "$data" ] || data=/work/main/examples/data/flights-3m.parquet
cp -r "$data" "$app/examples/data/flights-3m.parquet"
du -sh "$dest"/* | sed 's/^/  /'
