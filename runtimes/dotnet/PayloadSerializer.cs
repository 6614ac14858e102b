using System.Reflection;
using System.Text.Json;
using Nimbus.Lambda.RuntimeSupport;

namespace Nimbus.Runtime.Dotnet;

/// <summary>Turns payloads into the handler's input type and its results into JSON.</summary>
internal abstract class PayloadSerializer
{
    public abstract object? Deserialize(Type type, Stream payload);

    public abstract void Serialize(Type type, object? value, Stream body);

    /// <summary>
    /// The serializer named by <c>[LambdaSerializer(typeof(X))]</c> on the method or, failing that, on its
    /// assembly (Amazon.Lambda.Core's attribute, matched by name); else System.Text.Json with Lambda's conventions.
    /// </summary>
    public static PayloadSerializer For(MethodInfo method)
    {
        var attribute = method.GetCustomAttributesData().Concat(method.Module.Assembly.GetCustomAttributesData())
            .FirstOrDefault(a => a.AttributeType.Name == "LambdaSerializerAttribute");
        if (attribute is null)
        {
            return Default.Instance;
        }

        var type = attribute.ConstructorArguments.Select(a => a.Value).OfType<Type>().FirstOrDefault()
            ?? attribute.NamedArguments.Select(a => a.TypedValue.Value).OfType<Type>().FirstOrDefault()
            ?? throw new HandlerException(HandlerException.Validation, "The LambdaSerializer attribute does not name a serializer type.");
        object instance;
        try
        {
            instance = Activator.CreateInstance(type)!;
        }
        catch (Exception e) when (e is MissingMethodException or TargetInvocationException or MemberAccessException)
        {
            throw new HandlerException(HandlerException.Validation, $"Unable to create the serializer '{type.FullName}' named by the LambdaSerializer attribute: {(e.InnerException ?? e).Message}");
        }

        var contract = type.GetInterfaces().FirstOrDefault(i => i.Name == "ILambdaSerializer");
        var deserialize = (contract ?? type).GetMethods().FirstOrDefault(m => m.Name == "Deserialize" && m.IsGenericMethodDefinition && m.GetParameters().Length == 1);
        var serialize = (contract ?? type).GetMethods().FirstOrDefault(m => m.Name == "Serialize" && m.IsGenericMethodDefinition && m.GetParameters().Length == 2);
        return deserialize is null || serialize is null
            ? throw new HandlerException(HandlerException.Validation, $"The serializer '{type.FullName}' named by the LambdaSerializer attribute has no Deserialize<T>(Stream) and Serialize<T>(T, Stream) methods.")
            : new User(instance, deserialize, serialize);
    }

    /// <summary>The function's own ILambdaSerializer, called through reflection.</summary>
    private sealed class User(object instance, MethodInfo deserialize, MethodInfo serialize) : PayloadSerializer
    {
        private readonly Dictionary<Type, (MethodInfo Deserialize, MethodInfo Serialize)> _closed = [];

        public override object? Deserialize(Type type, Stream payload) =>
            Closed(type).Deserialize.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, [payload], null);

        public override void Serialize(Type type, object? value, Stream body) =>
            Closed(type).Serialize.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, [value, body], null);

        private (MethodInfo Deserialize, MethodInfo Serialize) Closed(Type type)
        {
            if (!_closed.TryGetValue(type, out var methods))
            {
                methods = (deserialize.MakeGenericMethod(type), serialize.MakeGenericMethod(type));
                _closed[type] = methods;
            }

            return methods;
        }
    }

    /// <summary>System.Text.Json with the conventions of Lambda's DefaultLambdaJsonSerializer.</summary>
    internal sealed class Default : PayloadSerializer
    {
        public static readonly Default Instance = new();

        private readonly JsonSerializerOptions _options = LambdaJson.CreateOptions();

        public override object? Deserialize(Type type, Stream payload)
        {
            try
            {
                return JsonSerializer.Deserialize(payload, type, _options);
            }
            catch (JsonException e)
            {
                throw new JsonSerializerException($"Error converting the Lambda event JSON payload to type {type.FullName}: {e.Message}", e);
            }
        }

        public override void Serialize(Type type, object? value, Stream body)
        {
            try
            {
                JsonSerializer.Serialize(body, value, type, _options);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
            {
                throw new JsonSerializerException($"Error converting the response object of type {type.FullName} from the Lambda function to JSON: {e.Message}", e);
            }
        }
    }
}
