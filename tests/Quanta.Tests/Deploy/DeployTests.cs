using System.Diagnostics;
using System.Text.Json;

namespace Quanta.Tests.Deploy;

/// <summary>
/// deploy/: the Kubernetes Indexed Job validated offline against the Job and PersistentVolumeClaim schemas (npm
/// <c>kubernetes-models</c>, installed in tests/kubernetes by .ci/run with <c>npm ci</c>; for a local run do the
/// same there), and the Slurm script checked by <c>bash -n</c> and run with a stand-in <c>quanta</c>.
/// </summary>
public sealed class DeployTests
{
    static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Quanta.slnx")))
                {
                    return directory.FullName;
                }
            }
            throw new InvalidOperationException($"no Quanta.slnx above {AppContext.BaseDirectory}");
        }
    }

    [Fact]
    public async Task The_kubernetes_manifest_is_a_valid_indexed_job_passing_index_plus_one_to_shard()
    {
        var folder = Path.Combine(Root, "tests", "kubernetes");
        Assert.True(Directory.Exists(Path.Combine(folder, "node_modules", "kubernetes-models")),
            $"kubernetes-models is not installed in {folder}: run 'npm ci' there (.ci/run does)");
        var (exit, stdout, stderr) = await Run("node", folder, null, Path.Combine(folder, "validate.mjs"), Path.Combine(Root, "deploy", "kubernetes", "quantize-job.yaml"));
        Assert.True(exit == 0, stderr);

        using var result = JsonDocument.Parse(stdout);
        // The validator is live: a Job with a string for an integer is refused.
        Assert.Contains("completions must be integer", result.RootElement.GetProperty("brokenError").GetString());
        var documents = result.RootElement.GetProperty("documents").EnumerateArray().ToArray();
        var claim = Assert.Single(documents, d => d.GetProperty("kind").GetString() == "PersistentVolumeClaim");
        Assert.Equal(["ReadWriteMany"], claim.GetProperty("spec").GetProperty("accessModes").EnumerateArray().Select(m => m.GetString()));
        var job = Assert.Single(documents, d => d.GetProperty("kind").GetString() == "Job");

        var spec = job.GetProperty("spec");
        Assert.Equal("Indexed", spec.GetProperty("completionMode").GetString());
        var shards = spec.GetProperty("completions").GetInt32();
        Assert.Equal(shards, spec.GetProperty("parallelism").GetInt32());
        var pod = spec.GetProperty("template").GetProperty("spec");
        // backoffLimitPerIndex needs Never: a failed pod is replaced, so each retry is a fresh task for the same index.
        Assert.Equal("Never", pod.GetProperty("restartPolicy").GetString());
        var container = Assert.Single(pod.GetProperty("containers").EnumerateArray());
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:", container.GetProperty("image").GetString());
        var env = container.GetProperty("env").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("value").GetString());
        Assert.Equal(shards.ToString(System.Globalization.CultureInfo.InvariantCulture), env["SHARDS"]);

        var script = string.Join("\n", container.GetProperty("args").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("dotnet tool install Quanta.Cli --tool-path /tools --add-source /models/nupkg", script);
        Assert.Contains("--shard \"$((JOB_COMPLETION_INDEX + 1))/$SHARDS\"", script);

        // The pod's script, run with stand-ins for dotnet and quanta: index 0 writes shard 1, index 7 shard 8.
        using var dir = new TempDirectory();
        var bin = Directory.CreateDirectory(dir.File("bin")).FullName;
        StandIn(Path.Combine(bin, "dotnet"), "exit 0");
        StandIn(dir.File("quanta"), "echo \"$@\"");
        foreach (var index in new[] { 0, shards - 1 })
        {
            var podScript = script.Replace("/tools/quanta", dir.File("quanta"), StringComparison.Ordinal);
            var variables = env.ToDictionary(e => e.Key, e => e.Value?.Replace("/models", dir.Path, StringComparison.Ordinal));
            variables["JOB_COMPLETION_INDEX"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
            variables["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
            var (podExit, podOut, podError) = await Run("bash", dir.Path, variables, "-c", podScript);
            Assert.True(podExit == 0, podError);
            Assert.Equal($"quantize {dir.Path}/in/model.gguf {dir.Path}/out/model.gguf Q4_K_M --shard {index + 1}/{shards}", podOut.Trim());
        }
    }

    [Fact]
    public async Task The_slurm_script_parses_and_passes_the_array_task_id_to_shard()
    {
        var script = Path.Combine(Root, "deploy", "slurm", "quantize.sbatch");
        var (exit, _, stderr) = await Run("bash", Root, null, "-n", script);
        Assert.True(exit == 0, stderr);
        var text = await File.ReadAllTextAsync(script);
        Assert.Contains("#SBATCH --array=1-8", text);

        using var dir = new TempDirectory();
        StandIn(dir.File("quanta"), "echo \"$@\"");
        var variables = new Dictionary<string, string?>
        {
            ["PATH"] = dir.Path + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["SLURM_ARRAY_TASK_ID"] = "3",
            ["SLURM_ARRAY_TASK_MAX"] = "8",
            ["SLURM_CPUS_PER_TASK"] = "16",
        };
        var output = dir.File("out/model.gguf");
        var (runExit, runOut, runError) = await Run("bash", dir.Path, variables, script, "/shared/model.gguf", output, "Q4_K_M", "--imatrix", "m.imatrix");
        Assert.True(runExit == 0, runError);
        Assert.Equal($"quantize /shared/model.gguf {output} Q4_K_M --shard 3/8 --threads 16 --imatrix m.imatrix", runOut.Trim());

        // Outside an array it says so rather than writing shard "/N".
        variables.Remove("SLURM_ARRAY_TASK_ID");
        var (noArray, _, error) = await Run("bash", dir.Path, variables, script, "in.gguf", output, "Q4_K_M");
        Assert.NotEqual(0, noArray);
        Assert.Contains("job array", error);
    }

    static void StandIn(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/bash\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    static async Task<(int Exit, string Out, string Error)> Run(string program, string directory, IReadOnlyDictionary<string, string?>? variables, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in variables ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
