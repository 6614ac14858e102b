using System.Reflection;
using Nimbus.Lambda.RuntimeSupport;

namespace Nimbus.Runtime.Dotnet;

/// <summary>
/// A class-library handler, <c>Assembly::Namespace.Type::Method</c>, bound once at init into a delegate the
/// handler loop calls. Shapes: <c>()</c>, <c>(input)</c>, <c>(input, context)</c>, <c>(context)</c>; results
/// <c>void</c>, <c>T</c>, <c>Task</c>, <c>Task&lt;T&gt;</c>, <c>ValueTask</c>, <c>ValueTask&lt;T&gt;</c>;
/// <see cref="Stream"/> in and out as raw bytes, anything else through the function's serializer.
/// </summary>
internal static class FunctionHandler
{
    private const BindingFlags Methods = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static;

    public static Func<Stream, LambdaContext, Task<Stream?>> Load(string handler, string taskRoot, string runtime)
    {
        var parts = handler.Split("::");
        if (parts.Length != 3 || parts.Any(string.IsNullOrWhiteSpace))
        {
            throw new HandlerException(HandlerException.Validation,
                $"Invalid format for function handler string '{handler}'. Format should be 'AssemblyName::Namespace.ClassName::MethodName'.");
        }

        var (assemblyName, typeName, methodName) = (parts[0].Trim(), parts[1].Trim(), parts[2].Trim());
        var path = Path.Combine(taskRoot, assemblyName + ".dll");
        if (!File.Exists(path))
        {
            throw new HandlerException(HandlerException.Validation,
                $"Could not find the specified handler assembly with the file name '{assemblyName}.dll'. The assembly should be located in the root of your uploaded .zip file.");
        }

        CheckTargetFramework(path, assemblyName, runtime);
        var context = new FunctionLoadContext(path);
        var assembly = context.LoadFromAssemblyPath(path);
        // Assembly.Load and Type.GetType in the function resolve in its own context.
        context.EnterContextualReflection();
        var type = assembly.GetType(typeName, throwOnError: false)
            ?? throw new HandlerException(HandlerException.Validation, $"Unable to load type '{typeName}' from assembly '{assemblyName}'.");
        var candidates = type.GetMethods(Methods).Where(m => m.Name == methodName).ToArray();
        var method = candidates.Length switch
        {
            0 => throw new HandlerException(HandlerException.Validation, $"Unable to find method '{methodName}' in type '{typeName}' from assembly '{assemblyName}': Found no methods matching method name '{methodName}'."),
            > 1 => throw new HandlerException(HandlerException.Validation, $"The method '{methodName}' in type '{typeName}' from assembly '{assemblyName}' is overloaded: Lambda needs exactly one public method of that name."),
            _ => candidates[0],
        };
        if (method.ContainsGenericParameters)
        {
            throw new HandlerException(HandlerException.Validation, $"Handler method '{methodName}' is generic: Lambda cannot choose its type arguments.");
        }

        return Bind(type, method);
    }

