#!/bin/sh
# One database and one login role per consumer: Dagster's run/event/schedule storage, MLflow's
# backend store, and the feedback store. The postgres image runs this once, on the first start of
# an empty data volume (/docker-entrypoint-initdb.d); deploy/k8s/15-postgres.yaml mounts the same
# file. Changing a password later is `ALTER ROLE ... PASSWORD`, not a re-run.
set -eu

: "${DAGSTER_PG_PASSWORD:?set DAGSTER_PG_PASSWORD}"
: "${MLFLOW_PG_PASSWORD:?set MLFLOW_PG_PASSWORD}"
: "${FEEDBACK_PG_PASSWORD:?set FEEDBACK_PG_PASSWORD}"

create() {  # role, password, database
  # psql variables (-v) quote the names and the password: nothing is spliced into SQL by the shell.
  psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v role="$1" -v password="$2" -v db="$3" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
}

create dagster "$DAGSTER_PG_PASSWORD" dagster
create mlflow "$MLFLOW_PG_PASSWORD" mlflow
create feedback "$FEEDBACK_PG_PASSWORD" feedback
