namespace Nimbus.Security;

/// <summary>Entry point of the <c>nimbus user|key|policy|cognito|secrets</c> commands for the server executable.</summary>
public static class NimbusAdminCommands
{
    /// <summary>True when <paramref name="command"/> is one of the admin commands.</summary>
    public static bool Handles(string command) => AdminCommand.Handles(command) || SecretsKeyRotation.Handles(command);

    /// <summary>
    /// Runs an admin command: user, key, policy and cognito against a running server, secrets on a stopped server's
    /// data directory; returns the process exit code.
    /// </summary>
    public static Task<int> RunAsync(string[] args) =>
        args.Length > 0 && SecretsKeyRotation.Handles(args[0]) ? Task.FromResult(SecretsKeyRotation.Run(args)) : AdminCommand.RunAsync(args);
}
