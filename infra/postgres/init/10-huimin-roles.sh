#!/usr/bin/env bash
# One login role and one schema per service (docs/operations.md, "Roles and schemas").
# Run by the postgres image on its first start (/docker-entrypoint-initdb.d), or by hand with
# PGHOST/PGPORT/PGUSER pointing at a superuser: it is idempotent and also resets passwords.
#   POSTGRES_DB               database (default huimin)
#   HUIMIN_DB_SERVICES        services (default: projects delegates activities feedback projection gateway)
#   HUIMIN_DB_PASSWORD_<SVC>  each role's password (required)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
db="${POSTGRES_DB:-huimin}"
services="${HUIMIN_DB_SERVICES:-projects delegates activities feedback projection gateway}"
for svc in $services; do
  var="HUIMIN_DB_PASSWORD_${svc^^}"
  password="${!var:-}"
  if [ -z "$password" ]; then
    echo "10-huimin-roles: $var is not set" >&2
    exit 1
  fi
  # The projection rebuilds into a fresh schema and swaps it in: it must create schemas (its own).
  rebuilds=off
  [ "$svc" = projection ] && rebuilds=on
  psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-postgres}" --dbname "$db" \
    -v db="$db" -v svc="$svc" -v role="huimin_$svc" -v password="$password" -v rebuilds="$rebuilds" \
    -f "$here/roles.psql"
  echo "10-huimin-roles: role huimin_$svc owns schema $svc in $db"
done
