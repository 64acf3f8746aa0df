// A JDBC client that does what BI tools (DBeaver, Metabase, Tableau) do with pgjdbc: DatabaseMetaData to
// browse, PreparedStatements run many times (pgjdbc switches to a named server statement and binary
// transfer after prepareThreshold=5 executions), ResultSetMetaData, transactions with autocommit off, a
// browse with a fetch size, and executeUpdate. It prints one JSON document of what it saw; the jest suite
// (test/compat/jdbc.test.ts, writes-jdbc.test.ts) asserts on it.
//
// Run with Java 17's single-file launch:
//   java -cp /usr/share/java/postgresql.jar JdbcClient.java <jdbc-url> <user> <password> read|write
import java.sql.*;
import java.util.*;
import java.util.logging.*;

public class JdbcClient {
  // ---- a tiny JSON writer: the JDK ships none ----
  static String json(Object o) {
    if (o == null) return "null";
    if (o instanceof String s) {
      StringBuilder b = new StringBuilder("\"");
      for (char c : s.toCharArray()) {
        switch (c) {
          case '"' -> b.append("\\\"");
          case '\\' -> b.append("\\\\");
          case '\n' -> b.append("\\n");
          case '\r' -> b.append("\\r");
          case '\t' -> b.append("\\t");
          default -> {
            if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
          }
        }
      }
      return b.append('"').toString();
    }
    if (o instanceof Number || o instanceof Boolean) return o.toString();
    if (o instanceof Map<?, ?> m) {
      StringJoiner j = new StringJoiner(",", "{", "}");
      for (Map.Entry<?, ?> e : m.entrySet()) j.add(json(e.getKey().toString()) + ":" + json(e.getValue()));
      return j.toString();
    }
    if (o instanceof Collection<?> c) {
      StringJoiner j = new StringJoiner(",", "[", "]");
      for (Object x : c) j.add(json(x));
      return j.toString();
    }
    return json(o.toString());
  }

  static Map<String, Object> obj(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
    return m;
  }

  /** Every row of a result set as a map of the named columns. */
  static List<Map<String, Object>> rows(ResultSet rs, String... columns) throws SQLException {
    List<Map<String, Object>> out = new ArrayList<>();
    while (rs.next()) {
      Map<String, Object> row = new LinkedHashMap<>();
      for (String c : columns) row.put(c, rs.getObject(c));
      out.add(row);
    }
    rs.close();
    return out;
  }

  static Map<String, Object> error(SQLException e) {
    return obj("sqlstate", e.getSQLState(), "message", e.getMessage());
  }

  /** The protocol messages pgjdbc logs at FINEST (" FE=> Parse(stmt=S_1,...)"), to see what it sent. */
  static final List<String> sent = Collections.synchronizedList(new ArrayList<>());

  public static void main(String[] args) throws Exception {
    String url = args[0], user = args[1], password = args[2], mode = args[3];
    Logger pgLogger = Logger.getLogger("org.postgresql");
    pgLogger.setUseParentHandlers(false);
    pgLogger.setLevel(Level.FINEST);
    pgLogger.addHandler(new Handler() {
      @Override public void publish(LogRecord r) {
        String m = r.getMessage();
        if (m == null || !m.contains("FE=>")) return;
        Object[] p = r.getParameters();
        sent.add((p == null ? m : java.text.MessageFormat.format(m.replace("'", "''"), p)).trim());
      }
      @Override public void flush() {}
      @Override public void close() {}
    });

    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("ApplicationName", "compat-jdbc");
    Map<String, Object> out = new LinkedHashMap<>();
    try (Connection conn = DriverManager.getConnection(url, props)) {
      if (mode.equals("read")) read(conn, out);
      else write(conn, out);
    }
    System.out.println(json(out));
  }

