# test_db_backup.sh on Debian 13 (trixie) hosts (issue 22): the same test, each host booted
# with `berth sandbox up --release 13`.
BERTH_E2E_RELEASE=13 exec bash "$BERTH_SOURCE_DIR/tests/e2e/test_db_backup.sh"
