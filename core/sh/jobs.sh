# shellcheck shell=sh
# The jobs status script's helper (core/jobs/jobs.cpp): `show PREFIX UNIT PROPERTY...`
# prints PREFIX.PROPERTY=VALUE lines, timestamps in UTC ISO 8601.
show() {
  prefix=$1 unit=$2
  shift 2
  for property in "$@"; do
    value=$(systemctl show -p "$property" --value "$unit" 2>/dev/null)
    case $property in
    *Timestamp | *USec*)
      [ -z "$value" ] || [ "$value" = n/a ] || value=$(date -u -d "$value" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || printf '%s' "$value") ;;
    esac
    printf '%s.%s=%s\n' "$prefix" "$property" "$value"
  done
}
