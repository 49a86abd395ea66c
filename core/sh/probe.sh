# shellcheck shell=sh
# The converge probe's helpers (core/converge/probe.cpp), after the transport's
# frame prelude (rec, rec_file: core/util/frame.cpp). Read-only; forks as little as it can.
# shellcheck disable=SC2034,SC2154
export LC_ALL=C
path_state() {
  if [ -L "$2" ]; then rec "$1" type symlink; rec "$1" target "$(readlink "$2")";
  elif [ -d "$2" ]; then rec "$1" type directory; rec "$1" meta "$(stat -c '%U %G %a' "$2")";
  elif [ -f "$2" ]; then rec "$1" type file
    # The split is wanted: owner, group, mode and size become $4..$7.
    # shellcheck disable=SC2046
    set -- "$1" "$2" "$3" $(stat -c '%U %G %a %s' "$2")
    rec "$1" meta "$4 $5 $6"
    if [ "$3" = show ] && [ "$7" -le 262144 ]; then rec_file "$1" content "$2"
    else rec "$1" hash "$(sha256sum < "$2")"; fi
  elif [ -e "$2" ]; then rec "$1" type other;
  fi
}
package_state() {
  _r=; while read -r _n _s _v; do [ "$_n" = "$2" ] && _r="$_s $_v"; done <<@@berth-packages
$packages
@@berth-packages
  rec "$1" version "$_r"
}
# The server's release, from /etc/os-release, with builtins only: "ID VERSION_ID CODENAME".
os_release() {
  _id=; _ver=; _code=
  if [ -r /etc/os-release ]; then
    while IFS='=' read -r _k _v; do
      _v=${_v#\"}; _v=${_v%\"}
      case $_k in ID) _id=$_v ;; VERSION_ID) _ver=$_v ;; VERSION_CODENAME) _code=$_v ;; esac
    done < /etc/os-release
  fi
  rec os release "${_id:--} ${_ver:--} ${_code:--}"
}
os_release
