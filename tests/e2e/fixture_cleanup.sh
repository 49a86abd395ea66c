# CTest FIXTURES_CLEANUP (e2e_cleanup): removes every sandbox host, even after failed
# tests, so that a CI run leaves no process, mount, link or nft table behind. On a
# shared machine where someone's own sandboxes run (names not starting with e2e-),
# only the tests' sandboxes are removed, and those others are left alone.
set -eu
: "${BERTH:?BERTH must name the berth binary (CTest sets it)}"
if [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null 2>&1; then
  echo "nothing to clean: sandboxes need root and systemd-nspawn"
  exit 0
fi
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
foreign=$(foreign_sandboxes | tr '\n' ' ')
if [ -z "$foreign" ]; then
  exec "$BERTH" sandbox down --all
fi
echo "leaving sandboxes not made by tests: $foreign"
for name in $(sandbox_names | grep '^e2e-' || true); do
  "$BERTH" sandbox down "$name"
done
