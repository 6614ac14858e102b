using System.Runtime.CompilerServices;

namespace Nimbus.Http;

/// <summary>
/// Moves work off a thread that must not block: the socket engine's thread (<c>.NET Sockets</c>, a dedicated thread, not
/// one of the thread pool's), which runs the inline-served requests (<see cref="InlineInvokes"/>) and serves every socket
/// of the node, so one blocking call there (a SQLite statement, a file write, a process start) stalls every connection.
/// <c>await SocketThread.Leave();</c> continues on the thread pool when it runs on that thread, and is free (it completes at
/// once) anywhere else: on the pool, and on this node's own dedicated threads (the log and metering writers), which keep
/// their thread.
/// </summary>
internal static class SocketThread
{
    /// <summary>The name .NET gives the socket engine's threads (System.Net.Sockets' <c>SocketAsyncEngine</c>).</summary>
    internal const string EngineThreadName = ".NET Sockets";

    public static Hop Leave() => default;

    /// <summary>True on a socket engine's thread: code that may block must not run here.</summary>
    public static bool IsEngineThread
    {
        get
        {
            var thread = Thread.CurrentThread;
            return !thread.IsThreadPoolThread && thread.Name == EngineThreadName;
        }
    }

    /// <summary>The awaitable of <see cref="Leave"/>.</summary>
    internal readonly struct Hop : ICriticalNotifyCompletion
    {
        private static readonly Action<Action> Run = static continuation => continuation();

        public bool IsCompleted => !IsEngineThread;

        public Hop GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(Run, continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(Run, continuation, preferLocal: false);
    }
}
