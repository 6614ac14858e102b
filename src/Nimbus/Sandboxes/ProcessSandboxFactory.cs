using System.Diagnostics;

namespace Nimbus.Sandboxes;

/// <summary>
/// The fallback where bubblewrap is missing: a plain child process in the code directory with a private TMPDIR.
/// It isolates nothing; the server warns loudly at start-up when it is in use.
/// </summary>
internal sealed class ProcessSandboxFactory(string scratchDirectory, CgroupManager cgroups) : ISandboxFactory
{
    public string Kind => cgroups.IsAvailable ? $"process + {cgroups.Kind}" : "process";

    public bool CanPrestart => false;

    public SandboxPaths PathsFor(string codeDirectory, string runtimesDirectory) => new(codeDirectory, runtimesDirectory);

    public async Task<ISandbox> StartAsync(SandboxSpec spec, Func<string, ValueTask> onOutputLine)
    {
        if (spec.CodeDirectory is null)
        {
            throw new InvalidOperationException("Plain-process sandboxes cannot be pre-started.");
        }

        var tmp = Path.Combine(scratchDirectory, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        var start = new ProcessStartInfo(spec.Executable)
        {
            WorkingDirectory = spec.CodeDirectory,
        };
        foreach (var argument in spec.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        foreach (var (key, value) in spec.Environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["TMPDIR"] = tmp;
        return await SandboxProcess.StartAsync(start, onOutputLine, killTree: true, cgroups.Create(spec.InstanceId, spec.MemoryMb, spec.Background), cleanup: () => TryDelete(tmp), network: spec.Network).ConfigureAwait(false);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
