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
}
