namespace Nimbus.Invocation;

/// <summary>
/// The figures of an invocation whose observers are told after its caller's answer: <see cref="Record"/> without its
/// Max Memory Used, which <see cref="MaxMemory"/> reads then (the same figure as the invocation's REPORT line).
/// </summary>
internal readonly record struct UnreportedInvocation(InvocationRecord Record, Sandboxes.MaxMemorySample MaxMemory);