    /// <summary>A package built for a newer .NET than the runtime runs fails at init with a clear message.</summary>
    private static void CheckTargetFramework(string path, string assemblyName, string runtime)
    {
        var moniker = TargetFramework.Read(path);
        if (TargetFramework.DotnetMajor(moniker) is not { } major)
        {
            return;
        }

        var nominal = runtime.StartsWith("dotnet", StringComparison.Ordinal)
            && int.TryParse(runtime.AsSpan("dotnet".Length), System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : Environment.Version.Major;
        var limit = Math.Min(nominal, Environment.Version.Major);
        if (major > limit)
        {
            throw new HandlerException(HandlerException.InvalidRuntime,
                $"The function assembly '{assemblyName}.dll' targets .NET {major} (net{major}.0), but the {runtime} runtime runs .NET {limit} (this node has .NET {Environment.Version}). Build the function for net{limit}.0 or earlier, or choose the runtime of its .NET version.");
        }
    }

    internal static Func<Stream, LambdaContext, Task<Stream?>> Bind(Type type, MethodInfo method)
    {
        var parameters = method.GetParameters();
        if (parameters.Length > 2)
        {
            throw new HandlerException(HandlerException.Validation, $"Handler method '{method.Name}' has {parameters.Length} parameters: Lambda passes at most two, the input and the ILambdaContext.");
        }

        Type? inputType = null;
        Type? contextType = null;
        if (parameters.Length == 2)
        {
            inputType = parameters[0].ParameterType;
            contextType = parameters[1].ParameterType;
        }
        else if (parameters.Length == 1)
        {
            var only = parameters[0].ParameterType;
            if (only.IsInterface && only.Name == "ILambdaContext")
            {
                contextType = only;
            }
            else
            {
                inputType = only;
            }
        }

        if (contextType is not null && !contextType.IsInterface && contextType != typeof(LambdaContext))
        {
            throw new HandlerException(HandlerException.Validation, $"The second parameter of handler method '{method.Name}' must be an ILambdaContext, not '{contextType.FullName}'.");
        }

        var (awaitable, resultType) = Unwrap(method.ReturnType);
        var needsSerializer = (inputType is not null && !IsStream(inputType)) || (resultType is not null && !IsStream(resultType));
        var serializer = needsSerializer ? PayloadSerializer.For(method) : null;

        // The instance is made at init, as Lambda does: its constructor's failure is an init error.
        object? instance = null;
        if (!method.IsStatic)
        {
            try
            {
                instance = Activator.CreateInstance(type);
            }
            catch (MissingMethodException)
            {
                throw new HandlerException(HandlerException.Validation, $"Unable to create an instance of '{type.FullName}': it has no public parameterless constructor.");
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            }
        }

        var resultProperty = awaitable == Awaitable.Task && resultType is not null ? method.ReturnType.GetProperty("Result") : null;
        var asTask = awaitable == Awaitable.ValueTask ? method.ReturnType.GetMethod("AsTask") : null;
        var taskResult = asTask is not null && resultType is not null ? asTask.ReturnType.GetProperty("Result") : null;
        return async (payload, context) =>
        {
            var args = new object?[parameters.Length];
            var index = 0;
            if (inputType is not null)
            {
                args[index++] = IsStream(inputType) ? payload : serializer!.Deserialize(inputType, payload);
            }

            if (contextType is not null)
            {
                args[index] = contextType == typeof(LambdaContext) ? context : InterfaceBridge.For(contextType, context);
            }

            var returned = method.Invoke(instance, BindingFlags.DoNotWrapExceptions, null, args, null);
            object? result = returned;
            switch (awaitable)
            {
                case Awaitable.Task:
                    await ((Task)returned!).ConfigureAwait(false);
                    result = resultProperty?.GetValue(returned);
                    break;
                case Awaitable.ValueTask:
                    var task = (Task)asTask!.Invoke(returned, null)!;
                    await task.ConfigureAwait(false);
                    result = taskResult?.GetValue(task);
                    break;
            }

            if (resultType is null)
            {
                return null;
            }

            if (IsStream(resultType))
            {
                return (Stream?)result;
            }

            var body = new MemoryStream();
            serializer!.Serialize(resultType, result, body);
            body.Position = 0;
            return body;
        };
    }

    private enum Awaitable
    {
        None,
        Task,
        ValueTask,
    }

    /// <summary>What the method's return type awaits to, and the result's type (null for none).</summary>
    private static (Awaitable Awaitable, Type? Result) Unwrap(Type returnType)
    {
        if (returnType == typeof(void))
        {
            return (Awaitable.None, null);
        }

        if (returnType == typeof(Task))
        {
            return (Awaitable.Task, null);
        }

        if (returnType == typeof(ValueTask))
        {
            return (Awaitable.ValueTask, null);
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            return (Awaitable.Task, returnType.GetGenericArguments()[0]);
        }

        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
        {
            return (Awaitable.ValueTask, returnType.GetGenericArguments()[0]);
        }

        return (Awaitable.None, returnType);
    }

    private static bool IsStream(Type type) => typeof(Stream).IsAssignableFrom(type);
}
