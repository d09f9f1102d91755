using Xunit;

namespace Quanta.Tests;

/// <summary>
/// Tests that start processes and race a signal (or a kill) against their progress. Run in parallel with the rest of
/// the suite on a 2-core machine, the other test classes' processes starve them and the race decides itself the other
/// way (a quantization finishes before SIGHUP's handler runs; a server needs more than the test's 30 s to see SIGINT);
/// xunit runs a collection with parallelisation disabled on its own, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessTimingCollection
{
    public const string Name = "Process timing";
}
