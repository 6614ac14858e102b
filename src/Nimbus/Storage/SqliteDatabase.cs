using Microsoft.Data.Sqlite;

namespace Nimbus.Storage;

/// <summary>
/// Opens connections to one SQLite file in WAL mode and brings its schema up to date with append-only,
/// numbered migrations. A migration, once shipped, is never edited: add a new one.
/// </summary>
internal sealed class SqliteDatabase
{
    private readonly string _connectionString;

    public SqliteDatabase(string path, IReadOnlyList<string> migrations)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
        Migrate(migrations);
    }

    public string Path { get; }

    public int SchemaVersion { get; private set; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        // SQLite blocks its thread: never the socket engine's (an inline-served Invoke that misses a cache comes here).
        await Http.SocketThread.Leave();
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>
    /// A connection of its own (outside the pool) for a background writer that keeps it, and the statements it
    /// prepares on it, for its lifetime. <paramref name="synchronous"/> is its <c>PRAGMA synchronous</c> (FULL or
    /// NORMAL): a setting of this connection only, so it never leaks into pooled ones.
    /// </summary>
    public SqliteConnection OpenWriter(string synchronous)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, $"PRAGMA synchronous={synchronous};");

            // Statements run through PreparedStatement bypass Microsoft.Data.Sqlite's own retry on SQLITE_BUSY.
            SQLitePCL.raw.sqlite3_busy_timeout(connection.Handle, 30_000);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Migrate(IReadOnlyList<string> migrations)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, "PRAGMA journal_mode=WAL;");
        Execute(connection, "PRAGMA synchronous=FULL;");
        Execute(connection, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);");

        using (var query = connection.CreateCommand())
        {
            query.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;";
            SchemaVersion = Convert.ToInt32(query.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (SchemaVersion > migrations.Count)
        {
            throw new Hosting.StartupException(
                $"The database {Path} has schema version {SchemaVersion}, newer than this build knows ({migrations.Count}). Run a newer Nimbus or point --data at another directory.");
        }

        for (var version = SchemaVersion + 1; version <= migrations.Count; version++)
        {
            using var transaction = connection.BeginTransaction();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = migrations[version - 1];
                command.ExecuteNonQuery();
            }

            using (var record = connection.CreateCommand())
            {
                record.Transaction = transaction;
                record.CommandText = "INSERT INTO schema_migrations (version, applied_at) VALUES ($v, $t);";
                record.Parameters.AddWithValue("$v", version);
                record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                record.ExecuteNonQuery();
            }

            transaction.Commit();
            SchemaVersion = version;
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
