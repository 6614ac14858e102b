using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nimbus.Hosting;
using Nimbus.Storage;

namespace Nimbus.Security;

/// <summary>Registers and wires authentication (SigV4), the identity store and authorization.</summary>
internal static class SecurityServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusSecurity(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddOptions<SecurityOptions>()
            .Bind(configuration.GetSection(NimbusOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>());
        services.TryAddSingleton(sp => SecretBox.ForDataDirectory(sp.GetRequiredService<DataDirectory>().Path));
        services.TryAddSingleton(sp => RootCredentials.Resolve(
            sp.GetRequiredService<IOptions<SecurityOptions>>().Value, sp.GetRequiredService<DataDirectory>().Path));
        services.TryAddSingleton(sp =>
        {
            var root = sp.GetRequiredService<RootCredentials>();
            var accountId = sp.GetRequiredService<IOptions<NimbusOptions>>().Value.AccountId;
            return new IdentityStore(
                new SqliteDatabase(Path.Combine(sp.GetRequiredService<DataDirectory>().Path, "iam.db"), IamMigrations.All),
                sp.GetRequiredService<SecretBox>(),
                accountId,
                new Principal(PrincipalKind.Root, "root", $"arn:aws:iam::{accountId}:root", root.AccessKeyId),
                root.SecretAccessKey);
        });
        services.TryAddSingleton(sp => new SessionCredentials(
            sp.GetRequiredService<SecretBox>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<NimbusOptions>>().Value.AccountId,
            RetiredSessionKey.Load(sp.GetRequiredService<DataDirectory>().Path, sp.GetRequiredService<TimeProvider>().GetUtcNow())));
        services.TryAddSingleton<IAuthorizer, PolicyAuthorizer>();
        services.TryAddSingleton<ServiceAuthorization>();
        services.AddSingleton<Buckets.IChunkSignatureVerifierFactory, SigV4ChunkVerifierFactory>();
        services.AddSingleton<Sandboxes.ISandboxCredentials, RoleSandboxCredentials>();
        services.TryAddSingleton<AccessKeyRateLimiter>();
        services.TryAddSingleton<SigV4Authenticator>();
        services.TryAddSingleton(sp => new FunctionPolicyStore(
            sp.GetRequiredKeyedService<SqliteDatabase>(NimbusHostingExtensions.MetadataDatabaseKey)));
        services.TryAddSingleton<FunctionPolicyService>();
        services.AddSingleton<Functions.IFunctionLifecycleObserver>(sp => sp.GetRequiredService<FunctionPolicyService>());
        services.TryAddSingleton<FunctionUrlIamGuard>();
        services.AddHostedService<SecurityBanner>();
        services.TryAddSingleton<TlsListener>();
        services.TryAddSingleton<CodeLocationSigner>();
        services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(RequestHeaderLimits.ConfigureKestrel);
        services.AddHostedService<TlsBanner>();
        return services;
    }

    /// <summary>Authentication before routing (every API), Lambda authorization after it, and the admin API.</summary>
    public static WebApplication UseNimbusAuthentication(this WebApplication app)
    {
        app.UseMiddleware<RequestHeaderLimits>();
        app.UseMiddleware<SigV4AuthenticationMiddleware>();
        return app;
    }

    public static WebApplication UseNimbusAuthorization(this WebApplication app)
    {
        app.UseMiddleware<LambdaAuthorizationMiddleware>();
        app.MapSecurityAdminApi();
        app.MapFunctionPolicyApi();
        return app;
    }
}
