using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Nimbus.Storage;

/// <summary>
/// Append-only store of function logs (logs.db). Writers enqueue into a bounded channel and never touch SQLite
/// on the invoke path; one background writer commits batches. A full channel makes writers wait, which slows a
/// chatty function's output pipe instead of dropping its lines.
/// </summary>
internal sealed partial class LogStore(SqliteDatabase database, TimeProvider time, ILogger<LogStore> logger) : BackgroundService
{
    private const int BatchSize = 512;

    /// <summary>
    /// How long the writer lets lines gather before it commits a batch that is not full. Every invocation logs at
    /// least START, END and REPORT; committing as they came meant a transaction (and a WAL sync) per invocation
    /// or two under load, the writer competing with the invoke path for the CPU. Lines reach logs.db at most this
    /// much later; shutdown still commits everything queued.
    /// </summary>
    internal static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(20);

    private readonly Channel<LogEvent> _pending = Channel.CreateBounded<LogEvent>(new BoundedChannelOptions(65_536)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    public ValueTask AppendAsync(LogEvent logEvent, CancellationToken cancellationToken = default) =>
        _pending.Writer.TryWrite(logEvent) ? ValueTask.CompletedTask : _pending.Writer.WriteAsync(logEvent, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LogEvent>(BatchSize);
        var reader = _pending.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                if (reader.Count < BatchSize)
                {
                    await Task.Delay(BatchWindow, time, stoppingToken).ConfigureAwait(false);
                }

                while (batch.Count < BatchSize && reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                await WriteAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: commit what is already queued so no accepted line is lost.
            while (reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            if (batch.Count > 0)
            {
                await WriteAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(List<LogEvent> batch)
    {
        try
        {
            await using var connection = await database.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var transaction = (Microsoft.Data.Sqlite.SqliteTransaction)await connection.BeginTransactionAsync().ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO log_events (log_group, log_stream, timestamp, ingestion_time, message)
                VALUES ($group, $stream, $timestamp, $ingestion, $message);
                """;
            var group = command.Parameters.Add("$group", Microsoft.Data.Sqlite.SqliteType.Text);
            var stream = command.Parameters.Add("$stream", Microsoft.Data.Sqlite.SqliteType.Text);
            var timestamp = command.Parameters.Add("$timestamp", Microsoft.Data.Sqlite.SqliteType.Integer);
            var ingestion = command.Parameters.Add("$ingestion", Microsoft.Data.Sqlite.SqliteType.Integer);
            var message = command.Parameters.Add("$message", Microsoft.Data.Sqlite.SqliteType.Text);
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (var item in batch)
            {
                group.Value = item.LogGroup;
                stream.Value = item.LogStream;
                timestamp.Value = item.TimestampMs;
                ingestion.Value = now;
                message.Value = item.Message;
                await command.ExecuteNonQueryAsync().ConfigureAwait(false);
            }

            await transaction.CommitAsync().ConfigureAwait(false);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            Log.LogBatchFailed(logger, batch.Count, database.Path, e);
        }
    }
}
