#!/usr/bin/env bash
# Restore a backup.sh dump into a database whose roles and schemas the init step created
# (infra/postgres/init): each schema is replaced by the dump's, owned by its service's role.
#   restore.sh FILE       with DATABASE_URL (a superuser's) or PGHOST/PGPORT/PGUSER/PGDATABASE set
# Then: re-publish the events if JetStream lost them (`huimin republish <service>...`) and let the
# projection rebuild (`huimin rebuild`); see docs/operations.md.
set -euo pipefail
in="${1:?usage: restore.sh FILE}"
args=(--clean --if-exists --exit-on-error --single-transaction)
if [ -n "${DATABASE_URL:-}" ]; then args+=(--dbname="$DATABASE_URL"); else args+=(--dbname="${PGDATABASE:-huimin}"); fi
pg_restore "${args[@]}" "$in"
echo "restore.sh: restored $in"
