"""Times SQLAlchemy's inspect() of one schema, as a notebook's reflection does: the table names, then each
table's columns. Prints one JSON line: milliseconds per round, the CPU milliseconds this process took in each (SQLAlchemy
and psycopg2's own share of the round), and the counts. With `trace`, also writes to stderr,
per round, each kind of statement SQLAlchemy sent (its first 90 characters): how many, their total and median ms.
  /usr/bin/python3 bench/clients/sqlalchemy_inspect.py <url> <schema> <rounds> [trace]"""
import collections
import json
import sys
import time

from sqlalchemy import create_engine, event, inspect

url, schema, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
trace = len(sys.argv) > 4 and sys.argv[4] == "trace"
engine = create_engine(url)
sent = collections.defaultdict(list)
if trace:

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn, cursor, statement, parameters, context, executemany):
        conn.info["statement_start"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def ended(conn, cursor, statement, parameters, context, executemany):
        ms = (time.perf_counter() - conn.info["statement_start"]) * 1000
        sent[" ".join(statement.split())[:90]].append(ms)


times, cpu, tables, columns = [], [], 0, 0
for round in range(rounds):
    sent.clear()
    t0, cpu0 = time.perf_counter(), time.process_time()
    # A fresh inspector each round: SQLAlchemy caches reflection per Inspector.
    inspector = inspect(engine)
    names = inspector.get_table_names(schema=schema)
    columns = sum(len(inspector.get_columns(name, schema=schema)) for name in names)
    times.append((time.perf_counter() - t0) * 1000)
    cpu.append((time.process_time() - cpu0) * 1000)
    tables = len(names)
    for statement, ms in sorted(sent.items(), key=lambda kv: -sum(kv[1])):
        ms.sort()
        print(
            f"round {round}: {len(ms)} x, {sum(ms):.0f} ms, median {ms[len(ms) // 2]:.2f} ms: {statement}",
            file=sys.stderr,
        )
print(json.dumps({"inspect": times, "cpu": cpu, "tables": tables, "columns": columns}))
