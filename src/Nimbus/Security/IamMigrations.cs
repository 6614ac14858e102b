namespace Nimbus.Security;

/// <summary>Schema of iam.db (users, access keys, identity policies). Append only: the index + 1 is the schema version.</summary>
internal static class IamMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: secrets are sealed with SecretBox (AES-GCM, associated data = the access key id), never stored in clear.
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE access_keys (
            access_key_id TEXT PRIMARY KEY,
            user_name TEXT NOT NULL REFERENCES users (name),
            secret_sealed TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE policies (
            principal_kind TEXT NOT NULL,
            principal_name TEXT NOT NULL,
            policy_name TEXT NOT NULL,
            document TEXT NOT NULL,
            PRIMARY KEY (principal_kind, principal_name, policy_name)
        );
        """,
    ];
}
