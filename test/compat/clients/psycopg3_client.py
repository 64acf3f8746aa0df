"""psycopg 3 (Debian's python3-psycopg) as a notebook uses it: server-side parameters over the extended
protocol, binary results, prepare=True (a named server statement), pipeline mode, a server-side cursor,
COPY TO in text and binary, and errors. libpq's protocol trace records what psycopg sent, so the suite can
check that a statement was prepared once and bound many times. Prints one JSON document; the jest suite
test/compat/python.test.ts asserts on it.

    /usr/bin/python3 psycopg3_client.py <trace-file>   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD)
"""
import datetime
import json
import os
import sys

import psycopg
from psycopg import pq
from psycopg.rows import dict_row

out = {}
trace_path = sys.argv[1]
conninfo = psycopg.conninfo.make_conninfo(
    host=os.environ["PGHOST"],
    port=os.environ["PGPORT"],
    dbname="aws",
    user=os.environ["PGUSER"],
    password=os.environ["PGPASSWORD"],
    application_name="compat-psycopg3",
)
conn = psycopg.connect(conninfo, autocommit=True)
out["server_version"] = conn.info.server_version
out["libpq"] = pq.version()

# Server-side parameters: $1, $2 in Parse, the values in Bind.
cur = conn.execute(
    "SELECT data__identifier, connector_type, connection_mode FROM appflow.connector_profile"
    " WHERE region = %s AND data__identifier = %s",
    ("us-east-1", "sf-sandbox"),
)
out["extended"] = cur.fetchall()
out["extended_description"] = [[d.name, d.type_code] for d in cur.description]

# Binary results: every column of the result in binary format, decoded to Python types.
bcur = conn.cursor(binary=True, row_factory=dict_row)
bcur.execute(
    "SELECT data__identifier, count(*) OVER () AS n, connection_mode = 'Private' AS private,"
    " to_jsonb(p) -> 'connector_type' AS type_json, now() AS at, 1.5::numeric AS num"
    " FROM appflow.connector_profile p WHERE region = %s AND data__identifier = ANY(%s) ORDER BY 1",
    ("us-east-1", ["sf-prod", "sf-sandbox", "nope"]),
)
rows = bcur.fetchall()
out["binary_formats"] = [bcur.pgresult.fformat(i) for i in range(bcur.pgresult.nfields)]
out["binary_rows"] = [
    {k: (type(v).__name__, v if not isinstance(v, datetime.datetime) else v.tzinfo is not None) for k, v in r.items()}
    for r in rows
]

# Binary parameters (%b): the values go in Bind in binary format, here text and an int.
bcur.execute(
    "SELECT count(*) AS n FROM appflow.connector_profiles WHERE region = %b AND length(data__identifier) > %b",
    ("us-east-1", 8),
)
out["binary_params"] = bcur.fetchone()["n"]

# prepare=True: Parse once into a named statement (_pg3_0), then Bind/Execute it for each call.
conn.pgconn.trace(os.open(trace_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
prepared = []
for region, name in [("us-east-1", "sf-prod"), ("eu-west-1", "zendesk-support"), ("us-east-1", "slack-ops"), ("eu-west-1", "nope")]:
    c = conn.execute(
        "SELECT connector_type FROM appflow.connector_profile WHERE region = %s AND data__identifier = %s",
        (region, name),
        prepare=True,
    )
    prepared.append([name, [r[0] for r in c.fetchall()]])
conn.pgconn.untrace()
out["prepared"] = prepared

# Pipeline mode: several statements sent before their results are read.
with conn.pipeline():
    c1 = conn.execute("SELECT count(*) FROM appflow.connector_profiles WHERE region = %s", ("us-east-1",))
    c2 = conn.execute("SELECT count(*) FROM appflow.connector_profiles WHERE region = %s", ("eu-west-1",))
    c3 = conn.execute("SELECT connector_label FROM appflow.connector_profile WHERE region = %s AND data__identifier = %s", ("us-east-1", "inventory-api"))
out["pipeline"] = [c1.fetchone()[0], c2.fetchone()[0], c3.fetchone()[0]]

# A server-side cursor inside a transaction: DECLARE ... CURSOR FOR <query with $1> through the extended
# protocol (Parse/Bind with the parameter), then FETCH FORWARD itersize at a time.
try:
    with conn.transaction():
        with conn.cursor(name="profiles_cur") as scur:
            scur.itersize = 2
            scur.execute(
                "SELECT data__identifier FROM appflow.connector_profiles WHERE region = %s ORDER BY 1", ("us-east-1",)
            )
            out["server_cursor"] = [r[0] for r in scur]
except psycopg.Error as e:
    out["server_cursor"] = {"error": {"class": type(e).__name__, "sqlstate": e.sqlstate, "message": str(e)}}

# COPY TO STDOUT: text rows, and the binary COPY format decoded with the column types.
with conn.cursor() as ccur:
    with ccur.copy(
        "COPY (SELECT data__identifier, connection_mode FROM appflow.connector_profiles WHERE region = 'eu-west-1' ORDER BY 1) TO STDOUT"
    ) as copy:
        out["copy_text"] = [list(r) for r in copy.rows()]
    with ccur.copy(
        "COPY (SELECT data__identifier, count(*) OVER () FROM appflow.connector_profiles WHERE region = 'eu-west-1' ORDER BY 1) TO STDOUT (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["text", "int8"])
        out["copy_binary"] = [list(r) for r in copy.rows()]

# Errors.
errors = {}
try:
    conn.execute("SELECT connector_typ FROM appflow.connector_profiles")
except psycopg.Error as e:
    errors["undefined_column"] = {
        "class": type(e).__name__,
        "sqlstate": e.sqlstate,
        "message": e.diag.message_primary,
        "hint": e.diag.message_hint,
    }
try:
    conn.execute("SELECT %s::int", ("x",))
except psycopg.Error as e:
    errors["bad_parameter"] = {"class": type(e).__name__, "sqlstate": e.sqlstate}
errors["after"] = conn.execute("SELECT %s::int * 2", (21,)).fetchone()[0]
out["errors"] = errors
conn.close()

with open(trace_path) as f:
    trace = [line.rstrip("\n") for line in f]
# Keep the frontend messages: F <len> Parse/Bind/Describe/Execute/Sync ...
out["trace_sent"] = [line for line in trace if line.startswith("F\t") or line.startswith("F ")]
print(json.dumps(out, default=str))
