using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Nimbus.Events;
using Nimbus.Functions;
using Nimbus.Hosting;
using Nimbus.Http;
using Nimbus.Storage;

namespace Nimbus.Buckets;

/// <summary>Wires the S3-compatible object store and its bucket notifications into a node.</summary>
internal static partial class BucketsServiceCollectionExtensions
{
    public static IServiceCollection AddNimbusBuckets(this IServiceCollection services)
    {
        services.TryAddSingleton<IObjectStore>(sp =>
        {
            var directory = Path.Combine(sp.GetRequiredService<DataDirectory>().Path, "buckets");
            Directory.CreateDirectory(directory);
            return new ObjectStore(new SqliteDatabase(Path.Combine(directory, "buckets.db"), BucketMigrations.All), directory, sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<IChunkSignatureVerifierFactory, AcceptingChunkSignatureVerifier>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationTarget, LambdaNotificationTarget>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INotificationTarget, QueueNotificationTarget>());
        services.TryAddSingleton<BucketNotifier>();
        services.AddHostedService(sp => sp.GetRequiredService<BucketNotifier>());
        services.TryAddSingleton<BucketsApi>();
        return services;
    }

    /// <summary>
    /// S3 is "everything else": the fallback route. Lambda's exact routes are matched before it, so a path-style
    /// request for a bucket named like a Lambda API version (<c>/2015-03-31/x</c>) reaches this fallback and is S3's
    /// when it is signed (SigV4) for service <c>s3</c>; other unknown
    /// Lambda-looking paths keep Lambda's NoSuchOperation. A request with <c>X-Amz-Target</c> belongs to a JSON
    /// service that has no route here, so it gets that protocol's UnknownOperationException instead of an S3 answer.
    /// </summary>
    public static IEndpointRouteBuilder MapBucketsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.ServiceProvider.GetRequiredService<BucketsApi>();
        endpoints.MapFallback("{**path}", context =>
        {
            var request = context.Request;
            if (LambdaPathPattern().IsMatch(request.Path.Value ?? "") && !SignedForS3(context))
            {
                return LambdaHttp.WriteErrorAsync(context, LambdaError.NoSuchOperation(request.Method, request.Path));
            }

            if (request.Headers.TryGetValue("X-Amz-Target", out var target))
            {
                return LambdaHttp.WriteErrorAsync(context, new LambdaError("UnknownOperationException", 400,
                    $"Nimbus does not implement the operation {target}."));
            }

            return api.HandleAsync(context);
        });
        return endpoints;
    }

    private static bool SignedForS3(HttpContext context) =>
        Security.SigV4Context.Of(context)?.Signature?.Scope.Service == Security.AwsServices.S3;

    [GeneratedRegex(@"^/20\d\d-\d\d-\d\d(/|$)")]
    private static partial Regex LambdaPathPattern();
}
