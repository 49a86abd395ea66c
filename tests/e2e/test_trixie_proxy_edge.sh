# test_proxy_edge.sh on a Debian 13 (trixie) host (issues 22, 23): nginx 1.26 there
# reads the same site (real IP, access rules, limits, own certificate, maintenance).
BERTH_E2E_RELEASE=13 exec bash "$BERTH_SOURCE_DIR/tests/e2e/test_proxy_edge.sh"
