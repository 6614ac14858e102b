namespace Nimbus.Security;

/// <summary>
/// The root access key: from NIMBUS_ROOT_ACCESS_KEY_ID / NIMBUS_ROOT_SECRET_ACCESS_KEY, else from
/// <c>&lt;data&gt;/root-credentials</c>, else generated at first start, written there (0600, in the AWS shared
/// credentials file format so <c>AWS_SHARED_CREDENTIALS_FILE</c> can point at it) and printed once.
/// </summary>
internal sealed record RootCredentials(string AccessKeyId, string SecretAccessKey, string Source, bool Generated)
{
    public static RootCredentials Resolve(SecurityOptions options, string dataDirectory, bool create = true)
    {
        if (!string.IsNullOrEmpty(options.RootAccessKeyId) && !string.IsNullOrEmpty(options.RootSecretAccessKey))
        {
            return new RootCredentials(options.RootAccessKeyId, options.RootSecretAccessKey, "NIMBUS_ROOT_ACCESS_KEY_ID", Generated: false);
        }

        var path = Path.Combine(dataDirectory, IdentityStore.RootCredentialsFile);
        if (File.Exists(path))
        {
            var values = File.ReadAllLines(path)
                .Select(line => line.Split('=', 2, StringSplitOptions.TrimEntries))
                .Where(parts => parts.Length == 2)
                .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
            if (values.TryGetValue("aws_access_key_id", out var id) && values.TryGetValue("aws_secret_access_key", out var secret))
            {
                return new RootCredentials(id, secret, path, Generated: false);
            }

            throw new Hosting.StartupException($"{path} lacks aws_access_key_id or aws_secret_access_key; fix it or delete it to generate a new root key.");
        }

        if (!create)
        {
            throw new Hosting.StartupException($"{path} does not exist: start the server on that data directory first, or set NIMBUS_ROOT_ACCESS_KEY_ID and NIMBUS_ROOT_SECRET_ACCESS_KEY.");
        }

        var generated = new RootCredentials(SigV4.NewAccessKeyId("AKIA"), SigV4.NewSecretAccessKey(), path, Generated: true);
        PrivateFile.WriteAtomically(path, $"""
            [default]
            aws_access_key_id = {generated.AccessKeyId}
            aws_secret_access_key = {generated.SecretAccessKey}

            """);
        return generated;
    }
}
