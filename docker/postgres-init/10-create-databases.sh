#!/usr/bin/env bash
# Runs once, when the postgres service starts on an empty data volume (docker-entrypoint-initdb.d).
# Creates one role and database for the Airflow metadata, and one role owning the MLflow tracking
# store (database mlflow) and the MLflow auth store (database mlflow_auth). Passwords come from the
# environment (.env), never from this file. To change them later, use ALTER ROLE: this script does
# not run again on a volume that already holds data.
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"
: "${MLFLOW_DB_PASSWORD:?MLFLOW_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -v airflow_password="${AIRFLOW_DB_PASSWORD}" \
    -v mlflow_password="${MLFLOW_DB_PASSWORD}" <<'EOSQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
CREATE DATABASE mlflow_auth OWNER mlflow;
EOSQL
