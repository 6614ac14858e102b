using Microsoft.Data.Sqlite;

namespace Nimbus.Storage;

/// <summary>
/// A background writer's own connection (outside the pool, <see cref="SqliteDatabase.OpenWriter"/>) and the statements
/// it prepared on it, kept for the writer's lifetime and disposed together, statements first. The setup the log and
/// metering writers share; owned by one writer loop, not thread-safe. A writer whose batch failed disposes it and
/// opens a fresh one for the next batch.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly List<PreparedStatement> _statements = [];

    public SqliteWriter(SqliteDatabase database, string synchronous)
    {
        Connection = database.OpenWriter(synchronous);
    }

    public SqliteConnection Connection { get; }

    /// <summary>Prepares <paramref name="sql"/> once; its parameters are bound by number (<c>?1</c>, <c>?2</c>, ...).</summary>
    public PreparedStatement Prepare(string sql)
    {
        try
        {
            var statement = new PreparedStatement(Connection, sql);
            _statements.Add(statement);
            return statement;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var statement in _statements)
        {
            statement.Dispose();
        }

        _statements.Clear();
        Connection.Dispose();
    }
}
