namespace Quanta.Inference.Kernels;

/// <summary>
/// The observer of the forward passes run in the current async flow (<see cref="MatMul"/> reports to it), so a
/// caller can watch any model's multiplications without the model knowing:
/// <c>using (ActivationObservation.Begin(observer)) model.Evaluate(...)</c>. Outside such a scope there is none
/// and a multiplication pays one read of an <see cref="AsyncLocal{T}"/>.
/// </summary>
public static class ActivationObservation
{
    static readonly AsyncLocal<IActivationObserver?> CurrentObserver = new();

    /// <summary>The observer in effect here, or null.</summary>
    public static IActivationObserver? Current => CurrentObserver.Value;

    /// <summary>Makes <paramref name="observer"/> current until the returned scope is disposed (scopes nest).</summary>
    public static IDisposable Begin(IActivationObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var previous = CurrentObserver.Value;
        CurrentObserver.Value = observer;
        return new Scope(previous);
    }

    sealed class Scope(IActivationObserver? previous) : IDisposable
    {
        bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                CurrentObserver.Value = previous;
            }
        }
    }
}
