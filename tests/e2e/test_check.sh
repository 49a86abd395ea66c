# berth check, schema and init through the real binary: every example is valid, the
# five-mistakes manifest gives five located errors and exit 1, --json is the same
# data, -e merges an overlay, and init refuses to overwrite; --version and -V print
# what `berth version` prints. Offline: no host needed.
# fixtures: none
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"

command -v jq >/dev/null 2>&1 || skip "needs jq (apt-get install jq)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --version and -V are `berth version`, exit 0, --json too.
want=$("$BERTH" version) || fail "berth version exited $?"
case "$want" in "berth "*" (libssh "*", libcurl "*")") ;; *) fail "berth version: $want" ;; esac
for flag in --version -V; do
  out=$("$BERTH" "$flag") || fail "berth $flag exited $?: $out"
  [ "$out" = "$want" ] || fail "berth $flag printed '$out', berth version '$want'"
done
want=$("$BERTH" --json version)
[ "$("$BERTH" --json --version)" = "$want" ] || fail "berth --json --version is not berth --json version"
[ "$("$BERTH" --version --json)" = "$want" ] || fail "berth --version --json is not berth --json version"
printf '%s' "$want" | jq -e '.berth and .libssh and .libcurl' >/dev/null || fail "--json version: $want"

# Every example manifest is valid: exit 0 and the one-line summary.
count=0
for manifest in "$BERTH_SOURCE_DIR"/examples/*/berth.toml; do
  [ -e "$manifest" ] || continue
  out=$("$BERTH" check -f "$manifest") || fail "berth check $manifest exited $?: $out"
  case "$out" in *"is valid: app "*" server"*" database"*" job"*" health check"*) ;;
    *) fail "no summary line for $manifest: $out" ;; esac
  "$BERTH" --json check -f "$manifest" | jq -e '.valid == true' >/dev/null ||
    fail "--json does not say valid for $manifest"
  count=$((count + 1))
done
[ "$count" -ge 1 ] || fail "no examples/*/berth.toml found"

# Five mistakes: five located errors, exit 1.
five="$BERTH_SOURCE_DIR/tests/unit/data/manifests/five_mistakes.toml"
set +e
out=$("$BERTH" check -f "$five" --no-color)
status=$?
set -e
[ "$status" = 1 ] || fail "five mistakes: exit $status, want 1"
errors=$(printf '%s\n' "$out" | grep -cE "^$five:[0-9]+:[0-9]+: error: ")
[ "$errors" = 5 ] || fail "five mistakes: $errors located errors, want 5: $out"
printf '%s\n' "$out" | grep -q "did you mean 'port'?" || fail "no suggestion for 'prot': $out"
printf '%s\n' "$out" | grep -q "is invalid: 5 errors" || fail "no failure summary: $out"

# --json: the same diagnostics as data, and still exit 1.
set +e
json=$("$BERTH" --json check -f "$five")
status=$?
set -e
[ "$status" = 1 ] || fail "--json five mistakes: exit $status, want 1"
printf '%s' "$json" | jq -e '.valid == false and (.diagnostics | length) == 5' >/dev/null ||
  fail "--json: want valid=false and 5 diagnostics: $json"
printf '%s' "$json" | jq -e --arg f "$five" \
  'all(.diagnostics[]; .file == $f and .line > 0 and .column > 0 and .severity == "error"
       and (.message | length) > 0)' >/dev/null || fail "--json: diagnostics lack fields: $json"
[ "$(printf '%s' "$json" | jq '[.diagnostics[].line]')" = "$(printf '[\n  7,\n  11,\n  16,\n  23,\n  28\n]')" ] ||
  fail "--json: wrong lines: $json"

# A syntax error is located too; a missing manifest says how to make one.
printf '[app]\nname = = "x"\n' >"$work/broken.toml"
set +e
out=$("$BERTH" check -f "$work/broken.toml" --no-color)
status=$?
set -e
[ "$status" = 1 ] || fail "broken TOML: exit $status"
printf '%s\n' "$out" | grep -q "^$work/broken.toml:2:[0-9]*: error: invalid TOML" ||
  fail "broken TOML not located: $out"
set +e
out=$("$BERTH" check -f "$work/none.toml" --no-color)
status=$?
set -e
[ "$status" = 1 ] && printf '%s\n' "$out" | grep -q "berth init" || fail "missing manifest: $out"

# init writes a manifest that checks, and never overwrites.
(cd "$work" && "$BERTH" init --preset node-postgres >/dev/null) || fail "berth init failed"
"$BERTH" check -f "$work/berth.toml" >/dev/null || fail "the node-postgres preset does not check"
before=$(sha256sum "$work/berth.toml")
set +e
out=$(cd "$work" && "$BERTH" init --no-color 2>&1)
status=$?
set -e
[ "$status" = 1 ] || fail "init over an existing file: exit $status, want 1"
printf '%s\n' "$out" | grep -q "already exists" || fail "init does not say why: $out"
[ "$(sha256sum "$work/berth.toml")" = "$before" ] || fail "init changed an existing manifest"
"$BERTH" init -f "$work/small.toml" >/dev/null || fail "init -f failed"
"$BERTH" check -f "$work/small.toml" >/dev/null || fail "the minimal preset does not check"

# -e NAME merges berth.NAME.toml from the manifest's folder.
printf '[servers.web]\nport = 70000\n' >"$work/berth.bad.toml"
set +e
out=$("$BERTH" check -f "$work/berth.toml" -e bad --no-color)
status=$?
set -e
[ "$status" = 1 ] || fail "-e bad: exit $status, want 1"
printf '%s\n' "$out" | grep -q "^$work/berth.bad.toml:2:8: error: 'port' in \[servers.web\]" ||
  fail "-e: error not located in the overlay: $out"

# schema: valid JSON Schema that knows the sections.
"$BERTH" schema | jq -e '."$schema" and .properties.app and .properties.servers and
  (.required | index("servers"))' >/dev/null || fail "berth schema is not the expected document"
"$BERTH" schema -o "$work/berth.schema.json" 2>/dev/null
jq -e '.properties.jobs.items.properties.schedule' "$work/berth.schema.json" >/dev/null ||
  fail "schema -o did not write the schema"

echo "ok: $count example(s) valid, five mistakes located, --json, -e, init, schema and --version work"
