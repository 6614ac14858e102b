using System.Runtime.CompilerServices;

namespace Nimbus.Http;

/// <summary>
/// Moves work off a thread that must not block: the socket engine's thread (<c>.NET Sockets</c>, a dedicated thread, not
/// one of the thread pool's), which runs the inline-served requests (<see cref="InlineInvokes"/>) and serves every socket
/// of the node, so one blocking call there (a SQLite statement, a file write, a process start) stalls every connection.
/// <c>await SocketThread.Leave();</c> continues on the thread pool when it runs on any thread that is not the pool's, and
/// is free (it completes at once) on a pool thread.
/// </summary>
internal static class SocketThread
{
    public static Hop Leave() => default;

    /// <summary>The awaitable of <see cref="Leave"/>.</summary>
    internal readonly struct Hop : ICriticalNotifyCompletion
    {
        private static readonly Action<Action> Run = static continuation => continuation();

        public bool IsCompleted => Thread.CurrentThread.IsThreadPoolThread;

        public Hop GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(Run, continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(Run, continuation, preferLocal: false);
    }
}
