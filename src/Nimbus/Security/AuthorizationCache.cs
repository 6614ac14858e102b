using System.Collections.Concurrent;

namespace Nimbus.Security;

/// <summary>
/// Allow decisions of identity policies per (principal, action, resource), for the requests a caller repeats (every
/// Invoke of a function by the same user). Only a decision that no condition took part in is kept
/// (<see cref="AuthorizationResult.DependsOnContext"/>): it depends on the policies alone. The whole cache belongs to
/// one <see cref="IdentityStore.Generation"/>: any change of a user, key or policy starts an empty one, so a changed
/// policy decides the next request. Bounded: emptied when full.
/// </summary>
internal sealed class AuthorizationCache(IdentityStore identities)
{
    private const int MaxEntries = 4096;

    private Entries _entries = new(-1);

    /// <summary>The store's generation to pass to <see cref="Add"/>: read before the policies the decision is computed from.</summary>
    public long Generation => identities.Generation;

    public bool IsAllowed(Principal principal, string action, string resourceArn, long generation)
    {
        var entries = Volatile.Read(ref _entries);
        return entries.Generation == generation && entries.Allowed.ContainsKey(new Key(principal.Kind, principal.Name, action, resourceArn));
    }

    /// <summary>Remembers an allow computed from the policies of <paramref name="generation"/> (read before them).</summary>
    public void Add(Principal principal, string action, string resourceArn, long generation)
    {
        var entries = Volatile.Read(ref _entries);
        if (entries.Generation != generation || entries.Allowed.Count >= MaxEntries)
        {
            if (entries.Generation > generation || generation != identities.Generation)
            {
                // Computed from policies that have changed since: not kept.
                return;
            }

            var fresh = new Entries(generation);
            entries = Interlocked.CompareExchange(ref _entries, fresh, entries) == entries ? fresh : Volatile.Read(ref _entries);
            if (entries.Generation != generation)
            {
                return;
            }
        }

        entries.Allowed.TryAdd(new Key(principal.Kind, principal.Name, action, resourceArn), 0);
    }

    // A role's sessions share its policies: the key is the identity the policies are attached to, not the session's ARN.
    private readonly record struct Key(PrincipalKind Kind, string Name, string Action, string Resource);

    private sealed class Entries(long generation)
    {
        public long Generation { get; } = generation;

        public ConcurrentDictionary<Key, byte> Allowed { get; } = new();
    }
}
