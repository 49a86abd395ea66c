# CTest FIXTURES_CLEANUP (e2e_cleanup): removes every sandbox host, even after failed
# tests, so that a CI run leaves no process, mount, link or nft table behind.
set -eu
: "${BERTH:?BERTH must name the berth binary (CTest sets it)}"
if [ "$(id -u)" != 0 ] || ! command -v systemd-nspawn >/dev/null 2>&1; then
  echo "nothing to clean: sandboxes need root and systemd-nspawn"
  exit 0
fi
"$BERTH" sandbox down --all
