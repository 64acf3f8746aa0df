"""psycopg2 (Debian's python3-psycopg2) as a notebook uses it: client-side parameters (%s / %(name)s, which
psycopg2 interpolates into the SQL text and sends as a simple Query), an implicit transaction, a named
(server-side) cursor, copy_expert, and errors. Prints one JSON document of what it saw; the jest suite
test/compat/python.test.ts asserts on it.

    /usr/bin/python3 psycopg2_client.py   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD)
"""
import io
import json
import os

import psycopg2
import psycopg2.errors
import psycopg2.extras

out = {}
conn = psycopg2.connect(
    host=os.environ["PGHOST"],
    port=os.environ["PGPORT"],
    dbname="aws",
    user=os.environ["PGUSER"],
    password=os.environ["PGPASSWORD"],
    application_name="compat-psycopg2",
)
out["server_version"] = conn.server_version
out["dsn"] = conn.get_dsn_parameters()["dbname"]

cur = conn.cursor()
# Client-side parameters: a tuple becomes an IN list, a list an ARRAY.
cur.execute(
    "SELECT data__identifier, connector_type, connection_mode, connector_label FROM appflow.connector_profile"
    " WHERE region = %(region)s AND data__identifier IN %(ids)s ORDER BY 1",
    {"region": "us-east-1", "ids": ("sf-prod", "inventory-api", "missing")},
)
out["query"] = cur.query.decode()
out["description"] = [[d.name, d.type_code] for d in cur.description]
out["rows"] = cur.fetchall()
out["status_in_transaction"] = conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS

cur.execute(
    "SELECT count(*), array_agg(data__identifier ORDER BY data__identifier) FROM appflow.connector_profiles"
    " WHERE region = %s AND connector_type = ANY(%s)",
    ("us-east-1", ["Salesforce", "Slack"]),
)
out["any"] = cur.fetchone()

# jsonb comes back as a Python dict.
cur.execute(
    "SELECT to_jsonb(p) - 'connector_profile_config' - 'credentials_arn' FROM appflow.connector_profile p"
    " WHERE region = %s AND data__identifier = %s",
    ("eu-west-1", "sf-eu"),
)
out["jsonb"] = cur.fetchone()[0]
conn.commit()

# A named cursor: DECLARE ... CURSOR WITHOUT HOLD, then FETCH FORWARD itersize at a time.
named = conn.cursor(name="browse_profiles")
named.itersize = 3
named.execute(
    "SELECT region, data__identifier FROM appflow.connector_profiles WHERE connection_mode = %s ORDER BY 1, 2",
    ("Public",),
)
out["named_iter"] = [f"{r}/{i}" for r, i in named]
named.scroll(0, mode="absolute")
out["named_after_scroll"] = named.fetchmany(2)
named.close()
conn.commit()

# copy_expert: COPY (query) TO STDOUT as CSV, and a whole table.
buf = io.StringIO()
cur.copy_expert(
    "COPY (SELECT data__identifier, connector_type FROM appflow.connector_profiles WHERE region = 'eu-west-1'"
    " ORDER BY 1) TO STDOUT WITH (FORMAT csv, HEADER)",
    buf,
)
out["copy_csv"] = buf.getvalue()
buf = io.StringIO()
cur.copy_expert("COPY appflow.connector_profiles (region, data__identifier, connector_type) TO STDOUT", buf)
out["copy_table"] = sorted(buf.getvalue().splitlines())
conn.commit()

# Errors: the exception class, SQLSTATE and diagnostics; the transaction is aborted until rollback.
errors = {}
try:
    cur.execute("SELECT connector_typ FROM appflow.connector_profiles")
except psycopg2.Error as e:
    errors["undefined_column"] = {
        "class": type(e).__name__,
        "pgcode": e.pgcode,
        "message": e.diag.message_primary,
        "hint": e.diag.message_hint,
        "position": e.diag.statement_position,
    }
try:
    cur.execute("SELECT 1")
except psycopg2.Error as e:
    errors["in_failed_transaction"] = {"class": type(e).__name__, "pgcode": e.pgcode}
conn.rollback()
try:
    cur.execute(
        "SELECT * FROM appflow.connector_profile WHERE region = %s AND data__identifier = %s", ("us east 1", "x")
    )
except psycopg2.Error as e:
    errors["bad_region"] = {"class": type(e).__name__, "pgcode": e.pgcode, "message": e.diag.message_primary}
conn.rollback()
cur.execute("SELECT %s::int + 1", (41,))
errors["after_rollback"] = cur.fetchone()[0]
conn.commit()
out["errors"] = errors

# Autocommit, as notebooks often set it.
conn.autocommit = True
cur.execute("SELECT count(*) FROM appflow.connector_profiles WHERE region = %s", ("eu-west-1",))
out["autocommit_count"] = cur.fetchone()[0]
out["autocommit_idle"] = conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
conn.close()

print(json.dumps(out, default=str))
