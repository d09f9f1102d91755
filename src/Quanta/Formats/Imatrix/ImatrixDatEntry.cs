namespace Quanta.Formats.Imatrix;

/// <summary>
/// One entry of a legacy <c>.dat</c> importance matrix: the weight's name, the number of matrix multiplications
/// (<c>ncall</c>) its statistics were gathered over, and per column the mean squared activation times that
/// count (llama-imatrix writes <c>sum / count · ncall</c>; llama-quantize divides by <c>ncall</c> again).
/// </summary>
public sealed record ImatrixDatEntry(string Name, int Calls, float[] Values);
