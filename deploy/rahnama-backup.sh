#!/bin/sh
# Daily backup of the rahnama database, run by rahnama-backup.service (as user rahnama).
# `rahnama backup` writes a consistent online copy and renames it into place, so a file named
# rahnama-<UTC time>.db in the backup directory is always complete. Then only the newest
# $RAHNAMA_BACKUP_KEEP of those files are kept. Nothing else in the directory is touched.
#
# Environment (defaults are the paths rahnama.service uses):
#   RAHNAMA_DB           database to copy            /var/lib/rahnama/rahnama.db
#   RAHNAMA_BACKUP_DIR   where the copies go         /var/lib/rahnama/backups
#   RAHNAMA_BACKUP_KEEP  how many copies to keep     14
#   RAHNAMA_BIN          the rahnama binary          /usr/local/bin/rahnama
# Exit status: 0 after a backup and pruning; non-zero if the backup failed (then nothing is
# pruned, so a run of failures never eats the good copies), with the reason on stderr.
set -eu

bin=${RAHNAMA_BIN:-/usr/local/bin/rahnama}
db=${RAHNAMA_DB:-/var/lib/rahnama/rahnama.db}
dir=${RAHNAMA_BACKUP_DIR:-/var/lib/rahnama/backups}
keep=${RAHNAMA_BACKUP_KEEP:-14}

case $keep in
  '' | *[!0-9]* | 0 | 0*)
    echo "rahnama-backup: RAHNAMA_BACKUP_KEEP must be a whole number of at least 1, not '$keep'" >&2
    exit 2 ;;
esac

umask 027  # backups hold every conversation: owner and group only
mkdir -p "$dir"

# One run at a time (a run by hand may meet the timer's).
exec 9>"$dir/.rahnama-backup.lock"
if ! flock -n 9; then
  echo "rahnama-backup: another backup is running in $dir" >&2
  exit 1
fi
# Left over from a run that was killed: incomplete by definition.
rm -f "$dir"/rahnama-*.db.partial

name="rahnama-$(date -u +%Y%m%dT%H%M%SZ).db"
if [ -e "$dir/$name" ]; then
  echo "rahnama-backup: $dir/$name already exists; not overwriting it" >&2
  exit 1
fi
"$bin" backup --db "$db" --to "$dir/$name"

# The names sort by time, so the newest come last; remove all but the newest $keep.
find "$dir" -maxdepth 1 -type f -name 'rahnama-*.db' -printf '%f\n' |
  grep -E '^rahnama-[0-9]{8}T[0-9]{6}Z\.db$' |
  sort -r |
  tail -n +"$((keep + 1))" |
  while IFS= read -r old; do
    rm -f -- "$dir/$old"
    echo "rahnama-backup: removed $old (keeping the newest $keep)"
  done
