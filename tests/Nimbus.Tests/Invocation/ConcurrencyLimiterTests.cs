using Nimbus.Invocation;

namespace Nimbus.Tests.Invocation;

public sealed class ConcurrencyLimiterTests
{
    [Fact]
    public void Functions_without_a_reservation_share_the_account_limit()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 3);

        var leases = new[] { Acquire(limiter, "a"), Acquire(limiter, "b"), Acquire(limiter, "a") };

        Assert.Equal(ConcurrencyThrottle.AccountConcurrencyInUse, limiter.TryAcquire("c").Throttle);
        leases[0].Dispose();
        Assert.Equal(ConcurrencyThrottle.None, limiter.TryAcquire("c").Throttle);
    }

    [Fact]
    public void A_function_with_a_reservation_runs_at_most_that_many_at_once()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 100);
        limiter.SetReservation("f", 2);

        var first = Acquire(limiter, "f");
        Acquire(limiter, "f");
        var third = limiter.TryAcquire("f");

        Assert.Null(third.Lease);
        Assert.Equal(ConcurrencyThrottle.ReservedConcurrencyInUse, third.Throttle);
        Assert.Equal(ConcurrencyThrottle.None, limiter.TryAcquire("other").Throttle);
        first.Dispose();
        Assert.Equal(ConcurrencyThrottle.None, limiter.TryAcquire("f").Throttle);
    }

    [Fact]
    public void A_reservation_is_carved_out_of_the_account_pool_even_while_its_function_is_idle()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 5);
        limiter.SetReservation("reserved", 3);

        Acquire(limiter, "a");
        Acquire(limiter, "b");

        Assert.Equal(2, limiter.UnreservedLimit);
        Assert.Equal(ConcurrencyThrottle.AccountConcurrencyInUse, limiter.TryAcquire("c").Throttle);
        Assert.Equal(0, limiter.InUse("reserved"));
    }

    [Fact]
    public void A_function_with_a_reservation_runs_when_the_unreserved_pool_is_exhausted()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 3);
        limiter.SetReservation("reserved", 1);
        Acquire(limiter, "a");
        Acquire(limiter, "b");

        Assert.Equal(ConcurrencyThrottle.AccountConcurrencyInUse, limiter.TryAcquire("a").Throttle);
        Assert.Equal(ConcurrencyThrottle.None, limiter.TryAcquire("reserved").Throttle);
    }

    [Fact]
    public void Reserved_concurrency_zero_throttles_every_invocation()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 10);
        limiter.SetReservation("off", 0);

        var grant = limiter.TryAcquire("off");

        Assert.Null(grant.Lease);
        Assert.Equal(ConcurrencyThrottle.ReservedConcurrencyIsZero, grant.Throttle);
        Assert.Equal(10, limiter.UnreservedLimit);
    }

    [Fact]
    public void Deleting_a_reservation_moves_invocations_in_flight_back_to_the_unreserved_pool()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 4);
        limiter.SetReservation("f", 2);
        var leases = new[] { Acquire(limiter, "f"), Acquire(limiter, "f") };
        Assert.Equal(0, limiter.UnreservedInUse);

        limiter.SetReservation("f", null);

        Assert.Equal(4, limiter.UnreservedLimit);
        Assert.Equal(2, limiter.UnreservedInUse);
        Acquire(limiter, "g");
        Acquire(limiter, "g");
        Assert.Equal(ConcurrencyThrottle.AccountConcurrencyInUse, limiter.TryAcquire("g").Throttle);
        foreach (var lease in leases)
        {
            lease.Dispose();
        }

        Assert.Equal(2, limiter.UnreservedInUse);
        Assert.Equal(0, limiter.InUse("f"));
    }

    [Fact]
    public void Reserving_moves_invocations_in_flight_out_of_the_unreserved_pool_and_counts_them_against_the_reservation()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 10);
        var leases = new[] { Acquire(limiter, "f"), Acquire(limiter, "f") };

        limiter.SetReservation("f", 1);

        Assert.Equal(0, limiter.UnreservedInUse);
        Assert.Equal(9, limiter.UnreservedLimit);
        Assert.Equal(ConcurrencyThrottle.ReservedConcurrencyInUse, limiter.TryAcquire("f").Throttle);
        leases[0].Dispose();
        Assert.Equal(ConcurrencyThrottle.ReservedConcurrencyInUse, limiter.TryAcquire("f").Throttle);
        leases[1].Dispose();
        Assert.Equal(ConcurrencyThrottle.None, limiter.TryAcquire("f").Throttle);
    }

    [Fact]
    public void Changing_a_reservation_adjusts_the_unreserved_pool_by_the_difference()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 1000);
        limiter.SetReservation("f", 100);
        limiter.SetReservation("g", 50);

        limiter.SetReservation("f", 30);

        Assert.Equal(920, limiter.UnreservedLimit);
        limiter.SetReservation("g", null);
        Assert.Equal(970, limiter.UnreservedLimit);
    }

    [Fact]
    public void Reservations_above_the_account_limit_leave_an_empty_unreserved_pool()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 10);
        limiter.SetReservation("f", 8);
        limiter.SetReservation("g", 5);

        Assert.Equal(0, limiter.UnreservedLimit);
        Assert.Equal(ConcurrencyThrottle.AccountConcurrencyInUse, limiter.TryAcquire("h").Throttle);
        Assert.Equal(ConcurrencyThrottle.None, limiter.TryAcquire("f").Throttle);
    }

    [Fact]
    public void Disposing_a_lease_twice_gives_back_one_unit()
    {
        var limiter = new ConcurrencyLimiter(accountLimit: 2);
        var lease = Acquire(limiter, "f");
        Acquire(limiter, "f");

        lease.Dispose();
        lease.Dispose();

        Assert.Equal(1, limiter.InUse("f"));
        Assert.Equal(1, limiter.UnreservedInUse);
    }

    [Fact]
    public void Concurrent_acquires_never_grant_more_than_the_limit()
    {
        const int Limit = 16;
        var limiter = new ConcurrencyLimiter(accountLimit: 1000);
        limiter.SetReservation("f", Limit);

        var grants = new ConcurrencyGrant[2_000];
        Parallel.For(0, grants.Length, i => grants[i] = limiter.TryAcquire("f"));

        Assert.Equal(Limit, grants.Count(g => g.Lease is not null));
        Parallel.ForEach(grants.Where(g => g.Lease is not null), g => g.Lease!.Dispose());
        Assert.Equal(0, limiter.InUse("f"));
    }

    [Fact]
    public void Negative_reservations_and_account_limits_are_bugs()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrencyLimiter(accountLimit: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConcurrencyLimiter(accountLimit: 1).SetReservation("f", -1));
    }

    private static ConcurrencyLease Acquire(ConcurrencyLimiter limiter, string functionName)
    {
        var grant = limiter.TryAcquire(functionName);
        Assert.True(grant.Lease is not null, $"{functionName} should get a lease; it was throttled: {grant.Throttle}.");
        return grant.Lease;
    }
}
