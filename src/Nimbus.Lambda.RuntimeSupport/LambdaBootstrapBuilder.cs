using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Nimbus.Lambda.RuntimeSupport;

/// <summary>Builds a <see cref="LambdaBootstrap"/> around a typed handler, with JSON in and out.</summary>
public static class LambdaBootstrapBuilder
{
    /// <summary>A handler of <typeparamref name="TInput"/> to <typeparamref name="TOutput"/>, with source-generated JSON (trim and AOT safe).</summary>
    public static LambdaBootstrap Create<TInput, TOutput>(Func<TInput, LambdaContext, Task<TOutput>> handler, JsonTypeInfo<TInput> input, JsonTypeInfo<TOutput> output)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return new LambdaBootstrap(async (stream, context) =>
        {
            var value = JsonSerializer.Deserialize(stream, input)!;
            var result = await handler(value, context).ConfigureAwait(false);
            var body = new MemoryStream();
            JsonSerializer.Serialize(body, result, output);
            body.Position = 0;
            return body;
        });
    }

    /// <summary>A handler of <typeparamref name="TInput"/> to <typeparamref name="TOutput"/>, with reflection-based JSON (<see cref="LambdaJson.CreateOptions"/> unless given).</summary>
    [RequiresUnreferencedCode("Reflection-based JSON: use the JsonTypeInfo overload when trimming.")]
    [RequiresDynamicCode("Reflection-based JSON: use the JsonTypeInfo overload for Native AOT.")]
    public static LambdaBootstrap Create<TInput, TOutput>(Func<TInput, LambdaContext, Task<TOutput>> handler, JsonSerializerOptions? options = null)
    {
        options ??= LambdaJson.CreateOptions();
        options.MakeReadOnly(populateMissingResolver: true);
        return Create(handler, (JsonTypeInfo<TInput>)options.GetTypeInfo(typeof(TInput)), (JsonTypeInfo<TOutput>)options.GetTypeInfo(typeof(TOutput)));
    }

    /// <summary>A handler that reads the payload and writes the response itself.</summary>
    public static LambdaBootstrap Create(Func<Stream, LambdaContext, Task<Stream?>> handler) => new(handler);
}
