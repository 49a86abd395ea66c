# test_setup_restart.sh with one instance per color: an environment change through
# setup still answers every request (issue 29).
RESTART_INSTANCES=1
. "$BERTH_SOURCE_DIR/tests/e2e/test_setup_restart.sh"
