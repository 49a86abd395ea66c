# CTest FIXTURES_SETUP (e2e_cache): builds the sandbox rootfs cache once (debootstrap,
# about a minute) by booting and removing a throwaway sandbox, so that every e2e test
# after it boots hosts in seconds. Skipped (77) where sandboxes cannot run.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
skip_unless_root_nspawn

sandbox_up e2e-fixture 1 >/dev/null
"$BERTH" sandbox ssh e2e-fixture -- systemctl is-system-running >/dev/null ||
  fail "the fixture host does not report running"
