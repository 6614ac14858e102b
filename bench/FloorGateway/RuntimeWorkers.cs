using System.Diagnostics;

/// <summary>
/// The plain runtime processes behind the gateway: <c>count</c> processes of one of Nimbus's runtime clients (node's
/// runtimes/nodejs/bootstrap.js or python's runtimes/python/bootstrap.py), each with its own parked GET /next on the
/// gateway's Runtime API port, all serving the same trivial handler from one task directory. No sandbox, no cgroup. Each
/// runs on the interpreter given (else python3 or node on its PATH) with the arguments nimbusd gives it.
/// </summary>
internal sealed class RuntimeWorkers : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly DirectoryInfo _task = Directory.CreateTempSubdirectory("floor-gateway-");

    private RuntimeWorkers()
    {
    }

    public IEnumerable<int> Ids => _processes.Select(process => process.Id);

    /// <summary>The command line every runtime process was started with.</summary>
    public string Command { get; private set; } = "";

    /// <summary>
    /// Starts <paramref name="count"/> processes of the <paramref name="runtime"/> client found in <paramref name="clients"/>
    /// (nodejs/bootstrap.js or python/bootstrap.py) on <paramref name="interpreter"/>, or python3 / node on their PATH.
    /// </summary>
    public static RuntimeWorkers Start(string runtime, string clients, string? interpreter, string runtimeApi, int count, string? unixSocket = null)
    {
        var workers = new RuntimeWorkers();
        try
        {
            var handler = runtime == "python"
                ? ("lambda_function.py", "def lambda_handler(event, context):\n    return {\"ok\": True, \"echo\": event}\n", "lambda_function.lambda_handler")
                : ("index.js", "exports.handler = async (event) => ({ ok: true, echo: event });\n", "index.handler");
            File.WriteAllText(Path.Combine(workers._task.FullName, handler.Item1), handler.Item2);
            for (var i = 0; i < count; i++)
            {
                var start = new ProcessStartInfo { UseShellExecute = false };
                start.Environment.Clear();
                start.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
                start.Environment["LANG"] = "en_US.UTF-8";
                start.Environment["TZ"] = ":UTC";
                start.Environment["AWS_LAMBDA_RUNTIME_API"] = runtimeApi;
                if (unixSocket is not null)
                {
                    start.Environment["NIMBUS_RUNTIME_API_SOCKET"] = unixSocket;
                }

                start.Environment["LAMBDA_TASK_ROOT"] = workers._task.FullName;
                start.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "floor";
                start.Environment["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
                start.Environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "128";
                start.Environment["_HANDLER"] = handler.Item3;
                // nimbusd's own arguments (SandboxManager.InterpreterCommand): python without the user site directory,
                // node with the heap of a 128 MB function.
                if (runtime == "python")
                {
                    start.FileName = interpreter ?? OnPath("python3", start.Environment["PATH"]!);
                    start.ArgumentList.Add("-s");
                    start.ArgumentList.Add(Path.Combine(clients, "python", "bootstrap.py"));
                }
                else
                {
                    start.FileName = interpreter ?? OnPath("node", start.Environment["PATH"]!);
                    start.ArgumentList.Add("--max-old-space-size=108");
                    start.ArgumentList.Add(Path.Combine(clients, "nodejs", "bootstrap.js"));
                }
                workers.Command = string.Join(' ', [start.FileName, .. start.ArgumentList]);
                workers._processes.Add(Process.Start(start) ?? throw new InvalidOperationException("the runtime did not start"));
            }
            return workers;
        }
        catch
        {
            workers.Dispose();
            throw;
        }
    }

    /// <summary>Kills every runtime process (and its children); safe to call more than once.</summary>
    public void Kill()
    {
        foreach (var process in _processes)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }
        }
    }

    public void Dispose()
    {
        Kill();
        foreach (var process in _processes)
        {
            process.Dispose();
        }
        _task.Delete(recursive: true);
    }

    // The interpreter on the runtime's own PATH, as a sandbox would find it (not a shim earlier on this process's PATH).
    private static string OnPath(string name, string path) =>
        path.Split(':').Select(directory => Path.Combine(directory, name)).FirstOrDefault(File.Exists) ?? name;
}
