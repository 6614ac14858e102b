using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Nimbus.Http;

namespace Nimbus.Tests.Http;

/// <summary>
/// The AWS API listener inline-served (<c>NIMBUS_AWS_API_INLINE_SCHEDULING</c>): a request arrives on the socket engine's
/// thread, a dedicated thread that is not the pool's. These run the dispatch and the gated pipes on such a thread and
/// check where the handler's code runs: only a small synchronous Invoke stays there.
/// </summary>
public sealed class InlineInvokesTests
{
    [Theory]
    [InlineData("POST", "/2015-03-31/functions", 2_000L, null)]                               // CreateFunction
    [InlineData("PUT", "/2015-03-31/functions/f/code", 2_000L, null)]                        // UpdateFunctionCode
    [InlineData("PUT", "/bucket/key", 2_000L, null)]                                         // S3 PutObject
    [InlineData("POST", "/2015-03-31/functions/f/invocations", 2_000L, "Event")]              // stored durably first
    [InlineData("POST", "/2015-03-31/functions/f/invocations", 1_000_000L, null)]            // a large event
    [InlineData("POST", "/2015-03-31/functions/f/invocations", null, null)]                 // chunked: length unknown
    [InlineData("POST", "/2021-11-15/functions/f/response-streaming-invocations", 2_000L, null)]
    public void Requests_other_than_a_small_synchronous_invoke_run_on_the_thread_pool(string method, string path, long? length, string? invocationType)
    {
        var (ranOnPool, inlineWhileRunning, inlineAfter) = DispatchOnDedicatedThread(Request(method, path, length, invocationType));

        Assert.True(ranOnPool);
        Assert.False(inlineWhileRunning);
        Assert.True(inlineAfter);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("RequestResponse")]
    public void A_small_synchronous_invoke_runs_on_the_thread_it_arrived_on(string? invocationType)
    {
        var (ranOnPool, inlineWhileRunning, inlineAfter) = DispatchOnDedicatedThread(
            Request("POST", "/2015-03-31/functions/my-function/invocations", 120L, invocationType));

        Assert.False(ranOnPool);
        Assert.True(inlineWhileRunning);
        Assert.True(inlineAfter);
    }

    [Fact]
    public async Task With_the_gate_closed_a_read_completed_on_a_dedicated_thread_resumes_on_the_thread_pool()
    {
        Assert.True(await ReaderResumedOnPoolAsync(inline: false));
    }

    [Fact]
    public async Task With_the_gate_open_a_read_resumes_on_the_thread_that_completed_it()
    {
        Assert.False(await ReaderResumedOnPoolAsync(inline: true));
    }

    [Fact]
    public async Task With_the_gate_closed_a_paused_flush_resumed_on_a_dedicated_thread_continues_on_the_thread_pool()
    {
        // An inline pipe (the transport's, inline-scheduled) paused past its threshold: the reader that makes room
        // resumes the writer on its own thread.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 10, resumeWriterThreshold: 5,
            readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var writer = new InlineInvokes.GatedWriter(pipe.Writer, new InlineInvokes.Gate { Inline = false });
        var flush = writer.WriteAsync(new byte[64]);
        Assert.False(flush.IsCompleted);
        var resumed = ResumedOnPool(flush);

        var engine = new Thread(() =>
        {
            // The socket engine's stand-in: it takes the bytes (a send made room), which resumes the paused writer.
            Assert.True(pipe.Reader.TryRead(out var result));
            pipe.Reader.AdvanceTo(result.Buffer.End);
        });
        engine.Name = SocketThread.EngineThreadName;
        engine.Start();
        engine.Join();

        Assert.True(await resumed);
    }

    // Where the code after the await of pending runs: registered now, on no scheduling context (as Kestrel's awaits).
    private static Task<bool> ResumedOnPool<T>(ValueTask<T> pending)
    {
        var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var awaiter = pending.ConfigureAwait(false).GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            var onPool = Thread.CurrentThread.IsThreadPoolThread;
            awaiter.GetResult();
            resumed.SetResult(onPool);
        });
        return resumed.Task;
    }

    private static async Task<bool> ReaderResumedOnPoolAsync(bool inline)
    {
        var pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));
        var reader = new InlineInvokes.GatedReader(pipe.Reader, new InlineInvokes.Gate { Inline = inline });
        var read = reader.ReadAsync();
        Assert.False(read.IsCompleted);
        var resumed = ResumedOnPool(read);

        // The socket engine's stand-in: a dedicated thread writes the bytes that complete the read.
        var engine = new Thread(() => pipe.Writer.WriteAsync(new byte[] { 1, 2, 3 }).AsTask().GetAwaiter().GetResult());
        engine.Name = SocketThread.EngineThreadName;
        engine.Start();
        engine.Join();
        return await resumed;
    }

    [Fact]
    public void Leaving_is_free_on_a_dedicated_thread_of_the_node_that_is_not_the_socket_engine()
    {
        // The log and metering writers open SQLite on threads of their own: they keep them.
        var completedAtOnce = false;
        var writer = new Thread(() => completedAtOnce = SocketThread.Leave().GetAwaiter().IsCompleted) { Name = "nimbus-log-writer" };
        writer.Start();
        writer.Join();

        Assert.True(completedAtOnce);
    }

    private static DefaultHttpContext Request(string method, string path, long? length, string? invocationType)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.ContentLength = length;
        if (invocationType is not null)
        {
            context.Request.Headers[LambdaApi.InvocationTypeHeader] = invocationType;
        }

        context.Features.Set(new InlineInvokes.Gate());
        return context;
    }

    // Runs the dispatch on a dedicated thread (as the socket engine's) and reports where the handler ran.
    private static (bool RanOnPool, bool InlineWhileRunning, bool InlineAfter) DispatchOnDedicatedThread(HttpContext context)
    {
        var gate = context.Features.Get<InlineInvokes.Gate>()!;
        var ranOnPool = false;
        var inlineWhileRunning = false;
        Task? dispatched = null;
        var engine = new Thread(() => dispatched = InlineInvokes.DispatchAsync(context, _ =>
        {
            ranOnPool = Thread.CurrentThread.IsThreadPoolThread;
            inlineWhileRunning = gate.Inline;
            return Task.CompletedTask;
        }));
        engine.Name = SocketThread.EngineThreadName;
        engine.Start();
        engine.Join();
        dispatched!.GetAwaiter().GetResult();
        return (ranOnPool, inlineWhileRunning, gate.Inline);
    }
}
