namespace Quanta.Inference.Sampling;

/// <summary>
/// <c>std::mt19937</c>: the 32-bit Mersenne Twister with the C++ standard's seeding
/// (<c>x[i] = 1812433253 · (x[i-1] ^ (x[i-1] &gt;&gt; 30)) + i</c>), the generator llama.cpp's samplers draw
/// from. Its 10000th output for the default seed 5489 is 4123659995, as the standard requires.
/// </summary>
internal sealed class Mt19937
{
    const int StateSize = 624;
    const int ShiftSize = 397;
    readonly uint[] state = new uint[StateSize];
    int index;

    public Mt19937(uint seed) => Seed(seed);

    /// <summary>Re-seeds, as <c>rng.seed(seed)</c>.</summary>
    public void Seed(uint seed)
    {
        state[0] = seed;
        for (var i = 1; i < StateSize; i++)
        {
            var previous = state[i - 1];
            state[i] = unchecked((1812433253u * (previous ^ (previous >> 30))) + (uint)i);
        }
        index = StateSize;
    }

    /// <summary>The next 32-bit output.</summary>
    public uint Next()
    {
        if (index >= StateSize)
        {
            Twist();
        }
        var y = state[index++];
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c5680u;
        y ^= (y << 15) & 0xefc60000u;
        y ^= y >> 18;
        return y;
    }

    void Twist()
    {
        for (var i = 0; i < StateSize; i++)
        {
            var y = (state[i] & 0x80000000u) | (state[(i + 1) % StateSize] & 0x7fffffffu);
            state[i] = state[(i + ShiftSize) % StateSize] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908b0dfu : 0u);
        }
        index = 0;
    }
}
