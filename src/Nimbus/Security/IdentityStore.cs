using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Nimbus.Storage;

namespace Nimbus.Security;

/// <summary>A user as the admin API shows it.</summary>
internal sealed record IamUser(string Name, string UserId, string Arn, string CreatedAt, IReadOnlyList<string> AccessKeyIds, IReadOnlyList<string> PolicyNames);

/// <summary>A new access key: the only time its secret leaves the server.</summary>
internal sealed record NewAccessKey(string UserName, string AccessKeyId, string SecretAccessKey);

/// <summary>An admin operation's outcome: done, or an error code (AWS IAM's names) and message.</summary>
internal sealed record IamResult(string? ErrorCode, string? Message, int Status = 200)
{
    public static readonly IamResult Ok = new(null, null);

    public bool Succeeded => ErrorCode is null;

    public static IamResult NotFound(string message) => new("NoSuchEntity", message, 404);

    public static IamResult Conflict(string message) => new("EntityAlreadyExists", message, 409);

    public static IamResult Invalid(string message) => new("ValidationError", message, 400);
}

/// <summary>
/// Who may sign requests: the root key, users with access keys and their identity policies (iam.db), and roles'
/// policies. Lookups on the request path read an in-memory copy; writes go to iam.db (synchronous FULL) first, then
/// to the copy. Secrets are sealed in iam.db with <see cref="SecretBox"/> and are never logged.
/// </summary>
internal sealed partial class IdentityStore : IDisposable
{
    public const string RootCredentialsFile = "root-credentials";
    public const string UserKind = "user";
    public const string RoleKind = "role";

