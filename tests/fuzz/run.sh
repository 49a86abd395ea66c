#!/bin/sh
# Fuzzes the manifest loader (tests/fuzz/fuzz_manifest.cpp) with libFuzzer for SECONDS
# (default 60), seeded with the examples' manifests and the inputs that once crashed
# it (made here: a key and a table header of 100,000 parts, non-ASCII characters where
# toml++ asks whether they are whitespace). Builds with clang 16 and
# libc++ (the fuzzer runtime is clang's; GCC's libstdc++ 12 gives std::expected to GCC
# only) into BUILD (default build-fuzz), with AddressSanitizer and UBSan. Exits 1 when
# an input crashes, leaks or hangs; the input is kept as BUILD/crash-* to replay with
# `BUILD/fuzz_manifest BUILD/crash-...`. Exits 77 without clang-16 (install-deps.sh
# installs it).
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-60}
build=${BERTH_FUZZ_BUILD:-build-fuzz}
command -v clang++-16 >/dev/null || { echo "fuzz: skipped, clang++-16 is not installed"; exit 77; }
mkdir -p "$build/obj" "$build/seeds" "$build/corpus"
# What an earlier run found is replayed as a seed, then judged again by this run.
for old in "$build"/crash-* "$build"/leak-* "$build"/timeout-* "$build"/oom-*; do
  [ -e "$old" ] && mv "$old" "$build/seeds/found-${old##*/}"
done

# -DNDEBUG as berth's own build and Debian's toml++ library: toml++'s debug assertions
# (on input its release build reports as a syntax error) are not berth's crashes;
# ASan and UBSan stay on.
flags="-std=c++2b -stdlib=libc++ -O1 -g -DNDEBUG -fsanitize=fuzzer-no-link,address,undefined \
-D_LIBCPP_ENABLE_CXX20_REMOVED_TYPE_TRAITS -D_LIBCPP_ENABLE_CXX17_REMOVED_UNARY_BINARY_FUNCTION \
-DTOML_HEADER_ONLY=1 -DFMT_HEADER_ONLY=1 -I."
# The loader's sources: core/manifest/ but values.cpp (secrets: Boost.Process, built
# for libstdc++), and what they use. An object is rebuilt when its source or any
# header of the tree is newer; two compilers at a time (CI has two cores).
for src in tests/fuzz/fuzz_manifest.cpp core/manifest/*.cpp core/util/duration.cpp core/util/net.cpp core/util/text.cpp \
  core/health/condition.cpp; do
  [ "$src" = core/manifest/values.cpp ] && continue
  obj="$build/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ -n "$(find core tests/fuzz -newer "$obj" -name '*.[ch]pp' | head -n 1)" ]; then
    echo "$src $obj"
  fi
done | xargs -r -n 2 -P 2 sh -c "clang++-16 $flags -c \"\$0\" -o \"\$1\""
# libFuzzer's runtime is built against libstdc++: both standard libraries are linked.
clang++-16 -stdlib=libc++ -fsanitize=fuzzer,address,undefined "$build"/obj/*.o \
  -Wl,--no-as-needed -l:libstdc++.so.6 -o "$build/fuzz_manifest"

for f in examples/*/berth.toml; do cp "$f" "$build/seeds/$(basename "$(dirname "$f")").toml"; done
parts() { awk 'BEGIN { printf "a"; for (i = 0; i < 100000; i++) printf ".a" }'; }
printf '[app]\nname = "x"\n%s = 1\n' "$(parts)" >"$build/seeds/regression-deep-key.toml"
printf '[%s]\n' "$(parts)" >"$build/seeds/regression-deep-header.toml"
# toml++ asked whether U+00A7 after a line-ending backslash, or U+2C8E after a value, is
# whitespace, and reached its unreachable (upstream #295); berth's bounds refuse both.
printf 's = """\\\n\302\247"""\n' >"$build/seeds/regression-backslash-nonascii.toml"
printf 'a = 1\342\262\216\n' >"$build/seeds/regression-value-nonascii.toml"
# ... and inside a broken value, which toml++ reads up to the next whitespace to quote it.
printf 's = 0*""""\302\247"""\016' >"$build/seeds/regression-broken-value-nonascii.toml"

echo "== fuzzing the manifest loader for $seconds s"
UBSAN_OPTIONS=halt_on_error=1 "$build/fuzz_manifest" -max_total_time="$seconds" -max_len=300000 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/" "$build/corpus" "$build/seeds" 2>&1 |
  grep -E '^(#[0-9]+ +DONE|==|SUMMARY|stat::number_of_executed_units|artifact_prefix|Test unit written|INFO: Running with)' || true
found=$(find "$build" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \))
if [ -n "$found" ]; then
  echo "fuzz: FAILED: inputs that crash, leak or hang are in $build/ (crash-*, leak-*, timeout-*, oom-*)"
  exit 1
fi
echo "fuzz: no crash, leak or hang in $seconds s"
