#!/usr/bin/env bash
# Builds the JSONL fuzz harness (the JSONL sources + fuzz_scanner.swift, libFuzzer + AddressSanitizer) and
# runs it for a bounded time. Usage: Tests/Fuzz/run.sh [seconds, default 60]. Exits non-zero on a crash,
# a sanitizer report or a broken invariant; the failing input is left in the work directory it prints.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-60}
work=${FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/jsonl-fuzz.XXXXXX")}
mkdir -p "$work/corpus"

echo "building fuzz harness in $work"
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name BatchJSONL \
    "$root"/Sources/BatchCore/JSONL/*.swift "$here/fuzz_scanner.swift" -o "$work/fuzz_scanner" 2>&1 \
    | grep -v "Cannot export local symbol" || true
test -x "$work/fuzz_scanner"

# Seeds: the JSONTestSuite documents when the shared data is beside the clone, and a few dataset rows.
suite="$root/../shared/data/JSONTestSuite/test_parsing"
if [ -d "$suite" ]; then cp "$suite"/*.json "$work/corpus/"; fi
printf '%s\n' '{"custom_id":"a","body":{"messages":[{"role":"user","content":"hi \u00e9"}]}}' \
    '{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"t"}]}],"max_tokens":5}}' \
    > "$work/corpus/seed-chat.jsonl"
printf '%s\r\n' '{"custom_id":"c","body":{"prompt_token_ids":[1,2,3]}}' '{"custom_id":"c","body":{"prompt_token_ids":[0]}}' \
    > "$work/corpus/seed-completion.jsonl"

cd "$work"
# Swift's own crash backtracer reads memory ASan considers off-limits and buries the real report.
export SWIFT_BACKTRACE=enable=no
echo "fuzzing for $seconds s"
./fuzz_scanner -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=4096 \
    -dict="$here/jsonl.dict" -print_final_stats=1 corpus
