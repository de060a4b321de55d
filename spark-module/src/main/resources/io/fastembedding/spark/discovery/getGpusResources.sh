#!/usr/bin/env bash
#
# Spark resource discovery script for NVIDIA GPUs (spark-fast-embedding).
#
# Prints the GPUs this process may use as Spark expects from a discovery script:
#   {"name":"gpu","addresses":["0","1"]}
# Each address is a CUDA device ordinal as seen by a process started with the same environment,
# which is how the training tasks use it (cuDeviceGet(ordinal)).
#
# Use it for spark.executor.resource.gpu.discoveryScript (YARN, Kubernetes) or
# spark.worker.resource.gpu.discoveryScript (standalone workers); see docs/gpu.md.
#
# Environment:
#   CUDA_VISIBLE_DEVICES  unset: every GPU nvidia-smi lists. Set: CUDA renumbers the devices it
#                         names from 0, so the script prints 0..k-1 for the k leading entries that
#                         name a GPU on this node (a GPU index, or a GPU-<uuid> prefix; MIG-<uuid>
#                         entries are counted as given). Like CUDA, it stops at the first entry that
#                         names no device, so "" or "-1" give no GPUs at all.
#   FAST_EMBEDDING_GPU_RESOURCE_NAME
#                         the resource name to print (default "gpu"); it must match the name in
#                         spark.*.resource.<name>.discoveryScript.
#
# Exit status: 0 with the JSON on stdout (an empty address list when the node has no GPU);
# non-zero with a message on stderr when nvidia-smi is missing or fails.
#
# Only bash builtins and nvidia-smi are used, so the script runs in minimal containers.

resource_name="${FAST_EMBEDDING_GPU_RESOURCE_NAME:-gpu}"
me="getGpusResources.sh"

fail() {
  echo "$me: $*" >&2
  exit 1
}

trim() {
  local s="$1"
  s="${s#"${s%%[![:space:]]*}"}"
  s="${s%"${s##*[![:space:]]}"}"
  printf '%s' "$s"
}

# $1 as a JSON string, quotes included: backslash, quote and control characters escaped, so
# that no resource name can change the JSON's structure.
json_string() {
  local s="$1" out="" c i code
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      '"') out+='\"' ;;
      '\') out+='\\' ;;
      $'\n') out+='\n' ;;
      $'\r') out+='\r' ;;
      $'\t') out+='\t' ;;
      *)
        printf -v code '%d' "'$c"
        if ((code >= 0 && code < 32)) || ((code == 127)); then
          printf -v c '\\u%04x' "$code"
        fi
        out+="$c"
        ;;
    esac
  done
  printf '"%s"' "$out"
}

print_addresses() {
  local out="" i
  for ((i = 0; i < $1; i++)); do
    out+="${out:+,}\"$i\""
  done
  printf '{"name":%s,"addresses":[%s]}\n' "$(json_string "$resource_name")" "$out"
}

if ! command -v nvidia-smi >/dev/null 2>&1; then
  fail "nvidia-smi was not found on PATH ($PATH), so the GPUs of this node cannot be listed." \
    "Install the NVIDIA driver utilities here, or add their directory to PATH, or discover GPUs" \
    "without a script: spark.resources.discoveryPlugin=io.fastembedding.spark.discovery.CudaDiscoveryPlugin"
fi

# nvidia-smi exits 6 with "No devices were found" on a node with a driver but no GPU.
query="index"
case "${CUDA_VISIBLE_DEVICES-}" in
  *GPU-*) query="index,uuid" ;;
esac
smi_out="$(nvidia-smi --query-gpu="$query" --format=csv,noheader)"
status=$?
if [[ $status -eq 6 || "$smi_out" == *"No devices were found"* ]]; then
  echo "$me: nvidia-smi found no GPU on this node" >&2
  print_addresses 0
  exit 0
fi
if [[ $status -ne 0 ]]; then
  fail "nvidia-smi --query-gpu=$query --format=csv,noheader failed with exit status $status" \
    "(its message is above); is the NVIDIA driver loaded on this node?"
fi

indices=()
uuids=()
while IFS= read -r line; do
  line="$(trim "$line")"
  [[ -z "$line" ]] && continue
  index="$(trim "${line%%,*}")"
  if [[ ! "$index" =~ ^[0-9]+$ ]]; then
    fail "unexpected line from nvidia-smi --query-gpu=$query: '$line'"
  fi
  indices+=("$index")
  if [[ "$query" == "index,uuid" ]]; then
    uuids+=("$(trim "${line#*,}")")
  fi
done <<< "$smi_out"

if [[ -z "${CUDA_VISIBLE_DEVICES+set}" ]]; then
  print_addresses "${#indices[@]}"
  exit 0
fi

# CUDA_VISIBLE_DEVICES is set: count the leading entries that name a device, as CUDA does.
visible=0
seen=" "
IFS=',' read -r -a entries <<< "$CUDA_VISIBLE_DEVICES"
for entry in "${entries[@]}"; do
  entry="$(trim "$entry")"
  match=""
  if [[ "$entry" =~ ^[0-9]+$ ]]; then
    for i in "${!indices[@]}"; do
      if ((10#${indices[$i]} == 10#$entry)); then match="${indices[$i]}"; fi
    done
  elif [[ "$entry" == GPU-* ]]; then
    for i in "${!uuids[@]}"; do
      if [[ "${uuids[$i]}" == "$entry"* ]]; then match="${indices[$i]}"; fi
    done
  elif [[ "$entry" == MIG-* ]]; then
    match="$entry"
  fi
  if [[ -z "$match" || "$seen" == *" $match "* ]]; then
    break
  fi
  seen+="$match "
  visible=$((visible + 1))
done
if [[ $visible -eq 0 ]]; then
  echo "$me: CUDA_VISIBLE_DEVICES='$CUDA_VISIBLE_DEVICES' hides every GPU of this node" >&2
fi
print_addresses "$visible"
