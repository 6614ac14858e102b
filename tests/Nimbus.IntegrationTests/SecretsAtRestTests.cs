using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Nimbus.IntegrationTests;

/// <summary>
/// Environment variables are encrypted at rest in metadata.db (AES-256-GCM under secrets.key): never in clear in the
/// file or its WAL, still what Get* answers and what the function sees, across restarts and the upgrade of rows
/// written in clear by older builds; a missing or different key stops the start with what to do.
/// </summary>
public sealed class SecretsAtRestTests
{
    private const string Runtime = "python3.12";

    private const string Source = """
        import os


        def handler(event, context):
            return {"secret": os.environ.get("SECRET_VALUE")}
        """;

    [Fact]
    public async Task Environment_variables_are_sealed_in_metadata_db_survive_restarts_and_need_their_key()
    {
        using var data = new TempDirectory("nimbus-it-secrets");
        var secret = "nimbus-env-" + Guid.NewGuid().ToString("N");
        var legacySecret = "nimbus-legacy-" + Guid.NewGuid().ToString("N");
        const string name = "sealed-env";
        const string legacy = "legacy-env";

        var server = await NimbusServer.StartAsync(data.Path);
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var lambda = new LambdaHttp(server.Http);
                    var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.FromSource("lambda_function.py", Source), Runtime, "lambda_function.handler");
                    request["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["SECRET_VALUE"] = secret } };
                    var created = await lambda.CreateFunctionAsync(request);
                    Assert.True(created.StatusCode == 201, created.ToString());
                    Assert.Equal(secret, created.Json().GetProperty("Environment").GetProperty("Variables").GetProperty("SECRET_VALUE").GetString());
                    await AssertServesAsync(server, name, secret);
                },
                () => server.DescribeOutput());
        }

        AssertNotInClear(data.Path, secret);

        // A row as builds before the encryption wrote it: the variables in clear inside the JSON record.
        await WriteLegacyRowAsync(data.Path, name, legacy, legacySecret);
        var restarted = await NimbusServer.StartAsync(data.Path);
        await using (restarted)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    await AssertServesAsync(restarted, name, secret);
                    await AssertServesAsync(restarted, legacy, legacySecret);
                },
                () => restarted.DescribeOutput());
        }

        AssertNotInClear(data.Path, secret);
        AssertNotInClear(data.Path, legacySecret);

        var keyPath = Path.Combine(data.Path, "secrets.key");
        var key = await File.ReadAllBytesAsync(keyPath);

        // A different key: the start stops and says which file to restore.
        await File.WriteAllTextAsync(keyPath, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) + "\n");
        var wrong = await NimbusServer.RunUntilExitAsync(data.Path);
        ShutdownTests.AssertFailedStart(wrong, 1, "cannot be decrypted", "is not the key they were encrypted with", "put the original secrets.key");

        // No key at all: the same, and the key made in its place is not left behind to be mistaken for the original.
        File.Delete(keyPath);
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => NimbusServer.StartAsync(data.Path));
        Assert.Contains("was missing", missing.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(keyPath), "The key generated in place of the missing one should be removed again.");

        // The original key back: everything as before.
        await File.WriteAllBytesAsync(keyPath, key);
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var restored = await NimbusServer.StartAsync(data.Path);
        await using (restored)
        {
            await Failures.WithContextAsync(() => AssertServesAsync(restored, name, secret), () => restored.DescribeOutput());
        }
    }

    [Fact]
    public async Task Rotating_the_key_reseals_every_secret_is_refused_beside_a_server_and_survives_a_crash_midway()
    {
        using var data = new TempDirectory("nimbus-it-rotate");
        var secret = "nimbus-rotate-" + Guid.NewGuid().ToString("N");
        const string name = "rotated-env";
        var keyPath = Path.Combine(data.Path, "secrets.key");
        var nextPath = keyPath + ".next";
        TestUser? created2 = null;
        (string AccessKeyId, string Secret, string Token) session = default;

        var server = await NimbusServer.StartAsync(data.Path);
        await using (server)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    var lambda = new LambdaHttp(server.Http);
                    var request = LambdaHttp.CreateFunctionRequest(name, FunctionZips.FromSource("lambda_function.py", Source), Runtime, "lambda_function.handler");
                    request["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["SECRET_VALUE"] = secret } };
                    var created = await lambda.CreateFunctionAsync(request);
                    Assert.True(created.StatusCode == 201, created.ToString());
                    created2 = await AuthClients.CreateUserAsync(server, """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}]}""");
                    session = await IssueSessionAsync(server);
                    await AssertSessionSignsAsync(server, name, session, expected: 200);

                    // Beside a running server the rotation refuses to start, and changes nothing.
                    var refused = await RotateAsync(data.Path);
                    Assert.True(refused.ExitCode == 1 && refused.Output.Contains("A Nimbus server is running", StringComparison.Ordinal), refused.Output);
                    Assert.False(File.Exists(nextPath));
                },
                () => server.DescribeOutput());
        }

        var user = created2!;
        var original = await File.ReadAllTextAsync(keyPath);

        // A rotation stopped (as by kill -9) after metadata.db was re-sealed, before iam.db was: the server still reads both.
        var crashed = await RotateAsync(data.Path, stopAfter: "metadata");
        Assert.True(crashed.ExitCode != 0 && File.Exists(nextPath), crashed.Output);
        Assert.Equal(original, await File.ReadAllTextAsync(keyPath));
        var midway = await NimbusServer.StartAsync(data.Path);
        await using (midway)
        {
            await Failures.WithContextAsync(() => AssertServesWithUserAsync(midway, name, secret, user), () => midway.DescribeOutput());
            Assert.Contains("rotation of", midway.DescribeOutput(), StringComparison.Ordinal);
        }

        // Run again, it finishes with the same new key; the old key is gone and the server reads everything.
        var finished = await RotateAsync(data.Path);
        Assert.True(finished.ExitCode == 0 && finished.Output.Contains("Finished the interrupted rotation", StringComparison.Ordinal)
            && finished.Output.Contains("re-sealed 1 function environment(s) and 1 access key secret(s)", StringComparison.Ordinal), finished.Output);
        Assert.False(File.Exists(nextPath));
        Assert.NotEqual(original, await File.ReadAllTextAsync(keyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyPath));
        AssertNotInClear(data.Path, secret);
        Assert.Contains("keep working until they expire", finished.Output, StringComparison.Ordinal);
        var retiredPath = Path.Combine(data.Path, "secrets.key.retired");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(retiredPath));
        var rotated = await NimbusServer.StartAsync(data.Path);
        await using (rotated)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    await AssertServesWithUserAsync(rotated, name, secret, user);

                    // Session credentials issued under the old key (sealed with it, never stored) still sign after the rotation.
                    await AssertSessionSignsAsync(rotated, name, session, expected: 200);
                },
                () => rotated.DescribeOutput());
        }

        // A rotation for a leaked key ends them at once: no old key is kept.
        var revoked = await RotateAsync(data.Path, extraArguments: "--revoke-sessions");
        Assert.True(revoked.ExitCode == 0 && revoked.Output.Contains("no longer work", StringComparison.Ordinal), revoked.Output);
        Assert.False(File.Exists(retiredPath));
        var afterRevoke = await NimbusServer.StartAsync(data.Path);
        await using (afterRevoke)
        {
            await Failures.WithContextAsync(
                async () =>
                {
                    await AssertServesWithUserAsync(afterRevoke, name, secret, user);
                    await AssertSessionSignsAsync(afterRevoke, name, session, expected: 403);
                },
                () => afterRevoke.DescribeOutput());
        }

        // The old key opens nothing any more.
        await File.WriteAllTextAsync(keyPath, original);
        var stale = await Assert.ThrowsAsync<InvalidOperationException>(() => NimbusServer.StartAsync(data.Path));
        Assert.Contains("cannot be decrypted", stale.Message, StringComparison.Ordinal);
    }

    /// <summary>Temporary credentials (a role session, as Cognito credentials are) of a role allowed lambda:GetFunction.</summary>
    private static async Task<(string AccessKeyId, string Secret, string Token)> IssueSessionAsync(NimbusServer server)
    {
        await AuthClients.PutRolePolicyAsync(server, "rotated-session", "get",
            """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}]}""");
        using var issued = await server.Http.PostAsync("/nimbus/admin/roles/rotated-session/cognito-credentials", new StringContent(
            """{"IdentityId":"us-east-1:11111111-2222-3333-4444-555555555555","IdentityPoolId":"us-east-1:66666666-7777-8888-9999-000000000000"}""",
            Encoding.UTF8, "application/json"));
        var text = await issued.Content.ReadAsStringAsync();
        Assert.True((int)issued.StatusCode == 200, $"cognito credentials: {(int)issued.StatusCode} {text}");
        var credentials = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("Credentials");
        return (credentials.GetProperty("AccessKeyId").GetString()!, credentials.GetProperty("SecretKey").GetString()!, credentials.GetProperty("SessionToken").GetString()!);
    }

    private static async Task AssertSessionSignsAsync(NimbusServer server, string name, (string AccessKeyId, string Secret, string Token) session, int expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.EndpointUri, $"/2015-03-31/functions/{name}"));
        SigV4SigningHandler.Sign(request, [], "lambda", session.AccessKeyId, session.Secret, Aws.Region, DateTime.UtcNow, session.Token);
        var answer = await AuthClients.SendAsync(server.UnsignedHttp, request);
        Assert.True(answer.StatusCode == expected, $"The session should {(expected == 200 ? "" : "no longer ")}sign: {answer}");
    }

    /// <summary>The function's variables read back and reach it; the user's key (sealed in iam.db) still signs.</summary>
    private static async Task AssertServesWithUserAsync(NimbusServer server, string name, string secret, TestUser user)
    {
        await AssertServesAsync(server, name, secret);
        var signed = await AuthClients.SendSignedAsync(server, HttpMethod.Get, $"/2015-03-31/functions/{name}", null, "lambda", user.AccessKeyId, user.SecretAccessKey, DateTime.UtcNow);
        Assert.True(signed.StatusCode == 200, $"The user's key should still sign: {signed}");
    }

    /// <summary>Runs <c>nimbus secrets rotate-key --data</c>; the exit code and everything it printed.</summary>
    private static async Task<(int ExitCode, string Output)> RotateAsync(string dataDirectory, string? stopAfter = null, string? extraArguments = null)
    {
        var launcher = NimbusServer.FindLauncher();
        var start = new System.Diagnostics.ProcessStartInfo(launcher);
        foreach (var argument in new[] { "secrets", "rotate-key", "--data", dataDirectory })
        {
            start.ArgumentList.Add(argument);
        }

        if (extraArguments is not null)
        {
            start.ArgumentList.Add(extraArguments);
        }

        if (stopAfter is not null)
        {
            start.Environment["NIMBUS_ROTATE_KEY_STOP_AFTER"] = stopAfter;
            start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        }

        var outcome = await BoundedProcess.RunAsync(start, TimeSpan.FromMinutes(5));
        Assert.False(outcome.TimedOut, $"The command did not finish within 5 minutes: {outcome.Stdout}{outcome.Stderr}");
        return (outcome.ExitCode, outcome.Stdout + outcome.Stderr);
    }

    private static async Task AssertServesAsync(NimbusServer server, string name, string secret)
    {
        var lambda = new LambdaHttp(server.Http);
        var configuration = await lambda.GetFunctionAsync(name);
        Assert.True(configuration.StatusCode == 200, configuration.ToString());
        Assert.Equal(secret, configuration.Json().GetProperty("Configuration").GetProperty("Environment").GetProperty("Variables").GetProperty("SECRET_VALUE").GetString());
        var invoked = await lambda.InvokeAsync(name, "{}");
        Assert.True(invoked.StatusCode == 200 && invoked.Header("X-Amz-Function-Error") is null, invoked.ToString());
        Assert.Equal(secret, invoked.Json().GetProperty("secret").GetString());
    }

    private static void AssertNotInClear(string dataDirectory, string secret)
    {
        var files = Directory.EnumerateFiles(dataDirectory, "metadata.db*").ToList();
        Assert.Contains(files, f => f.EndsWith("metadata.db", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = Encoding.Latin1.GetString(File.ReadAllBytes(file));
            Assert.False(bytes.Contains(secret, StringComparison.Ordinal), $"{file} holds the environment value {secret} in clear.");
        }
    }

    /// <summary>Copies <paramref name="from"/>'s $LATEST row as <paramref name="name"/>, with its variables in the JSON record.</summary>
    private static async Task WriteLegacyRowAsync(string dataDirectory, string from, string name, string secret)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDirectory, "metadata.db"), Pooling = false }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT revision_id, code_size, record FROM functions WHERE name = $name AND version = '$LATEST';";
        command.Parameters.AddWithValue("$name", from);
        string revision, json;
        long size;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync(), $"metadata.db should hold function {from}.");
            (revision, size, json) = (reader.GetString(0), reader.GetInt64(1), reader.GetString(2));
        }

        var record = JsonNode.Parse(json)!.AsObject();
        record["Name"] = name;
        record["Environment"] = new JsonObject { ["SECRET_VALUE"] = secret };
        command.Parameters.Clear();
        command.CommandText = "INSERT INTO functions (name, version, revision_id, code_size, record, environment) VALUES ($name, '$LATEST', $revision, $size, $record, NULL);";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$revision", revision);
        command.Parameters.AddWithValue("$size", size);
        command.Parameters.AddWithValue("$record", record.ToJsonString());
        await command.ExecuteNonQueryAsync();
    }
}
