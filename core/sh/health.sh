# shellcheck shell=sh
# The server-side health checks' helpers (core/health/server.cpp), after the transport's
# frame prelude (rec: core/util/frame.cpp). Read-only. server.cpp puts in the journal's
# line count.
# shellcheck disable=SC2034,SC2154
export LC_ALL=C
v() { rec "$@"; }
journal() { v "$1" journal "$(journalctl --no-pager -o short-iso -n JOURNAL_LINES -u "$2" 2>&1)"; }
unit() {
  st=$(systemctl show -p LoadState,ActiveState,SubState,NRestarts,Result,ExecMainStatus "$2" 2>&1)
  v "$1" unit "$2"
  v "$1" show "$st"
  if ! printf '%s\n' "$st" | grep -qx 'ActiveState=active' || ! printf '%s\n' "$st" | grep -qx 'NRestarts=0'; then
    journal "$1" "$3"
  fi
}
timer() {
  v "$1" unit "$2.timer"
  v "$1" timer "$(systemctl show --timestamp=utc -p LoadState,ActiveState,SubState,UnitFileState,LastTriggerUSec "$2.timer" 2>&1)"
  st=$(systemctl show -p LoadState,ActiveState,Result,ExecMainStatus "$2.service" 2>&1)
  v "$1" show "$st"
  printf '%s\n' "$st" | grep -qx 'Result=success' || journal "$1" "$2.service"
}
client() {
  s=$1; c=$2; shift 2
  out=$("$@" 2>&1); st=$?
  v "$s" client "$c"; v "$s" exit "$st"; v "$s" output "$out"
}
