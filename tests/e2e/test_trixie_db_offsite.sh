# test_db_offsite.sh on Debian 13 (trixie) hosts: the same test, each host booted with
# `berth sandbox up --release 13` (restic 0.18, PostgreSQL 17, MariaDB 11.8). It stands in
# for the local dumps' test on trixie too: both modes share each engine's dump and load.
BERTH_E2E_RELEASE=13 exec bash "$BERTH_SOURCE_DIR/tests/e2e/test_db_offsite.sh"
