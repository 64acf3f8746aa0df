"""asyncpg (Debian's python3-asyncpg) as an application uses it, and SQLAlchemy's async engine over it: typos that
must fail rather than hang, parameterised INSERT / UPDATE ... RETURNING / DELETE and executemany, a pool whose
released connections are reset (UNLISTEN *, RESET ALL), and a cursor moved with Cursor.forward(). asyncpg sends
Parse/Describe then Flush, not Sync, and waits for the answer; each step has a deadline so a server that keeps
the error back shows up as "hang" instead of a stuck test. Prints one JSON document; the jest suite
test/compat/asyncpg.test.ts runs it against the bridge and against a real PostgreSQL 15 with the same tables.

    /usr/bin/python3 asyncpg_client.py <region>   (connection from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)
"""
import asyncio
import json
import os
import sys

import asyncpg

region = sys.argv[1]
connect_args = dict(
    host=os.environ["PGHOST"],
    port=int(os.environ["PGPORT"]),
    user=os.environ["PGUSER"],
    password=os.environ.get("PGPASSWORD") or None,
    database=os.environ["PGDATABASE"],
)
STEP_SECONDS = 20
out = {}


async def step(coro):
    """The step's result, its error as {class, sqlstate}, or "hang" when nothing came back in time."""
    try:
        return await asyncio.wait_for(coro, STEP_SECONDS)
    except asyncio.TimeoutError:
        return "hang"
    except asyncpg.PostgresError as e:
        return {"error": type(e).__name__, "sqlstate": e.sqlstate}
    except asyncpg.InterfaceError as e:
        # asyncpg's own refusals, e.g. "the server expects 0 arguments" after a wrong Describe.
        return {"error": type(e).__name__, "message": str(e)}


def rows(records):
    return [list(r.values()) for r in records] if isinstance(records, list) else records


async def plain():
    conn = await asyncpg.connect(**connect_args)
    out["typo_syntax"] = await step(conn.fetch("SELEC 1"))
    out["typo_table"] = await step(conn.fetch("SELECT * FROM appflow.connector_profil WHERE region = $1", region))
    out["typo_column"] = await step(conn.fetchval("SELECT no_such_column FROM appflow.connector_profiles"))
    out["after_typos"] = await step(conn.fetchval("SELECT 1 + 1"))

    insert = (
        "INSERT INTO appflow.connector_profiles (region, connector_profile_name, connector_type, connection_mode)"
        " VALUES ($1, $2, $3, $4)"
    )
    out["insert"] = await step(conn.execute(insert, region, "apg-one", "Snowflake", "Public"))
    out["executemany"] = await step(
        conn.executemany(
            insert, [(region, "apg-two", "Salesforce", "Public"), (region, "apg-three", "Slack", "Public")]
        )
    )
    out["inserted"] = rows(
        await step(
            conn.fetch(
                "SELECT connector_profile_name, connector_type FROM appflow.connector_profiles"
                " WHERE region = $1 AND connector_profile_name LIKE 'apg-%' ORDER BY 1",
                region,
            )
        )
    )
    out["update_returning"] = rows(
        await step(
            conn.fetch(
                "UPDATE appflow.connector_profile SET connection_mode = $1 WHERE region = $2 AND data__identifier = $3"
                " RETURNING data__identifier, connection_mode",
                "Private",
                region,
                "apg-one",
            )
        )
    )
    out["delete"] = await step(
        conn.execute(
            "DELETE FROM appflow.connector_profiles WHERE region = $1 AND data__identifier = $2", region, "apg-three"
        )
    )
    out["after_writes"] = rows(
        await step(
            conn.fetch(
                "SELECT data__identifier, connection_mode FROM appflow.connector_profiles"
                " WHERE region = $1 AND data__identifier LIKE 'apg-%' ORDER BY 1",
                region,
            )
        )
    )

    async def forward():
        async with conn.transaction():
            cur = await conn.cursor("SELECT n FROM generate_series(1, 10) AS n")
            moved = await cur.forward(3)
            fetched = await cur.fetch(2)
            moved_again = await cur.forward(2)
            last = await cur.fetchrow()
            return [moved, [r["n"] for r in fetched], moved_again, last["n"]]

    out["cursor_forward"] = await step(forward())
    await conn.close()


async def pool():
    p = await asyncpg.create_pool(min_size=1, max_size=1, **connect_args)

    async def cycle():
        seen = []
        # One connection, acquired three times: each release resets it (UNLISTEN *, RESET ALL ...).
        for i in range(3):
            async with p.acquire() as c:
                seen.append(await c.fetchval("SELECT $1::int * 10", i))
                await c.execute("SET application_name = 'pooled'")
            async with p.acquire() as c:
                seen.append(await c.fetchval("SHOW application_name"))
        return seen

    out["pool"] = await step(cycle())
    await p.close()


async def sqlalchemy_async():
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import create_async_engine

    a = connect_args
    url = f"postgresql+asyncpg://{a['user']}:{a['password'] or ''}@/{a['database']}"
    engine = create_async_engine(url, connect_args={"host": a["host"], "port": a["port"]})

    async def run():
        async with engine.connect() as conn:
            r = await conn.execute(
                text(
                    "SELECT connector_profile_name FROM appflow.connector_profiles"
                    " WHERE region = :r AND connector_profile_name LIKE 'apg-%' ORDER BY 1"
                ),
                {"r": region},
            )
            names = [row[0] for row in r]
            try:
                await conn.execute(text("SELECT * FROM appflow.connector_profil"))
                typo = None
            except DBAPIError as e:
                typo = getattr(e.orig, "sqlstate", None) or type(e.orig).__name__
        return {"names": names, "typo": typo}

    out["sqlalchemy"] = await step(run())
    await engine.dispose()


async def main():
    await plain()
    await pool()
    await sqlalchemy_async()


asyncio.run(main())
print(json.dumps(out, default=str))
