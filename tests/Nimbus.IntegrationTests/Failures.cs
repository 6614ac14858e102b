using Xunit.Sdk;

namespace Nimbus.IntegrationTests;

/// <summary>Adds what the server printed to a failing test's message.</summary>
internal static class Failures
{
    public static async Task WithContextAsync(Func<Task> test, Func<string> context)
    {
        try
        {
            await test();
        }
        catch (Exception ex)
        {
            throw new XunitException($"{ex.Message}{Environment.NewLine}{Environment.NewLine}{context()}", ex);
        }
    }
}
