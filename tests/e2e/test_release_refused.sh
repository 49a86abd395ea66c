# A server that does not run a Debian release berth supports is refused by plan and
# setup before anything changes, with a message naming what it runs and what berth
# supports (issue 22). The host is a sandbox whose /etc/os-release says otherwise.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

minimal_project e2e-release

refused() {  # COMMAND EXPECTED-MESSAGE
  local status=0
  "$BERTH" --no-color "$1" >"$1.out" 2>&1 || status=$?
  cat "$1.out"
  [ $status = 1 ] || fail "$1 should exit 1 on this server (got $status)"
  grep -qF "$2" "$1.out" || fail "$1 does not say: $2"
}
for os in 'ID=ubuntu\nVERSION_ID="24.04"\nVERSION_CODENAME=noble' 'ID=debian\nVERSION_ID="11"\nVERSION_CODENAME=bullseye'; do
  sandbox_ssh e2e-release 1 "rm -f /etc/os-release && printf '$os\n' > /etc/os-release"
  case $os in
    ID=ubuntu*) message="web: it runs ubuntu 24.04, not Debian: berth supports Debian 12 (bookworm) and 13 (trixie)" ;;
    *) message="web: it runs Debian 11: berth supports Debian 12 (bookworm) and 13 (trixie)" ;;
  esac
  echo "== $(printf "$os" | head -n 1)"
  refused plan "$message"
  refused setup "$message"
  [ -z "$(sandbox_ssh e2e-release 1 '[ ! -e /etc/berth ] || echo /etc/berth; dpkg -l nginx 2>/dev/null | grep ^ii')" ] ||
    fail "setup changed the refused server"
done
echo "PASS"
