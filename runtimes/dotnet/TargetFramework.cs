using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Nimbus.Runtime.Dotnet;

/// <summary>Reads an assembly's <c>[TargetFramework]</c> from its metadata, without loading it.</summary>
internal static class TargetFramework
{
    /// <summary>".NETCoreApp,Version=v8.0" for a net8.0 assembly; null when the attribute is missing.</summary>
    public static string? Read(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata)
        {
            return null;
        }

        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.GetAssemblyDefinition().GetCustomAttributes())
        {
            var attribute = metadata.GetCustomAttribute(handle);
            if (attribute.Constructor.Kind != HandleKind.MemberReference)
            {
                continue;
            }

            var constructor = metadata.GetMemberReference((MemberReferenceHandle)attribute.Constructor);
            if (constructor.Parent.Kind != HandleKind.TypeReference
                || !metadata.StringComparer.Equals(metadata.GetTypeReference((TypeReferenceHandle)constructor.Parent).Name, "TargetFrameworkAttribute"))
            {
                continue;
            }

            var value = metadata.GetBlobReader(attribute.Value);
            return value.ReadUInt16() == 1 ? value.ReadSerializedString() : null;
        }

        return null;
    }

    /// <summary>The .NET major version a ".NETCoreApp,Version=vX.Y" moniker names; null for .NET Standard and others.</summary>
    public static int? DotnetMajor(string? moniker)
    {
        const string Prefix = ".NETCoreApp,Version=v";
        if (moniker is null || !moniker.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var version = moniker[Prefix.Length..];
        var dot = version.IndexOf('.', StringComparison.Ordinal);
        return int.TryParse(dot < 0 ? version : version[..dot], System.Globalization.CultureInfo.InvariantCulture, out var major) ? major : null;
    }
}
