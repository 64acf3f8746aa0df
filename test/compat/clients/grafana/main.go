// A Go client that talks to the bridge the way Grafana's PostgreSQL data source does with lib/pq:
// database/sql over a key=value connection string with sslmode=disable, Ping ("Save & test"), the version
// and schema/table/column look-ups of the query builder, panel queries whose macros and template variables
// are interpolated client-side (no parameters, so lib/pq uses the simple query protocol), rows converted by
// their column's database type, and errors as *pq.Error. It prints one JSON document of what it saw; the
// jest suite test/compat/grafana-libpq.test.ts asserts on it.
//
// Built offline from Debian's golang-github-lib-pq-dev:
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o grafana-libpq main.go
//   ./grafana-libpq "host=127.0.0.1 port=5433 dbname=aws user=grafana password=... sslmode=disable"
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lib/pq"
)

type column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type result struct {
	Columns []column        `json:"columns,omitempty"`
	Rows    [][]interface{} `json:"rows"`
	Error   *pgError        `json:"error,omitempty"`
}

type pgError struct {
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Detail   string `json:"detail,omitempty"`
	Hint     string `json:"hint,omitempty"`
	Position string `json:"position,omitempty"`
}

func asPgError(err error) *pgError {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return &pgError{Code: string(pe.Code), Severity: pe.Severity, Message: pe.Message, Detail: pe.Detail, Hint: pe.Hint, Position: pe.Position}
	}
	return &pgError{Code: "client", Message: err.Error()}
}

// query runs one statement and converts each value by its column's database type, as Grafana's
// sqleng converter does: timestamps become times, int8/numeric numbers, text and jsonb strings.
func query(db *sql.DB, sqlText string, args ...interface{}) result {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return result{Rows: [][]interface{}{}, Error: asPgError(err)}
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return result{Rows: [][]interface{}{}, Error: asPgError(err)}
	}
	res := result{Rows: [][]interface{}{}}
	for _, t := range types {
		res.Columns = append(res.Columns, column{Name: t.Name(), Type: t.DatabaseTypeName()})
	}
	for rows.Next() {
		values := make([]interface{}, len(types))
		ptrs := make([]interface{}, len(types))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{Rows: [][]interface{}{}, Error: asPgError(err)}
		}
		row := make([]interface{}, len(values))
		for i, v := range values {
			switch x := v.(type) {
			case []byte:
				row[i] = string(x)
			case time.Time:
				// Grafana keeps the instant; the test checks it is recent, so print its age.
				row[i] = fmt.Sprintf("time:%s", x.UTC().Format(time.RFC3339))
			default:
				row[i] = x
			}
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		res.Error = asPgError(err)
	}
	return res
}

// searchPathSchemas is Grafana's test "is this schema on the search_path" (it resolves "$user").
const searchPathSchemas = `quote_ident(table_schema) IN (
  SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
  FROM generate_series(array_lower(string_to_array(current_setting('search_path'), ','), 1),
                       array_upper(string_to_array(current_setting('search_path'), ','), 1)) AS i,
       string_to_array(current_setting('search_path'), ',') s)`

func main() {
	db, err := sql.Open("postgres", os.Args[1])
	if err != nil {
		panic(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxLifetime(14400 * time.Second)

	out := map[string]interface{}{}

	// "Save & test": database/sql's Ping, which lib/pq answers with an empty query (";").
	if err := db.PingContext(context.Background()); err != nil {
		out["ping"] = err.Error()
	} else {
		out["ping"] = "ok"
	}

	// The data source settings page: version and TimescaleDB detection.
	out["version"] = query(db, `SELECT current_setting('server_version_num')::int/100 AS version`)
	out["timescaledb"] = query(db, `SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`)

	// The query builder: schemas, then tables (those on the search_path unqualified), then columns.
	out["schemas"] = query(db, `SELECT schema_name AS "name" FROM information_schema.schemata
  WHERE schema_name NOT IN ('information_schema', 'pg_catalog', 'pg_toast') ORDER BY schema_name`)
	out["tablesInSchema"] = query(db, `SELECT quote_ident(table_name) AS "table" FROM information_schema.tables
  WHERE quote_ident(table_schema) = 'appflow' ORDER BY 1`)
	out["tables"] = query(db, `SELECT CASE WHEN `+searchPathSchemas+`
    THEN quote_ident(table_name) ELSE quote_ident(table_schema) || '.' || quote_ident(table_name) END AS "table"
  FROM information_schema.tables
  WHERE quote_ident(table_schema) NOT IN ('information_schema', 'pg_catalog')
  ORDER BY CASE WHEN `+searchPathSchemas+` THEN 0 ELSE 1 END, 1`)
	out["columns"] = query(db, `SELECT quote_ident(column_name) AS "column", data_type AS "type"
  FROM information_schema.columns
  WHERE CASE WHEN array_length(parse_ident('appflow.connector_profile'), 1) = 2
    THEN quote_ident(table_schema) = (parse_ident('appflow.connector_profile'))[1]
     AND quote_ident(table_name) = (parse_ident('appflow.connector_profile'))[2]
    ELSE quote_ident(table_name) = 'appflow.connector_profile' AND `+searchPathSchemas+` END`)

	// A template variable ($region, multi-value) and panels that use it, interpolated client-side.
	out["variable"] = query(db, `SELECT DISTINCT region AS __text FROM appflow.connector_profiles ORDER BY 1`)
	out["table"] = query(db, `SELECT connector_type AS "Connector", count(*) AS "Profiles",
  count(*) FILTER (WHERE connection_mode = 'Private') AS "Private"
  FROM appflow.connector_profiles WHERE region IN ('us-east-1','eu-west-1') GROUP BY 1 ORDER BY 2 DESC, 1`)
	// $__timeGroupAlias(now(), 1m) and $__timeFilter(now()) as Grafana expands them for PostgreSQL.
	out["timeSeries"] = query(db, `SELECT floor(extract(epoch from now())/60)*60 AS "time", region AS metric, count(*)::float8 AS value
  FROM appflow.connector_profiles WHERE now() BETWEEN '2020-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z'
  GROUP BY 1, 2 ORDER BY 1, 2`)
	out["timeColumn"] = query(db, `SELECT now() AS "time", count(*) AS value FROM appflow.connector_profiles WHERE region = 'eu-west-1'`)
	out["jsonb"] = query(db, `SELECT data__identifier, connector_profile_arn, connector_profile_config, to_jsonb(p) ->> 'connector_label' AS label
  FROM appflow.connector_profile p WHERE region = 'us-east-1' AND data__identifier = 'inventory-api'`)

	// lib/pq with arguments: the extended protocol (unnamed statement, Parse/Describe/Sync then Bind/Execute).
	out["parameters"] = query(db, `SELECT connector_type, connection_mode FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2`,
		"eu-west-1", "zendesk-support")
	out["parametersNoRow"] = query(db, `SELECT connector_type FROM appflow.connector_profile WHERE region = $1 AND data__identifier = $2`,
		"eu-west-1", "no-such-profile")

	// A panel with a typo, and one with an invalid region: the error panel shows the server's message.
	out["error"] = query(db, `SELECT connector_typ FROM appflow.connector_profiles`)
	out["regionError"] = query(db, `SELECT * FROM appflow.connector_profile WHERE region = $1 AND data__identifier = 'x'`, "us east 1")
	// The pool's connections still work after errors.
	out["afterError"] = query(db, `SELECT count(*) AS n FROM appflow.connector_profiles WHERE region = 'eu-west-1'`)

	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
