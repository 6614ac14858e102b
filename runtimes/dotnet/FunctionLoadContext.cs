using System.Reflection;
using System.Runtime.Loader;

namespace Nimbus.Runtime.Dotnet;

/// <summary>
/// Loads the function's assemblies from its package: through its <c>.deps.json</c> when it has one, else from
/// the task root. Assemblies of the shared framework (and of this host) always come from the default context,
/// so a package built for an older .NET runs on this one and shares types such as <see cref="Stream"/>.
/// Not collectible: ReadyToRun code in a function's assemblies is used only outside collectible contexts.
/// </summary>
internal sealed class FunctionLoadContext : AssemblyLoadContext
{
    private static readonly HashSet<string> Platform = PlatformAssemblies();

    private readonly AssemblyDependencyResolver? _resolver;
    private readonly string _root;

    public FunctionLoadContext(string mainAssemblyPath)
        : base("function", isCollectible: false)
    {
        _root = Path.GetDirectoryName(mainAssemblyPath)!;
        try
        {
            _resolver = new AssemblyDependencyResolver(mainAssemblyPath);
        }
        catch (InvalidOperationException)
        {
            // No usable deps.json: probe the task root.
        }
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name is not { } name || Platform.Contains(name))
        {
            return null;
        }

        var path = _resolver?.ResolveAssemblyToPath(assemblyName) ?? Path.Combine(_root, name + ".dll");
        return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
        _resolver?.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;

    private static HashSet<string> PlatformAssemblies()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
        {
            foreach (var path in list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                names.Add(Path.GetFileNameWithoutExtension(path));
            }
        }

        return names;
    }
}
