#!/usr/bin/env bash
# Installs the real clients that test/compat/ drives, from Debian 12's packages. Idempotent: it runs
# `apt-get update` once and `apt-get install` only when something is missing. Run as root (CI is root).
set -euo pipefail

packages=(
  postgresql-15                 # server binaries (initdb, postgres) and postgres_fdw for the FDW test
  postgresql-client-15          # psql 15 and pgbench 15
  libpostgresql-jdbc-java       # pgjdbc: /usr/share/java/postgresql.jar
  default-jdk-headless          # javac/java (17 on Debian 12) to run the JDBC client
  golang-go                     # go build of the lib/pq client, offline (GO111MODULE=off)
  golang-github-lib-pq-dev      # lib/pq source under /usr/share/gocode
  python3-psycopg2
  python3-psycopg               # psycopg 3
  python3-asyncpg               # asyncpg, plain, pooled and under SQLAlchemy's async engine
  python3-greenlet              # SQLAlchemy's asyncio extension needs it
  python3-sqlalchemy
  python3-pandas
  redis-server                  # the shared read cache suite starts its own on an ephemeral port
  awscli                        # the AWS CLI, against the emulator (test/registry.test.ts)
)

missing=()
for p in "${packages[@]}"; do
  # A package counts as present when dpkg says "install ok installed"; java/javac counted if on PATH.
  if [ "$p" = default-jdk-headless ] && command -v javac >/dev/null 2>&1 && command -v java >/dev/null 2>&1; then
    continue
  fi
  # An AWS CLI already on PATH (pip's, v1 or v2) serves as well: each has `cloudcontrol get-resource`.
  if [ "$p" = awscli ] && command -v aws >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "install-clients: installing ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# postgres refuses to run as root: the postgres_fdw test runs its PostgreSQL as this system user.
if ! id postgres >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

# Debian's postgresql-15 package starts a cluster on 5432 and redis-server a server on 6379; the tests start
# their own on ephemeral ports and need nothing of them.
echo "install-clients: ready (psql $(psql --version | awk '{print $3}'), go $(go version | awk '{print $3}'), $(/usr/bin/python3 --version), $(aws --version 2>&1 | awk '{print $1}'))"
