# test_db_replicas.sh on Debian 13 (trixie) hosts: PostgreSQL 17's replication, pg_rewind
# and pg_basebackup, each host booted with `berth sandbox up --release 13`.
BERTH_E2E_RELEASE=13 exec bash "$BERTH_SOURCE_DIR/tests/e2e/test_db_replicas.sh"
