# Upload (DESIGN.md invariant 5): 200 MB stream through one exec channel into
# `tar -x`, every file checked by size and cksum on the server, and arrive intact:
# every file, mode and symlink. A tar file uploads as is; a failing remote tar, a
# file changed on the way and a cut stream are clear errors.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-upload 1 >/dev/null
work=$SANDBOX_DIR/test # removed with the sandbox
mkdir -p "$work/data/nested/deeper"
cd "$work"
printf '[app]\nname = "upload"\n\n[app.run]\ncommand = "true"\n\n' >berth.toml
write_server_stanza e2e-upload 1 web berth.toml

for i in 1 2 3 4; do head -c 50000000 /dev/urandom >"data/blob$i"; done
echo hello >"data/nested/with space.txt"
: >data/nested/empty
printf '#!/bin/sh\necho run\n' >data/nested/deeper/tool.sh
chmod 0755 data/nested/deeper/tool.sh
ln -s ../blob1 data/nested/link
listing='cd "$1" && find . -printf "%p %y %m %s %l\n" | LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum'
local_listing=$(sh -c "$listing" sh "$work/data")

# A directory, packed on the fly.
"$BERTH" --json exec --upload "$work/data:/srv/upload" -- "set -- /srv/upload; $listing" \
  >dir.json 2>err.txt || fail "the directory upload failed: $(cat err.txt)"
jq -e '.ok and .hosts[0].upload.bytes >= 200000000 and (.hosts[0].upload.sha1 | length) == 40' \
  dir.json >/dev/null || fail "bad upload report: $(jq -c '.hosts[0].upload' dir.json)"
[ "$(jq -r '.hosts[0].stdout' dir.json)" = "$local_listing" ] ||
  fail "the uploaded tree differs: $(diff <(jq -r '.hosts[0].stdout' dir.json) <(echo "$local_listing") | head)"
jq -r '.hosts[0].upload | "uploaded \(.bytes) bytes in \(.duration_ms) ms (\(.mb_per_s | floor) MB/s)"' dir.json

# A tar file, sent as is: the same files give the same digest (SHA-1 of the
# sorted "cksum size path" list, which is cksum's own output here).
tar -c -f release.tar -C data .
"$BERTH" --json exec --upload "$work/release.tar:/srv/upload2" -- "set -- /srv/upload2; $listing" \
  >tar.json 2>err.txt || fail "the tar upload failed: $(cat err.txt)"
[ "$(jq -r '.hosts[0].upload.sha1' tar.json)" = "$(jq -r '.hosts[0].upload.sha1' dir.json)" ] ||
  fail "the same files uploaded from a tar file and a folder have different digests"
expected=$(cd data && find . -type f -print0 | xargs -0 cksum | sed 's| \./| |' | LC_ALL=C sort -k3 | sha1sum | cut -d' ' -f1)
[ "$(jq -r '.hosts[0].upload.sha1' tar.json)" = "$expected" ] ||
  fail "the upload digest is not the SHA-1 of the files' cksum list"
[ "$(jq -r '.hosts[0].stdout' tar.json)" = "$local_listing" ] || fail "the uploaded tar differs"

# Text mode reports size and throughput.
"$BERTH" --no-color exec --upload "$work/data/nested:/srv/small" >out.txt 2>err.txt ||
  fail "the small upload failed: $(cat err.txt)"
grep -q "web: uploaded 0.0 MB into /srv/small in [0-9]* ms (.* MB/s)" err.txt ||
  fail "no throughput line: $(cat err.txt)"

# The remote tar fails (the target is under a file): exit 1, the error says why.
# upload_fails REMOTE_DIR PATTERN WHAT: uploading nested/ into REMOTE_DIR exits 1 and
# the error matches PATTERN (grep); WHAT names the case in failures.
upload_fails() {
  local status=0
  "$BERTH" --no-color exec --upload "$work/data/nested:$1" >out.txt 2>err.txt || status=$?
  [ "$status" = 1 ] || fail "$3 should exit 1, got $status"
  grep -q "$2" err.txt || fail "no error for $3 matching '$2': $(cat err.txt)"
}
upload_fails /etc/hostname/x "error: web: upload: unpacking into /etc/hostname/x failed (exit [0-9]*)" \
  "a failing remote tar"
# The server's files differ from what was sent: a `tar` earlier in PATH changes one
# file after unpacking, then removes another. The error names host, folder and file.
wrap_tar() { # SHELL-LINE: run after the real tar, in the target folder
  "$BERTH" exec -- "cat >/usr/local/bin/tar <<'EOF'
#!/bin/sh
/usr/bin/tar \"\$@\" || exit
$1
EOF
chmod 0755 /usr/local/bin/tar" >/dev/null || fail "cannot install the tar wrapper"
}
wrap_tar 'printf x >>empty'
upload_fails /srv/changed \
  "error: web: upload: checksum mismatch in /srv/changed: empty: sent 0 bytes (cksum 4294967295), the server has 1 bytes" \
  "a changed file"
wrap_tar 'rm -f deeper/tool.sh'
upload_fails /srv/cut "error: web: upload: checksum mismatch in /srv/cut: deeper/tool.sh is missing on the server" \
  "a missing file"
"$BERTH" exec -- 'rm -f /usr/local/bin/tar' >/dev/null
"$BERTH" exec --upload "$work/data/nested:/srv/cut" >/dev/null 2>err.txt ||
  fail "the upload fails without the wrapper: $(cat err.txt)"
echo PASS
