#!/usr/bin/env bash
# Runs Nibble's JMH benchmarks (GemmBenchmark, HadamardBenchmark) with the peers, and prints the
# Markdown tables of docs/benchmarks.md. Benchmarks never run during `mvn verify`: only here.
#
#   bench/run.sh quick      # M ∈ {1,64}, DiT-XL/2 widths, every impl            (~12 min on 2 cores)
#   bench/run.sh dit        # M ∈ {1,64,1024}, DiT-XL/2 widths, every impl
#   bench/run.sh hadamard   # grouped Hadamard vs memory copy, M=4096, K=3072   (~2 min)
#   bench/run.sh full       # the spec's 16 shapes: hadamard, then M=1,64 DiT (every impl), M=1024 and
#                           # M=4096 (all widths, fewer impls, fewer iterations), M=1,64 FLUX (~60 min)
#   bench/run.sh targets    # the impls the targets name (BIG list below) on all 16 shapes + hadamard
#   bench/run.sh interleaved  # paired ratios: every impl of a shape timed round-robin in one JVM
#   bench/run.sh custom -p impl=f32,w4a4 -p m=64 -p kn=3072x3072   # any JMH options
#
# Environment: JAVA_HOME (JDK 25), MVN_REPO (Maven repository, default ~/.m2/repository),
# SKIP_BUILD=1 to reuse bench/target, OUT (results folder, default bench/target/results),
# IMPLS to restrict the implementations (comma-separated, default: all).
# Exact command behind each profile: the java line echoed below.
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JAVA="$JAVA_HOME/bin/java"
OUT=${OUT:-bench/target/results}
mkdir -p "$OUT"
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  ./mvnw ${MVN_REPO:+-Dmaven.repo.local=$MVN_REPO} -q -pl bench -am package -DskipTests
fi
CP="bench/target/classes:$(cat bench/target/classpath.txt)"
profile=${1:-quick}; shift || true
impls=()
[[ -n "${IMPLS:-}" ]] && impls=(-p "impl=$IMPLS")
stamp=$(date -u +%Y%m%dT%H%M%SZ)

jmh() {  # jmh <name> <args...>
  local name=$1; shift
  local json="$OUT/$stamp-$name.json"
  echo "+ $JAVA -cp <bench classpath> org.openjdk.jmh.Main $* -rf json -rff $json" >&2
  echo "load before $name: $(cat /proc/loadavg 2>/dev/null)" | tee -a "$OUT/$stamp-load.txt" >&2
  nice -n 5 "$JAVA" -cp "$CP" org.openjdk.jmh.Main "$@" -rf json -rff "$json"
  echo "load after $name: $(cat /proc/loadavg 2>/dev/null)" | tee -a "$OUT/$stamp-load.txt" >&2
  JSONS+=("$json")
}
JSONS=()
DIT=1152x1152,1152x4608
FLUX=3072x3072,3072x12288
# implementation lists for the heavier shapes (every name is a GemmBenchmark impl)
CORE=f32,w8a8,w4a4,w4a4-g64,w4a16-g64,w4a16-g64-prep,nf4-g64-prep,ort-f32,ort-w8a8-int,ort-nbits-a8,ort-nbits-f32,jlama-f32q4,jlama-i8q4
HEAVY=f32,w8a8,w4a4,w4a4-g64,w4a16-g64-prep,ort-w8a8-int,ort-nbits-a8,ort-nbits-f32,jlama-f32q4
BIG=f32,w8a8,w4a4,w4a4-g64,ort-w8a8-int,ort-nbits-a8,jlama-f32q4
FEW=(-wi 1 -w 1 -i 2 -r 1)   # seconds per call: 1 warm-up call, 2 measured iterations
case "$profile" in
  quick)    jmh quick GemmBenchmark "${impls[@]}" -p m=1,64 -p kn=$DIT ;;
  dit)      jmh dit GemmBenchmark "${impls[@]}" -p m=1,64,1024 -p kn=$DIT ;;
  hadamard) jmh hadamard HadamardBenchmark ;;
  full)     # the order is by importance, so a run cut short still answers the targets
    jmh hadamard HadamardBenchmark
    jmh small-dit GemmBenchmark "${impls[@]}" -p m=1,64 -p kn=$DIT
    jmh mid GemmBenchmark -p impl=$HEAVY -p m=1024 -p kn=$DIT,$FLUX "${FEW[@]}"
    jmh big GemmBenchmark -p impl=$BIG -p m=4096 -p kn=$DIT,$FLUX "${FEW[@]}"
    jmh small-flux GemmBenchmark -p impl=$CORE -p m=1,64 -p kn=$FLUX ;;
  interleaved)  # paired ratios under shared load: all impls of a shape in one JVM, round-robin
    IL=f32,w8a8,w4a4,w4a4-g64,ort-w8a8-int,ort-nbits-a8,ort-nbits-f32,jlama-f32q4
    for spec in "1 1152x4608 21" "64 1152x4608 15" "64 3072x3072 11" "1024 3072x3072 7" "4096 3072x3072 5"; do
      set -- $spec
      nice -n 5 "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g \
        -cp "$CP" dev.nibble.bench.Interleaved "$1" "$2" "$3" "${IMPLS:-$IL}" | tee -a "$OUT/$stamp-interleaved.md"
    done
    exit 0 ;;
  targets)  # the implementations the targets name, on all 16 shapes (~20 min)
    jmh targets-small GemmBenchmark -p impl=$BIG -p m=1,64 -p kn=$DIT,$FLUX
    jmh targets-large GemmBenchmark -p impl=$BIG -p m=1024,4096 -p kn=$DIT,$FLUX "${FEW[@]}"
    jmh hadamard HadamardBenchmark ;;
  custom)   jmh custom "$@" ;;
  *) echo "unknown profile '$profile': quick, dit, hadamard, full, targets, interleaved, custom" >&2; exit 2 ;;
esac
"$JAVA" -cp "$CP" dev.nibble.bench.Report "${JSONS[@]}" | tee "$OUT/$stamp-report.md"
