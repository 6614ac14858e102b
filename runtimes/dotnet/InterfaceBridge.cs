using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Nimbus.Lambda.RuntimeSupport;

namespace Nimbus.Runtime.Dotnet;

/// <summary>
/// Implements, at run time, whatever interface a handler names for its context (Amazon.Lambda.Core's
/// <c>ILambdaContext</c>, from the function's own package): property getters read the property of the same
/// name on the host's <see cref="LambdaContext"/> (an interface-typed property gets a bridge of its own), and
/// the logger's methods write log entries. No compile-time reference to AWS's assemblies.
/// </summary>
#pragma warning disable CA1852 // DispatchProxy derives the proxy type from this one: it must not be sealed.
internal class InterfaceBridge : DispatchProxy
#pragma warning restore CA1852
{
    private static readonly ConcurrentDictionary<(Type, string), PropertyInfo?> Properties = new();

    private object _target = null!;

    /// <summary>An object implementing <paramref name="interfaceType"/> over <paramref name="target"/>.</summary>
    public static object For(Type interfaceType, object target)
    {
        var bridge = (InterfaceBridge)Create(interfaceType, typeof(InterfaceBridge));
        bridge._target = target;
        return bridge;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (_target is LambdaLogger)
        {
            Log(targetMethod.Name, args ?? []);
            return Default(targetMethod.ReturnType);
        }

        if (targetMethod.Name.StartsWith("get_", StringComparison.Ordinal) && (args is null || args.Length == 0))
        {
            var property = Properties.GetOrAdd((_target.GetType(), targetMethod.Name[4..]), key => key.Item1.GetProperty(key.Item2));
            return Convert(property?.GetValue(_target), targetMethod.ReturnType);
        }

        if (targetMethod.Name == nameof(ToString))
        {
            return _target.ToString();
        }

        return Default(targetMethod.ReturnType);
    }

    private static object? Convert(object? value, Type type)
    {
        if (value is null)
        {
            return Default(type);
        }

        if (type.IsInstanceOfType(value))
        {
            return value;
        }

        if (type.IsInterface && value.GetType().IsClass && value is not string)
        {
            return For(type, value);
        }

        if (type == typeof(string))
        {
            return value.ToString();
        }

        try
        {
            return System.Convert.ChangeType(value, Nullable.GetUnderlyingType(type) ?? type, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidCastException)
        {
            return Default(type);
        }
    }

    private static object? Default(Type type) =>
        type == typeof(void) || !type.IsValueType ? null : Activator.CreateInstance(type);

    /// <summary>
    /// The logger's methods in any of Amazon.Lambda.Core's shapes: <c>Log(message)</c>, <c>LogLine(message)</c>,
    /// <c>Log(level, message, args)</c> with a string or enum level, <c>LogInformation(message, args)</c>,
    /// <c>LogError(exception, message, args)</c>, ...
    /// </summary>
    private static void Log(string method, object?[] args)
    {
        var level = method switch
        {
            "LogTrace" => "trce",
            "LogDebug" => "dbug",
            "LogInformation" => "info",
            "LogWarning" => "warn",
            "LogError" => "fail",
            "LogCritical" => "crit",
            _ => null,
        };
        var rest = args.AsSpan();
        if (level is null)
        {
            if (rest.Length >= 2 && (rest[0] is Enum || (rest[0] is string && rest[1] is string)))
            {
                level = LogOutput.LevelTag(rest[0]!.ToString());
                rest = rest[1..];
            }
            else
            {
                level = "info";
            }
        }

        Exception? exception = null;
        string? message = null;
        object?[]? values = null;
        foreach (var arg in rest)
        {
            switch (arg)
            {
                case Exception e when exception is null && message is null:
                    exception = e;
                    break;
                case string text when message is null:
                    message = text;
                    break;
                case object?[] array:
                    values = array;
                    break;
            }
        }

        message = Format(message ?? "", values);
        LogOutput.Write(level, exception is null ? message : $"{message}\n{exception}");
    }

    /// <summary>Fills a message template's placeholders (<c>{name}</c> or <c>{0}</c>) with the values in order.</summary>
    private static string Format(string template, object?[]? values)
    {
        if (values is null || values.Length == 0)
        {
            return template;
        }

        var result = new StringBuilder(template.Length + 32);
        var next = 0;
        for (var i = 0; i < template.Length; i++)
        {
            var close = template[i] == '{' ? template.IndexOf('}', i + 1) : -1;
            if (close > i && next < values.Length)
            {
                result.Append(System.Convert.ToString(values[next++], System.Globalization.CultureInfo.InvariantCulture));
                i = close;
            }
            else
            {
                result.Append(template[i]);
            }
        }

        return result.ToString();
    }
}
