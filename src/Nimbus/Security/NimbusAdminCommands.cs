namespace Nimbus.Security;

/// <summary>Entry point of the <c>nimbus user|key|policy</c> commands for the server executable.</summary>
public static class NimbusAdminCommands
{
    /// <summary>True when <paramref name="command"/> is one of the admin commands.</summary>
    public static bool Handles(string command) => AdminCommand.Handles(command);

    /// <summary>Runs an admin command against a running server; returns the process exit code.</summary>
    public static Task<int> RunAsync(string[] args) => AdminCommand.RunAsync(args);
}
