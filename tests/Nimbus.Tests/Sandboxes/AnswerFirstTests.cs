using Nimbus.Sandboxes;

namespace Nimbus.Tests.Sandboxes;

public sealed class AnswerFirstTests
{
    private static PendingInvocation NewInvocation() => new()
    {
        RequestId = Guid.NewGuid().ToString(),
        Payload = "{}"u8.ToArray(),
        InvokedFunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:f",
        TraceId = "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
    };

    [Fact]
    public void A_hand_over_made_while_a_runtime_answers_runs_after_the_answering_callers_continuation()
    {
        var invocation = NewInvocation();
        List<string> order = [];

        // The caller's continuation, inline as the invoker's is: it releases its instance to a waiting caller, then answers.
        invocation.Reply.ContinueWith(_ =>
        {
            AnswerFirst.RunAfterAnswer(_ => order.Add("next caller's invocation starts"), null);
            order.Add("first caller answered");
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        Assert.True(AnswerFirst.Answer(invocation, new RuntimeReply(false, "{}"u8.ToArray(), null)));

        Assert.Equal(["first caller answered", "next caller's invocation starts"], order);
    }

    [Fact]
    public void Outside_a_runtimes_answer_a_hand_over_runs_at_once()
    {
        List<string> order = [];

        AnswerFirst.RunAfterAnswer(_ => order.Add("handed over"), null);
        order.Add("after");

        Assert.Equal(["handed over", "after"], order);
    }

    [Fact]
    public async Task Only_the_first_answer_counts_and_nothing_is_held_past_it()
    {
        var invocation = NewInvocation();
        var ran = 0;
        var continuation = invocation.Reply.ContinueWith(_ => AnswerFirst.RunAfterAnswer(_ => ran++, null), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        Assert.True(AnswerFirst.Answer(invocation, new RuntimeReply(false, [], null)));
        Assert.False(AnswerFirst.Answer(invocation, new RuntimeReply(true, [], "Late")));

        await continuation;
        Assert.Equal(1, ran);
        Assert.False((await invocation.Reply).IsError);
    }
    [Fact]
    public void Work_held_by_an_answer_may_answer_another_invocation_on_the_same_thread()
    {
        // A handed caller's continuation runs on inline and a second runtime's answer completes on this thread while the
        // first answer's held work runs: the second answer's own hand-over runs too, and nothing runs twice or fails.
        var first = NewInvocation();
        var second = NewInvocation();
        List<string> order = [];

        second.Reply.ContinueWith(_ =>
        {
            AnswerFirst.RunAfterAnswer(_ => order.Add("second's hand-over"), null);
            order.Add("second answered");
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        first.Reply.ContinueWith(_ =>
        {
            AnswerFirst.RunAfterAnswer(_ =>
            {
                order.Add("first's hand-over");
                Assert.True(AnswerFirst.Answer(second, new RuntimeReply(false, [], null)));
            }, null);
            AnswerFirst.RunAfterAnswer(_ => order.Add("first's second hand-over"), null);
            order.Add("first answered");
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        Assert.True(AnswerFirst.Answer(first, new RuntimeReply(false, [], null)));

        Assert.Equal(["first answered", "first's hand-over", "second answered", "second's hand-over", "first's second hand-over"], order);

        // And the thread is left clean: the next answer's hand-over runs once, after its answer.
        var third = NewInvocation();
        var ran = 0;
        third.Reply.ContinueWith(_ => AnswerFirst.RunAfterAnswer(_ => ran++, null), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Assert.True(AnswerFirst.Answer(third, new RuntimeReply(false, [], null)));
        Assert.Equal(1, ran);
    }
}
