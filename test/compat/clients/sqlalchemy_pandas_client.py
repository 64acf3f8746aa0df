"""SQLAlchemy (Debian's python3-sqlalchemy 1.4, psycopg2 dialect) and pandas (python3-pandas) as a notebook
uses them: inspect() for schemas, tables, columns with their comments; Table autoload; a Core select; pandas
read_sql (with parameters, and in chunks) and read_sql_table. Prints one JSON document; the jest suite
test/compat/python.test.ts asserts on it.

    /usr/bin/python3 sqlalchemy_pandas_client.py <sqlalchemy-url>
"""
import json
import sys
import warnings

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

warnings.simplefilter("ignore")
out = {}
engine = sa.create_engine(sys.argv[1])

# inspect(): what a notebook's schema browser (or Jupyter's SQL magic) asks.
insp = sa.inspect(engine)
out["schemas"] = insp.get_schema_names()
out["tables"] = insp.get_table_names(schema="appflow")
out["has_table"] = [insp.has_table("connector_profile", schema="appflow"), insp.has_table("nope", schema="appflow")]
out["table_comment"] = insp.get_table_comment("connector_profile", schema="appflow")["text"]
out["columns"] = [
    {"name": c["name"], "type": repr(c["type"]), "nullable": c["nullable"], "comment": c.get("comment")}
    for c in insp.get_columns("connector_profile", schema="appflow")
]
out["pk"] = insp.get_pk_constraint("connector_profile", schema="appflow")["constrained_columns"]
out["fks"] = insp.get_foreign_keys("connector_profile", schema="appflow")
out["indexes"] = insp.get_indexes("connector_profile", schema="appflow")

# Table autoload, then Core queries through it.
md = sa.MetaData()
profile = sa.Table("connector_profile", md, schema="appflow", autoload_with=engine)
profiles = sa.Table("connector_profiles", md, schema="appflow", autoload_with=engine)
out["autoload"] = {
    "columns": [c.name for c in profile.columns],
    "comment": profile.comment,
    "config_is_jsonb": isinstance(profile.c.connector_profile_config.type, postgresql.JSONB),
    "region_comment": profile.c.region.comment,
}
with engine.connect() as conn:
    row = conn.execute(
        sa.select(profile.c.connector_type, profile.c.connection_mode, profile.c.connector_profile_arn).where(
            profile.c.region == "us-east-1", profile.c.data__identifier == "snowflake-dw"
        )
    ).one()
    out["select_one"] = list(row)
    out["group_by"] = [
        list(r)
        for r in conn.execute(
            sa.select(profiles.c.region, sa.func.count().label("n"))
            .group_by(profiles.c.region)
            .order_by(profiles.c.region)
        )
    ]
    out["in_list"] = sorted(
        r[0]
        for r in conn.execute(
            sa.select(profile.c.data__identifier).where(
                profile.c.region == "eu-west-1", profile.c.data__identifier.in_(["sf-eu", "datadog-eu", "missing"])
            )
        )
    )

# pandas.
df = pd.read_sql(
    "SELECT data__identifier, connector_type, connection_mode, length(data__identifier) AS id_len"
    " FROM appflow.connector_profiles WHERE region = %(region)s ORDER BY 1",
    engine,
    params={"region": "us-east-1"},
)
out["read_sql"] = {
    "shape": list(df.shape),
    "dtypes": {k: str(v) for k, v in df.dtypes.items()},
    "records": df.to_dict(orient="records"),
}
chunks = list(
    pd.read_sql(
        sa.text("SELECT data__identifier FROM appflow.connector_profiles ORDER BY 1"), engine, chunksize=3
    )
)
out["read_sql_chunks"] = [len(c) for c in chunks]
tdf = pd.read_sql_table("connector_profiles", engine, schema="appflow")
out["read_sql_table"] = {
    "shape": list(tdf.shape),
    "columns": list(tdf.columns),
    "ids": sorted(f"{r}/{i}" for r, i in zip(tdf["region"], tdf["data__identifier"])),
    "null_configs": int(tdf["connector_profile_config"].isna().sum()),
}
one = pd.read_sql_table("connector_profile", engine, schema="appflow", columns=["data__identifier", "connector_label"])
out["read_sql_table_columns"] = {
    "shape": list(one.shape),
    "labels": {i: l for i, l in zip(one["data__identifier"], one["connector_label"]) if l is not None},
}
engine.dispose()
print(json.dumps(out, default=str))
