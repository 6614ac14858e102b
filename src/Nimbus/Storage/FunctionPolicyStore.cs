using Microsoft.Data.Sqlite;

namespace Nimbus.Storage;

/// <summary>The stored resource policy of one function and qualifier: its statements (AWS JSON) and revision.</summary>
internal sealed record StoredFunctionPolicy(IReadOnlyList<string> Statements, string RevisionId);

/// <summary>Outcome of a policy write.</summary>
internal enum FunctionPolicyWrite
{
    Done,
    DuplicateStatementId,
    StatementNotFound,
    RevisionMismatch,
}

/// <summary>Resource-based function policies in metadata.db (tables function_policies and function_policy_revisions).</summary>
internal sealed class FunctionPolicyStore(SqliteDatabase database)
{
    public async Task<StoredFunctionPolicy?> GetAsync(string functionName, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(connection, null, functionName, qualifier, cancellationToken).ConfigureAwait(false);
    }

    public async Task<FunctionPolicyWrite> AddAsync(string functionName, string qualifier, string statementId, string statement, string? expectedRevision, string newRevision, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken).ConfigureAwait(false);
        var current = await ReadAsync(connection, transaction, functionName, qualifier, cancellationToken).ConfigureAwait(false);
        if (expectedRevision is not null && current?.RevisionId != expectedRevision)
        {
            return FunctionPolicyWrite.RevisionMismatch;
        }

        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT INTO function_policies (function_name, qualifier, statement_id, statement) VALUES ($f, $q, $s, $j)
                ON CONFLICT DO NOTHING;
                """;
            insert.Parameters.AddWithValue("$f", functionName);
            insert.Parameters.AddWithValue("$q", qualifier);
            insert.Parameters.AddWithValue("$s", statementId);
            insert.Parameters.AddWithValue("$j", statement);
            if (await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return FunctionPolicyWrite.DuplicateStatementId;
            }
        }

        await SetRevisionAsync(connection, transaction, functionName, qualifier, newRevision, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return FunctionPolicyWrite.Done;
    }

    public async Task<FunctionPolicyWrite> RemoveAsync(string functionName, string qualifier, string statementId, string? expectedRevision, string newRevision, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(System.Data.IsolationLevel.Serializable, cancellationToken).ConfigureAwait(false);
        var current = await ReadAsync(connection, transaction, functionName, qualifier, cancellationToken).ConfigureAwait(false);
        if (expectedRevision is not null && current?.RevisionId != expectedRevision)
        {
            return FunctionPolicyWrite.RevisionMismatch;
        }

        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = "DELETE FROM function_policies WHERE function_name = $f AND qualifier = $q AND statement_id = $s;";
            delete.Parameters.AddWithValue("$f", functionName);
            delete.Parameters.AddWithValue("$q", qualifier);
            delete.Parameters.AddWithValue("$s", statementId);
            if (await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return FunctionPolicyWrite.StatementNotFound;
            }
        }

        await SetRevisionAsync(connection, transaction, functionName, qualifier, newRevision, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return FunctionPolicyWrite.Done;
    }

    /// <summary>Drops every policy of a deleted function.</summary>
    public async Task DeleteFunctionAsync(string functionName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            DELETE FROM function_policies WHERE function_name = $f;
            DELETE FROM function_policy_revisions WHERE function_name = $f;
            """;
        command.Parameters.AddWithValue("$f", functionName);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task SetRevisionAsync(SqliteConnection connection, SqliteTransaction transaction, string functionName, string qualifier, string revision, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO function_policy_revisions (function_name, qualifier, revision_id) VALUES ($f, $q, $r)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET revision_id = excluded.revision_id;
            """;
        command.Parameters.AddWithValue("$f", functionName);
        command.Parameters.AddWithValue("$q", qualifier);
        command.Parameters.AddWithValue("$r", revision);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<StoredFunctionPolicy?> ReadAsync(SqliteConnection connection, SqliteTransaction? transaction, string functionName, string qualifier, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT statement FROM function_policies WHERE function_name = $f AND qualifier = $q ORDER BY rowid;
            SELECT revision_id FROM function_policy_revisions WHERE function_name = $f AND qualifier = $q;
            """;
        command.Parameters.AddWithValue("$f", functionName);
        command.Parameters.AddWithValue("$q", qualifier);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var statements = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            statements.Add(reader.GetString(0));
        }

        await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
        var revision = await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? reader.GetString(0) : null;
        return statements.Count == 0 || revision is null ? null : new StoredFunctionPolicy(statements, revision);
    }
}