  static void read(Connection conn, Map<String, Object> out) throws SQLException {
    DatabaseMetaData md = conn.getMetaData();
    out.put("product", obj("name", md.getDatabaseProductName(), "version", md.getDatabaseProductVersion(),
        "major", md.getDatabaseMajorVersion(), "driver", md.getDriverVersion(), "url", md.getURL(),
        "user", md.getUserName(), "catalog", conn.getCatalog(), "schema", conn.getSchema()));

    // ---- DatabaseMetaData, as a BI tool's schema browser calls it ----
    out.put("catalogs", rows(md.getCatalogs(), "TABLE_CAT"));
    out.put("schemas", rows(md.getSchemas(), "TABLE_SCHEM", "TABLE_CATALOG"));
    out.put("tables", rows(md.getTables(null, "appflow", "%", new String[] {"TABLE"}),
        "TABLE_CAT", "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE", "REMARKS"));
    out.put("columns", rows(md.getColumns(null, "appflow", "connector_profile", "%"),
        "TABLE_SCHEM", "TABLE_NAME", "COLUMN_NAME", "DATA_TYPE", "TYPE_NAME", "NULLABLE", "IS_NULLABLE",
        "REMARKS", "ORDINAL_POSITION", "IS_AUTOINCREMENT"));
    out.put("primaryKeys", rows(md.getPrimaryKeys(null, "appflow", "connector_profile"), "COLUMN_NAME"));
    out.put("importedKeys", rows(md.getImportedKeys(null, "appflow", "connector_profile"), "FKCOLUMN_NAME"));
    out.put("indexInfo", rows(md.getIndexInfo(null, "appflow", "connector_profile", false, true), "INDEX_NAME"));

    // ---- one PreparedStatement run past prepareThreshold (5): the 5th run on is a named server statement
    //      (S_1) with binary transfer; the int parameter goes as binary int4 from the start ----
    sent.clear();
    String[][] keys = {
      {"us-east-1", "sf-prod"}, {"us-east-1", "snowflake-dw"}, {"eu-west-1", "zendesk-support"},
      {"us-east-1", "inventory-api"}, {"us-east-1", "sf-sandbox"}, {"eu-west-1", "sf-eu"},
      {"us-east-1", "no-such-profile"}, {"us-east-1", "slack-ops"},
    };
    List<Object> runs = new ArrayList<>();
    try (PreparedStatement ps = conn.prepareStatement(
        "SELECT connector_type, connection_mode, connector_label, ? + 1 AS next, count(*) OVER () AS total, "
            + "connector_profile_config IS NULL AS config_is_null "
            + "FROM appflow.connector_profile WHERE region = ? AND data__identifier = ?")) {
      for (int i = 0; i < keys.length; i++) {
        ps.setInt(1, i * 10);
        ps.setString(2, keys[i][0]);
        ps.setString(3, keys[i][1]);
        boolean serverPrepared = ps.unwrap(org.postgresql.PGStatement.class).isUseServerPrepare();
        List<Object> result = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            result.add(obj("connector_type", rs.getString(1), "connection_mode", rs.getString(2),
                "connector_label", rs.getString(3), "next", rs.getInt(4), "total", rs.getLong(5),
                "config_is_null", rs.getBoolean(6)));
          }
        }
        runs.add(obj("key", keys[i][1], "serverPrepared", serverPrepared, "rows", result));
      }
    }
    out.put("prepared", runs);
    out.put("preparedSent", new ArrayList<>(sent));

    // ---- ResultSetMetaData ----
    try (PreparedStatement ps = conn.prepareStatement(
        "SELECT data__identifier, connector_profile_config, count(*) OVER () AS n, region = 'us-east-1' AS east "
            + "FROM appflow.connector_profile WHERE region = ? AND data__identifier = ?")) {
      ps.setString(1, "us-east-1");
      ps.setString(2, "sf-prod");
      try (ResultSet rs = ps.executeQuery()) {
        ResultSetMetaData rmd = rs.getMetaData();
        org.postgresql.PGResultSetMetaData pgmd = rmd.unwrap(org.postgresql.PGResultSetMetaData.class);
        List<Object> cols = new ArrayList<>();
        for (int i = 1; i <= rmd.getColumnCount(); i++) {
          cols.add(obj("name", rmd.getColumnName(i), "label", rmd.getColumnLabel(i),
              "typeName", rmd.getColumnTypeName(i), "type", rmd.getColumnType(i),
              "className", rmd.getColumnClassName(i), "table", rmd.getTableName(i),
              "baseSchema", pgmd.getBaseSchemaName(i), "baseColumn", pgmd.getBaseColumnName(i),
              "nullable", rmd.isNullable(i)));
        }
        out.put("resultSetMetaData", cols);
        out.put("rowFound", rs.next());
      }
    }

    // ---- autocommit off: BEGIN before the first statement, an error aborts the block until rollback ----
    conn.setAutoCommit(false);
    Map<String, Object> tx = new LinkedHashMap<>();
    try (Statement st = conn.createStatement()) {
      try (ResultSet rs = st.executeQuery(
          "SELECT count(*) FROM appflow.connector_profiles WHERE region = 'eu-west-1'")) {
        rs.next();
        tx.put("count", rs.getLong(1));
      }
      try (ResultSet rs = st.executeQuery("SELECT current_setting('transaction_isolation')")) {
        rs.next();
        tx.put("isolation", rs.getString(1));
      }
      try {
        st.executeQuery("SELECT * FROM appflow.connector_profile_typo");
      } catch (SQLException e) {
        tx.put("error", error(e));
      }
      try {
        st.executeQuery("SELECT 1");
      } catch (SQLException e) {
        tx.put("afterError", error(e));
      }
      conn.rollback();
      try (ResultSet rs = st.executeQuery("SELECT connector_type FROM appflow.connector_profile WHERE region = 'eu-west-1' AND data__identifier = 'datadog-eu'")) {
        tx.put("afterRollback", rs.next() ? rs.getString(1) : null);
      }
      conn.commit();

      // ---- a BI browse: no WHERE, a row cap, and a fetch size (a portal read 3 rows at a time) ----
      sent.clear();
      st.setFetchSize(3);
      st.setMaxRows(200);
      List<Object> browsed = new ArrayList<>();
      try (ResultSet rs = st.executeQuery("SELECT * FROM appflow.connector_profile LIMIT 10000")) {
        while (rs.next()) browsed.add(rs.getString("region") + "/" + rs.getString("data__identifier"));
      }
      conn.commit();
      tx.put("browse", browsed);
      tx.put("browseExecutes", sent.stream().filter(m -> m.startsWith("FE=> Execute")).toList());
    }
    conn.setAutoCommit(true);
    out.put("transaction", tx);

    try (Statement st = conn.createStatement()) {
      st.executeQuery("SELECT connector_typ FROM appflow.connector_profiles");
    } catch (SQLException e) {
      out.put("error", error(e));
    }
  }

  static void write(Connection conn, Map<String, Object> out) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement(
        "UPDATE appflow.connector_profile SET connection_mode = ? WHERE region = ? AND data__identifier = ?")) {
      ps.setString(1, "Private");
      ps.setString(2, "us-east-1");
      ps.setString(3, "snowflake-dw");
      out.put("updated", ps.executeUpdate());
    } catch (SQLException e) {
      out.put("updateError", error(e));
    }
    try (PreparedStatement ps = conn.prepareStatement(
        "SELECT connection_mode FROM appflow.connector_profile WHERE region = ? AND data__identifier = ?")) {
      ps.setString(1, "us-east-1");
      ps.setString(2, "snowflake-dw");
      try (ResultSet rs = ps.executeQuery()) {
        out.put("after", rs.next() ? rs.getString(1) : null);
      }
    }
    // With autocommit off, as DBeaver's manual-commit mode runs it.
    conn.setAutoCommit(false);
    try (Statement st = conn.createStatement()) {
      out.put("updatedInTransaction", st.executeUpdate(
          "UPDATE appflow.connector_profile SET connection_mode = 'Public' WHERE region = 'us-east-1' AND data__identifier = 'sf-sandbox'"));
      conn.commit();
    } catch (SQLException e) {
      out.put("transactionError", error(e));
      conn.rollback();
    }
    conn.setAutoCommit(true);
  }
}
