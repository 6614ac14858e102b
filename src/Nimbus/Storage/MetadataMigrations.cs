namespace Nimbus.Storage;

/// <summary>Schema of metadata.db. Append only: the index + 1 is the schema version.</summary>
internal static class MetadataMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: functions, one row per version; the record is JSON pinned by a golden test.
        """
        CREATE TABLE functions (
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            revision_id TEXT NOT NULL,
            code_size INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (name, version)
        ) WITHOUT ROWID;
        """,

        // 2: reserved concurrency, one row per function that has a reservation (PutFunctionConcurrency). Kept out
        // of the function record so that stays frozen; DeleteFunction removes the row with the function.
        """
        CREATE TABLE function_concurrency (
            name TEXT NOT NULL PRIMARY KEY,
            reserved INTEGER NOT NULL CHECK (reserved >= 0)
        ) WITHOUT ROWID;
        """,

        // 3: versions and aliases. Published versions are rows of `functions` (version = "1", "2", ...); the
        // counter keeps numbers from being reused after a delete. An alias is JSON pinned by a golden test.
        """
        CREATE TABLE function_version_counters (
            name TEXT NOT NULL PRIMARY KEY,
            last_version INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE aliases (
            function_name TEXT NOT NULL,
            name TEXT NOT NULL,
            revision_id TEXT NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (function_name, name)
        ) WITHOUT ROWID;
        """,

        // 4: layers, one row per published layer version (JSON pinned by a golden test); the counter keeps
        // version numbers from being reused after a delete.
        """
        CREATE TABLE layer_versions (
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (name, version)
        ) WITHOUT ROWID;
        CREATE TABLE layer_version_counters (
            name TEXT NOT NULL PRIMARY KEY,
            last_version INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,

        // 5: provisioned concurrency, per function and qualifier (a published version or an alias).
        """
        CREATE TABLE provisioned_concurrency (
            function_name TEXT NOT NULL,
            qualifier TEXT NOT NULL,
            requested INTEGER NOT NULL CHECK (requested > 0),
            last_modified TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        ) WITHOUT ROWID;
        """,

        // 6: function URLs, per function and qualifier ($LATEST or an alias); url_id is what the front door looks up.
        // Cors is AWS's Cors JSON; auth_type and invoke_mode are AWS's strings (frozen by a test).
        """
        CREATE TABLE function_urls (
            function_name TEXT NOT NULL,
            qualifier TEXT NOT NULL,
            url_id TEXT NOT NULL UNIQUE,
            auth_type TEXT NOT NULL,
            invoke_mode TEXT NOT NULL,
            cors TEXT,
            creation_time TEXT NOT NULL,
            last_modified_time TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        ) WITHOUT ROWID;
        """,

        // 7: event source mappings (issue 6), one row per mapping; the record is JSON pinned by a golden test.
        // A mapping belongs to its function: DeleteFunction removes them (EventSourceMappingCleanup).
        """
        CREATE TABLE event_source_mappings (
            uuid TEXT NOT NULL PRIMARY KEY,
            function_name TEXT NOT NULL,
            event_source_arn TEXT NOT NULL,
            record TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX event_source_mappings_by_function ON event_source_mappings (function_name);
        """,

        // 8: resource-based policies of functions (AddPermission), per function and qualifier ("" = unqualified);
        // statement is AWS's statement JSON; the revision changes with every write (RevisionId preconditions).
        """
        CREATE TABLE function_policies (
            function_name TEXT NOT NULL,
            qualifier TEXT NOT NULL,
            statement_id TEXT NOT NULL,
            statement TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier, statement_id)
        );
        CREATE TABLE function_policy_revisions (
            function_name TEXT NOT NULL,
            qualifier TEXT NOT NULL,
            revision_id TEXT NOT NULL,
            PRIMARY KEY (function_name, qualifier)
        ) WITHOUT ROWID;
        """,

        // 9: environment variables encrypted at rest (issue 10): AES-256-GCM under <data>/secrets.key, associated
        // data = function and version; NULL when the function has none. Rows from before are sealed at start-up
        // (SqliteMetadataStore.Open), their JSON record then no longer carries the variables.
        """
        ALTER TABLE functions ADD COLUMN environment TEXT;
        """,
    ];
}
