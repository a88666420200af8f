#!/usr/bin/env bash
# Back up Huimin's PostgreSQL: every service schema (event stores, ingest records, users) but the
# projection's read models, which are rebuilt from the events (docs/operations.md, "Backup and restore").
#   backup.sh FILE        with DATABASE_URL (a superuser's) or PGHOST/PGPORT/PGUSER/PGDATABASE set
# The dump is consistent (one snapshot) and taken while the system runs.
set -euo pipefail
out="${1:?usage: backup.sh FILE}"
args=(--format=custom --compress=6 --file="$out"
      --exclude-schema=projection --exclude-schema=projection_next --exclude-schema=projection_old)
if [ -n "${DATABASE_URL:-}" ]; then args+=(--dbname="$DATABASE_URL"); fi
pg_dump "${args[@]}"
pg_restore --list "$out" > /dev/null  # readable, or fail now rather than on the day it is needed
echo "backup.sh: wrote $out ($(du -h "$out" | cut -f1))"
