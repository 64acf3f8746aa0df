import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;

/**
 * Times pgjdbc's DatabaseMetaData over every table, as a BI tool's schema browser asks for it:
 * getTables(null, null, "%", TABLE) and getColumns(null, null, "%", "%"), each read to the end, `rounds` times.
 * Prints one JSON line: milliseconds per round and the row counts. Run with java's single-file launcher:
 *   java -cp /usr/share/java/postgresql.jar bench/clients/JdbcMetadata.java <url> <user> <password> <rounds>
 */
public class JdbcMetadata {
  static int drain(ResultSet rs) throws Exception {
    int n = 0;
    while (rs.next()) {
      rs.getString(3);
      n++;
    }
    rs.close();
    return n;
  }

  public static void main(String[] args) throws Exception {
    int rounds = Integer.parseInt(args[3]);
    StringBuilder tables = new StringBuilder(), columns = new StringBuilder();
    int tableRows = 0, columnRows = 0;
    try (Connection c = DriverManager.getConnection(args[0], args[1], args[2])) {
      DatabaseMetaData md = c.getMetaData();
      for (int i = 0; i < rounds; i++) {
        long t0 = System.nanoTime();
        tableRows = drain(md.getTables(null, null, "%", new String[] {"TABLE"}));
        long t1 = System.nanoTime();
        columnRows = drain(md.getColumns(null, null, "%", "%"));
        long t2 = System.nanoTime();
        tables.append(i == 0 ? "" : ",").append((t1 - t0) / 1_000_000.0);
        columns.append(i == 0 ? "" : ",").append((t2 - t1) / 1_000_000.0);
      }
    }
    System.out.println("{\"getTables\":[" + tables + "],\"tables\":" + tableRows + ",\"getColumns\":[" + columns
        + "],\"columns\":" + columnRows + "}");
  }
}
