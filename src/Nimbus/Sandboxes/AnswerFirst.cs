namespace Nimbus.Sandboxes;

/// <summary>
/// A runtime's answer completes its invocation on the thread that read it, and that caller's whole continuation runs
/// there (END and REPORT, the instance's release, the caller's response and its send). A release that hands the instance
/// to a waiting caller would start that caller's invocation (its START line, the event to the runtime, its timeout) in
/// the middle of it, before the first caller's answer went out. <see cref="Answer"/> holds such work until the answering
/// caller's continuation has returned, then runs it on the same thread: the answer first, still without a thread hop.
/// </summary>
/// <remarks>
/// Thread-static: only work started by continuations that run inline within <see cref="Answer"/> is held. A continuation
/// that awaited something (a full log channel, a slow caller's socket) releases on another thread, where the work runs
/// at once, as it would without this.
/// </remarks>
internal static class AnswerFirst
{
    [ThreadStatic]
    private static List<(Action<object?> Run, object? State)>? _held;

    [ThreadStatic]
    private static bool _answering;

    /// <summary>Completes <paramref name="invocation"/> with <paramref name="reply"/>, then runs the work its continuation held.</summary>
    public static bool Answer(PendingInvocation invocation, RuntimeReply reply)
    {
        if (_answering)
        {
            // Nested (an answer's continuation answering another): the outer call runs what both held.
            return invocation.TryAnswer(reply);
        }

        _answering = true;
        bool answered;
        try
        {
            answered = invocation.TryAnswer(reply);
        }
        finally
        {
            _answering = false;
        }

        if (_held is { Count: > 0 } held)
        {
            // The list is taken before its work runs: that work may answer another invocation on this thread (a handed
            // caller's continuation running on, inline), and that nested answer holds into, and runs, a list of its own.
            _held = null;
            foreach (var (run, state) in held)
            {
                run(state);
            }

            held.Clear();
            _held ??= held;
        }

        return answered;
    }

    /// <summary>
    /// Runs <paramref name="run"/> now, or, on a thread inside <see cref="Answer"/>, once the answering caller's
    /// continuation has returned.
    /// </summary>
    public static void RunAfterAnswer(Action<object?> run, object? state)
    {
        if (_answering)
        {
            (_held ??= []).Add((run, state));
            return;
        }

        run(state);
    }
}
