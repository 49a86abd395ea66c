# A deploy onto a full /srv (issue 19): it fails clearly, the old release serves
# throughout, and no partial release folder is left behind; the next deploy, with
# room again, succeeds.
. "$BERTH_SOURCE_DIR/tests/e2e/lib.sh"
. "$BERTH_SOURCE_DIR/tests/e2e/deploy_lib.sh"
skip_unless_root_nspawn
command -v curl >/dev/null || skip "needs curl"

deploy_project e2e-fulldisk
"$BERTH" -q deploy >/dev/null || fail "the first deploy failed"
[ "$(site)" = v1 ] || fail "v1 is not served"

echo "== the releases folder on a small file system, a bigger release than fits"
# The releases move onto a 12 MB tmpfs: the running instances keep their folders.
sandbox_ssh e2e-fulldisk 1 'set -e; cd /srv/shop; cp -a releases /tmp/releases.keep
  mount -t tmpfs -o size=12m tmpfs releases; cp -a /tmp/releases.keep/. releases/; rm -rf /tmp/releases.keep'
before=$(sandbox_ssh e2e-fulldisk 1 'ls /srv/shop/releases')
set_version v2
head -c 20M /dev/urandom >app/blob.bin
under_load full.out deploy
[ "$STATUS" = 1 ] || fail "a deploy onto a full disk should exit 1 (got $STATUS)"
grep -q 'releases has [0-9]* KiB free of [0-9]* KiB' full.out || fail "the error does not say how full the disk is"
grep -q 'the partial release was removed' full.out || fail "the error does not say the partial release went"
[ "$LOAD_FAILED" = 0 ] || fail "$LOAD_FAILED of $LOAD_TOTAL requests failed during the failed deploy"
[ "$(site)" = v1 ] || fail "v1 no longer serves"
after=$(sandbox_ssh e2e-fulldisk 1 'ls /srv/shop/releases')
[ "$before" = "$after" ] || fail "the releases folder changed: [$before] -> [$after]"

echo "== a partial release a lost connection left is removed by the next deploy"
sandbox_ssh e2e-fulldisk 1 'mkdir -p /srv/shop/releases/20000101T000000Z-partial && : > /srv/shop/releases/20000101T000000Z-partial/half'
rm app/blob.bin
"$BERTH" -q deploy >/dev/null || fail "the deploy with room again failed"
[ "$(site)" = v2 ] || fail "v2 is not served"
sandbox_ssh e2e-fulldisk 1 'ls /srv/shop/releases' | grep -q partial && fail "the partial release is still there"
echo "PASS"
