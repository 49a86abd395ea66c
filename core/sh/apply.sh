# shellcheck shell=sh
# The converge apply's helpers (core/converge/apply.cpp): steps, owed handlers and
# atomic, validated files, after the transport's frame prelude (rec: core/util/frame.cpp)
# and $owed, the folder of owed-handler records (converge::owed_dir).
# shellcheck disable=SC2034,SC2154
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
umask 022
run_step() {
  rec "$1" step begin
  step=$1
  "$2" 3>&1 >&2
  rc=$?
  if [ "$rc" -ne 0 ]; then rec "$1" step "failed $rc"; exit 1; fi
  rec "$1" step ok
}
# unchanged: the step found nothing to do after all (a guard met by earlier stages).
unchanged() { rec "$step" step unchanged >&3; }
owe() {
  mkdir -p "$owed" || return
  for h in "$@"; do : > "$owed/$h" || return; done
}
paid() { rm -f "$owed/$1"; }
# put_file PATH OWNER GROUP MODE OVERWRITE VALIDATE BACKUP < base64 content
put_file() {
  d=$(dirname "$1")
  mkdir -p "$d" || return
  if [ "$5" = no ] && [ -e "$1" ]; then cat > /dev/null; return 0; fi
  tmp=$(mktemp "$d/.berth.XXXXXX") || return
  if ! base64 -d > "$tmp" || ! chown "$2:$3" "$tmp" || ! chmod "$4" "$tmp"; then
    rm -f "$tmp"; return 1
  fi
  if [ -z "$6" ]; then mv -f "$tmp" "$1"; return; fi
  # The last file that passed validation, or a note that there was none, is kept
  # until the new one passes. One left by a run cut off during validation is kept
  # as it is: the file in place then is the unvalidated one.
  prev=$7
  mkdir -p /var/lib/berth/prev || return
  if [ ! -e "$prev" ] && [ ! -e "$prev.none" ]; then
    if [ -e "$1" ]; then cp -p "$1" "$prev" || return; else : > "$prev.none" || return; fi
  fi
  mv -f "$tmp" "$1" || return
  check=$(printf '%s' "$6" | sed "s|{}|$1|g")
  if ! out=$(sh -c "$check" 2>&1); then
    if [ -e "$prev" ]; then cp -p "$prev" "$tmp" && mv -f "$tmp" "$1"; else rm -f "$1"; fi
    rm -f "$prev" "$prev.none"
    printf 'validation failed: %s (the previous file was kept)\n%s\n' "$check" "$out"
    return 1
  fi
  rm -f "$prev" "$prev.none"
}