    private readonly SqliteDatabase _database;
    private readonly SecretBox _box;
    private readonly string _accountId;
    private readonly ConcurrentDictionary<string, (Principal Principal, string Secret)> _keys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Kind, string Name), IReadOnlyDictionary<string, (string Json, PolicyDocument Document)>> _policies = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Bumped after every change of a key, user or policy (under _writeLock, after the in-memory copy changed).
    private long _generation;

    public IdentityStore(SqliteDatabase database, SecretBox box, string accountId, Principal root, string rootSecret)
    {
        _database = database;
        _box = box;
        _accountId = accountId;
        Root = root;
        _keys[root.AccessKeyId] = (root, rootSecret);
        Load();
    }

    public Principal Root { get; }

    /// <summary>
    /// Changes whenever a user, an access key or a policy changes, after the change is visible to readers: a decision
    /// computed after reading an unchanged generation may be reused (<see cref="AuthorizationCache"/>).
    /// </summary>
    public long Generation => Volatile.Read(ref _generation);

    public void Dispose() => _writeLock.Dispose();

    [GeneratedRegex("^[A-Za-z0-9+=,.@_-]{1,64}$")]
    public static partial Regex NamePattern();

    public string UserArn(string name) => $"arn:aws:iam::{_accountId}:user/{name}";

    /// <summary>The principal and secret of an access key, or false.</summary>
    public bool TryFind(string accessKeyId, out Principal principal, out string secret)
    {
        if (_keys.TryGetValue(accessKeyId, out var entry))
        {
            (principal, secret) = entry;
            return true;
        }

        principal = null!;
        secret = null!;
        return false;
    }

    /// <summary>The identity policies attached to a user or role.</summary>
    public IEnumerable<PolicyDocument> PoliciesOf(string kind, string name) =>
        _policies.TryGetValue((kind, name), out var policies) ? policies.Values.Select(p => p.Document) : [];

    public async Task<IamResult> CreateUserAsync(string name, CancellationToken cancellationToken)
    {
        if (!NamePattern().IsMatch(name))
        {
            return IamResult.Invalid($"User name '{name}' must be 1-64 characters of letters, digits and +=,.@_-.");
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO users (name, user_id, created_at) VALUES ($n, $id, $t) ON CONFLICT (name) DO NOTHING;";
            command.Parameters.AddWithValue("$n", name);
            command.Parameters.AddWithValue("$id", SigV4.NewAccessKeyId("AIDA"));
            command.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return IamResult.Conflict($"User with name {name} already exists.");
            }

            Changed();
            return IamResult.Ok;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IamResult> DeleteUserAsync(string name, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                DELETE FROM access_keys WHERE user_name = $n;
                DELETE FROM policies WHERE principal_kind = 'user' AND principal_name = $n;
                DELETE FROM users WHERE name = $n;
                SELECT changes();
                """;
            command.Parameters.AddWithValue("$n", name);
            var deleted = Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
            if (deleted == 0)
            {
                return IamResult.NotFound($"The user with name {name} cannot be found.");
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var key in _keys.Where(k => k.Value.Principal.Kind == PrincipalKind.User && k.Value.Principal.Name == name).Select(k => k.Key).ToList())
            {
                _keys.TryRemove(key, out _);
            }

            _policies.TryRemove((UserKind, name), out _);
            Changed();
            return IamResult.Ok;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<(IamResult Result, NewAccessKey? Key)> CreateAccessKeyAsync(string userName, CancellationToken cancellationToken)
    {
        if (!ListUserNames().Contains(userName))
        {
            return (IamResult.NotFound($"The user with name {userName} cannot be found."), null);
        }

        var accessKeyId = SigV4.NewAccessKeyId("AKIA");
        var secret = SigV4.NewSecretAccessKey();
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO access_keys (access_key_id, user_name, secret_sealed, created_at) VALUES ($k, $n, $s, $t);";
            command.Parameters.AddWithValue("$k", accessKeyId);
            command.Parameters.AddWithValue("$n", userName);
            command.Parameters.AddWithValue("$s", _box.Seal(secret, accessKeyId));
            command.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _keys[accessKeyId] = (new Principal(PrincipalKind.User, userName, UserArn(userName), accessKeyId), secret);
            Changed();
            return (IamResult.Ok, new NewAccessKey(userName, accessKeyId, secret));
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IamResult> DeleteAccessKeyAsync(string accessKeyId, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM access_keys WHERE access_key_id = $k;";
            command.Parameters.AddWithValue("$k", accessKeyId);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return IamResult.NotFound($"The Access Key with id {accessKeyId} cannot be found.");
            }

            _keys.TryRemove(accessKeyId, out _);
            Changed();
            return IamResult.Ok;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IamResult> PutPolicyAsync(string kind, string principalName, string policyName, string json, CancellationToken cancellationToken)
    {
        if (!NamePattern().IsMatch(policyName))
        {
            return IamResult.Invalid($"Policy name '{policyName}' must be 1-64 characters of letters, digits and +=,.@_-.");
        }

        if (kind == UserKind && !ListUserNames().Contains(principalName))
        {
            return IamResult.NotFound($"The user with name {principalName} cannot be found.");
        }

        if (kind == RoleKind && !NamePattern().IsMatch(principalName))
        {
            return IamResult.Invalid($"Role name '{principalName}' must be 1-64 characters of letters, digits and +=,.@_-.");
        }

        var document = PolicyDocument.TryParseNew(json, resourcePolicy: false, out var error);
        if (document is null)
        {
            return new IamResult("MalformedPolicyDocument", error, 400);
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO policies (principal_kind, principal_name, policy_name, document) VALUES ($k, $p, $n, $d)
                ON CONFLICT (principal_kind, principal_name, policy_name) DO UPDATE SET document = excluded.document;
                """;
            command.Parameters.AddWithValue("$k", kind);
            command.Parameters.AddWithValue("$p", principalName);
            command.Parameters.AddWithValue("$n", policyName);
            command.Parameters.AddWithValue("$d", json);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            var current = _policies.TryGetValue((kind, principalName), out var existing)
                ? new Dictionary<string, (string, PolicyDocument)>(existing)
                : new Dictionary<string, (string, PolicyDocument)>(StringComparer.Ordinal);
            current[policyName] = (json, document);
            _policies[(kind, principalName)] = current;
            Changed();
            return IamResult.Ok;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<IamResult> DeletePolicyAsync(string kind, string principalName, string policyName, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM policies WHERE principal_kind = $k AND principal_name = $p AND policy_name = $n;";
            command.Parameters.AddWithValue("$k", kind);
            command.Parameters.AddWithValue("$p", principalName);
            command.Parameters.AddWithValue("$n", policyName);
            if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return IamResult.NotFound($"The {kind} policy with name {policyName} cannot be found.");
            }

            if (_policies.TryGetValue((kind, principalName), out var existing))
            {
                var current = new Dictionary<string, (string, PolicyDocument)>(existing);
                current.Remove(policyName);
                _policies[(kind, principalName)] = current;
            }

            Changed();
            return IamResult.Ok;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public string? GetPolicy(string kind, string principalName, string policyName) =>
        _policies.TryGetValue((kind, principalName), out var policies) && policies.TryGetValue(policyName, out var policy) ? policy.Json : null;

    public IReadOnlyList<IamUser> ListUsers()
    {
        using var connection = _database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, user_id, created_at FROM users ORDER BY name;";
        using var reader = command.ExecuteReader();
        var users = new List<IamUser>();
        while (reader.Read())
        {
            var name = reader.GetString(0);
            users.Add(new IamUser(
                name,
                reader.GetString(1),
                UserArn(name),
                reader.GetString(2),
                _keys.Where(k => k.Value.Principal.Kind == PrincipalKind.User && k.Value.Principal.Name == name).Select(k => k.Key).Order(StringComparer.Ordinal).ToList(),
                _policies.TryGetValue((UserKind, name), out var policies) ? policies.Keys.Order(StringComparer.Ordinal).ToList() : []));
        }

        return users;
    }

    private void Changed() => Interlocked.Increment(ref _generation);

    private HashSet<string> ListUserNames() => ListUsers().Select(u => u.Name).ToHashSet(StringComparer.Ordinal);

    private void Load()
    {
        using var connection = _database.OpenAsync(CancellationToken.None).GetAwaiter().GetResult();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT access_key_id, user_name, secret_sealed FROM access_keys;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var accessKeyId = reader.GetString(0);
                var userName = reader.GetString(1);
                var secret = _box.Open(reader.GetString(2), accessKeyId)
                    ?? throw new InvalidOperationException(
                        $"The secret of access key {accessKeyId} in iam.db cannot be decrypted with {SecretBox.FileName}: the key file was replaced. Restore it, or delete the access key.");
                _keys[accessKeyId] = (new Principal(PrincipalKind.User, userName, UserArn(userName), accessKeyId), secret);
            }
        }

        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT principal_kind, principal_name, policy_name, document FROM policies;";
            using var reader = command.ExecuteReader();
            var loaded = new Dictionary<(string, string), Dictionary<string, (string, PolicyDocument)>>();
            while (reader.Read())
            {
                var key = (reader.GetString(0), reader.GetString(1));
                var json = reader.GetString(3);
                var document = PolicyDocument.TryParse(json, out var error)
                    ?? throw new InvalidOperationException($"Policy {reader.GetString(2)} of {key} in iam.db does not parse: {error}");
                if (!loaded.TryGetValue(key, out var policies))
                {
                    loaded[key] = policies = new Dictionary<string, (string, PolicyDocument)>(StringComparer.Ordinal);
                }

                policies[reader.GetString(2)] = (json, document);
            }

            foreach (var (key, policies) in loaded)
            {
                _policies[key] = policies;
            }
        }
    }
}
