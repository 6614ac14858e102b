using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Nimbus.Storage;

/// <summary>
/// One SQL statement prepared once on a background writer's own connection and re-run per row, its parameters bound
/// by number (?1, ?2, ...). The per-row path of the log and metering writers: Microsoft.Data.Sqlite looks every parameter up by
/// name and builds a data reader on each execution, which cost more CPU than the insert itself. Owned by one writer
/// loop; not thread-safe. Dispose before the connection.
/// </summary>
internal sealed class PreparedStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public PreparedStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(_db, sql, out _statement), _db);
    }

    public void Bind(int index, string value) => Check(raw.sqlite3_bind_text(_statement, index, value));

    /// <summary>Binds <paramref name="value"/> as UTF-8 encoded on the stack (no allocation, unlike <c>Bind(int, string)</c>) when it is short.</summary>
    public void BindUtf8(int index, string value)
    {
        if (value.Length > 256)
        {
            Bind(index, value);
            return;
        }

        Span<byte> utf8 = stackalloc byte[768];
        var length = System.Text.Encoding.UTF8.GetBytes(value, utf8);
        Bind(index, utf8[..length]);
    }

    /// <summary>Binds UTF-8 text (SQLite copies it, so the caller may reuse the buffer at once).</summary>
    public void Bind(int index, ReadOnlySpan<byte> utf8) => Check(raw.sqlite3_bind_text(_statement, index, utf8));

    public void Bind(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

    public void Bind(int index, double value) => Check(raw.sqlite3_bind_double(_statement, index, value));

    public void Bind(int index, long? value) => Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    public void Bind(int index, double? value) => Check(value is { } v ? raw.sqlite3_bind_double(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

    /// <summary>Runs the statement with its current bindings (which stay bound for the next run).</summary>
    public void Run()
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc != raw.SQLITE_DONE && rc != raw.SQLITE_ROW)
        {
            var message = raw.sqlite3_errmsg(_db).utf8_to_string();
            raw.sqlite3_reset(_statement);
            throw new SqliteException($"SQLite Error {rc}: '{message}'.", rc);
        }

        raw.sqlite3_reset(_statement);
    }

    /// <summary>
    /// Runs the statement and reads the first two columns of its one row (an <c>INSERT ... RETURNING</c>, which SQLite runs
    /// to completion on its first step), in <paramref name="first"/> and <paramref name="second"/>.
    /// </summary>
    public void RunReturning(out long first, out long second)
    {
        var rc = raw.sqlite3_step(_statement);
        if (rc != raw.SQLITE_ROW)
        {
            var message = raw.sqlite3_errmsg(_db).utf8_to_string();
            raw.sqlite3_reset(_statement);
            throw new SqliteException($"SQLite Error {rc}: '{message}' (expected one row).", rc);
        }

        first = raw.sqlite3_column_int64(_statement, 0);
        second = raw.sqlite3_column_int64(_statement, 1);
        raw.sqlite3_reset(_statement);
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
