#!/usr/bin/env bash
# Copies the files berth writes for examples/subscription-tracker from a sandbox host
# that `berth -e sandbox setup` converged into bench/ansible/files/, at their server
# paths, so that stack.yml writes byte-identical content. Run it after a template
# under templates/ changed (docs/benchmarks.md), then check with stack.yml: changed=0.
#
#   bench/ansible/refresh-files.sh SANDBOX     (a one-host sandbox, e.g. bench-noop)
#
# Not copied: what is made on the server (secrets, the certificate) or holds them
# (app.env, a Jinja template in templates/).
set -euo pipefail

[[ $# -eq 1 ]] || { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
berth=${BERTH:-$(command -v berth || echo "$here/../../build/berth")}

paths=(
  /etc/sudoers.d/berth
  /etc/ssh/sshd_config.d/00-berth.conf
  /etc/fail2ban/jail.d/berth.local
  /etc/fail2ban/filter.d/berth-tracker-nginx.conf
  /etc/fail2ban/jail.d/berth-tracker-nginx.conf
  /etc/apt/apt.conf.d/20auto-upgrades
  /etc/apt/apt.conf.d/52berth-unattended-upgrades
  /etc/systemd/journald.conf.d/berth.conf
  /etc/postgresql/15/main/conf.d/berth.conf
  /etc/postgresql/15/main/pg_hba.conf
  /usr/local/lib/berth/tracker/db-main
  /etc/systemd/system/tracker-db-main-backup.service
  /etc/systemd/system/tracker-db-main-backup.timer
  /etc/systemd/system/tracker@.service
  /etc/systemd/system/tracker-job-reminders.service
  /etc/systemd/system/tracker-job-reminders.timer
  /etc/systemd/system/tracker-job-failed@.service
  /usr/local/lib/berth/tracker-job-failed
  /etc/berth/tracker/jobs/reminders.curl
  /etc/berth/tracker/upstream.conf
  /etc/berth/tracker/headers.conf
  /etc/nginx/sites-enabled/tracker.conf
  /etc/nftables.conf
)
for p in "${paths[@]}"; do
  mkdir -p "$here/files$(dirname "$p")"
  "$berth" sandbox ssh "$1" -- cat "$p" >"$here/files$p.new"
  mv -f "$here/files$p.new" "$here/files$p"
done
echo "refreshed ${#paths[@]} files in $here/files from sandbox $1" >&2
