"""asyncpg (Debian's python3-asyncpg) reading resources by key: it sends its parameters and asks for its results in
binary, so the session's direct point reads (server/session/direct-read.ts) answer it in binary. Runs each read with
SET aws.direct_reads = <argv[1]> and prints what asyncpg saw (column names and types, each value's repr) as one
JSON document; test/direct-reads.test.ts runs it with on and with off and compares.

    /usr/bin/python3 asyncpg_direct_reads_client.py on|off <json reads>   (connection from PGHOST, PGPORT, ...)
"""
import asyncio
import json
import os
import sys

import asyncpg

setting = sys.argv[1]
reads = json.loads(sys.argv[2])


async def main():
    conn = await asyncpg.connect(
        host=os.environ["PGHOST"],
        port=int(os.environ["PGPORT"]),
        user=os.environ["PGUSER"],
        database=os.environ["PGDATABASE"],
    )
    await conn.execute(f"SET aws.direct_reads = {setting}")
    out = []
    for read in reads:
        try:
            stmt = await conn.prepare(read["sql"])
            records = await stmt.fetch(*read["args"])
            out.append(
                {
                    "columns": [[a.name, a.type.oid] for a in stmt.get_attributes()],
                    "rows": [[repr(v) for v in r.values()] for r in records],
                }
            )
        except asyncpg.PostgresError as e:
            out.append({"error": type(e).__name__, "sqlstate": e.sqlstate, "message": str(e)})
    await conn.close()
    print(json.dumps(out))


asyncio.run(main())
