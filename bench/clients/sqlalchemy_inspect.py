"""Times SQLAlchemy's inspect() of one schema, as a notebook's reflection does: the table names, then each
table's columns. Prints one JSON line: milliseconds per round and the counts.
  /usr/bin/python3 bench/clients/sqlalchemy_inspect.py <url> <schema> <rounds>"""
import json
import sys
import time

from sqlalchemy import create_engine, inspect

url, schema, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
engine = create_engine(url)
times, tables, columns = [], 0, 0
for _ in range(rounds):
    t0 = time.perf_counter()
    # A fresh inspector each round: SQLAlchemy caches reflection per Inspector.
    inspector = inspect(engine)
    names = inspector.get_table_names(schema=schema)
    columns = sum(len(inspector.get_columns(name, schema=schema)) for name in names)
    times.append((time.perf_counter() - t0) * 1000)
    tables = len(names)
print(json.dumps({"inspect": times, "tables": tables, "columns": columns}))
