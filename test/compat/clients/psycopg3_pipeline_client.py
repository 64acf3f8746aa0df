"""psycopg 3 (Debian's python3-psycopg) pipeline mode: statements queued without waiting, and results fetched
before the pipeline's Sync, which psycopg asks for with a Flush. A failing statement fetched that way must raise
its error (not hang), and the connection works once the pipeline ends. Each wait has a deadline (libpq's socket is polled by psycopg, so a keep-back shows up as "hang"). Prints
one JSON document; the jest suite test/compat/asyncpg.test.ts runs it against the bridge and a real PostgreSQL 15.

    /usr/bin/python3 psycopg3_pipeline_client.py <region>   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD,
                                                             PGDATABASE)
"""
import json
import os
import signal
import sys

import psycopg

region = sys.argv[1]
out = {}


class Hang(Exception):
    pass


def on_alarm(signum, frame):
    raise Hang()


signal.signal(signal.SIGALRM, on_alarm)


def step(name, fn):
    signal.alarm(20)
    try:
        out[name] = fn()
    except Hang:
        out[name] = "hang"
    except psycopg.Error as e:
        out[name] = {"error": type(e).__name__, "sqlstate": e.sqlstate}
    finally:
        signal.alarm(0)


conn = psycopg.connect(
    host=os.environ["PGHOST"],
    port=os.environ["PGPORT"],
    user=os.environ["PGUSER"],
    password=os.environ.get("PGPASSWORD", ""),
    dbname=os.environ["PGDATABASE"],
    autocommit=True,
)


def pipeline():
    """What each fetch gave, in order. psycopg 3.1 reads every result that came back for the Flush, so the error
    surfaces at the first fetch, and the cursors after it have no result (a real PostgreSQL does the same)."""
    seen = []
    try:
        with conn.pipeline():
            first = conn.execute("SELECT %s::int + 1", (1,))
            failing = conn.execute("SELECT * FROM appflow.connector_profil WHERE region = %s", (region,))
            after = conn.execute("SELECT 3")
            for cur in (first, failing, after):
                try:
                    seen.append(cur.fetchone()[0])
                except psycopg.Error as e:
                    seen.append([type(e).__name__, e.sqlstate])
            seen.append("end of pipeline")
    except psycopg.Error as e:
        seen.append(["at exit", type(e).__name__, e.sqlstate])
    return seen


step("pipeline", pipeline)


def parameterised():
    with conn.pipeline():
        cur = conn.execute(
            "SELECT connector_profile_name FROM appflow.connector_profiles"
            " WHERE region = %s AND connector_profile_name LIKE %s ORDER BY 1",
            (region, "apg-%"),
        )
        return [r[0] for r in cur.fetchall()]


step("pipeline_select", parameterised)
step("after_pipeline", lambda: conn.execute("SELECT 4").fetchone()[0])
print(json.dumps(out, default=str))
