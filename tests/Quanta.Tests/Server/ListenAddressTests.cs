using Quanta.Server;

namespace Quanta.Tests.Server;

/// <summary>QUANTA_HOST is read as OLLAMA_HOST: the cases of Ollama's own envconfig TestHost, with its expected URLs.</summary>
public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("", "http://127.0.0.1:11434")]
    [InlineData("1.2.3.4", "http://1.2.3.4:11434")]
    [InlineData(":1234", "http://:1234")]
    [InlineData("1.2.3.4:1234", "http://1.2.3.4:1234")]
    [InlineData("example.com", "http://example.com:11434")]
    [InlineData("example.com:1234", "http://example.com:1234")]
    [InlineData(":0", "http://:0")]
    [InlineData(":66000", "http://:11434")]
    [InlineData(":-1", "http://:11434")]
    [InlineData("[::1]", "http://[::1]:11434")]
    [InlineData("[::]", "http://[::]:11434")]
    [InlineData("::1", "http://[::1]:11434")]
    [InlineData("[::1]:1337", "http://[::1]:1337")]
    [InlineData(" 1.2.3.4 ", "http://1.2.3.4:11434")]
    [InlineData("\"1.2.3.4\"", "http://1.2.3.4:11434")]
    [InlineData(" \" 1.2.3.4 \" ", "http://1.2.3.4:11434")]
    [InlineData("'1.2.3.4'", "http://1.2.3.4:11434")]
    [InlineData("http://1.2.3.4", "http://1.2.3.4:80")]
    [InlineData("http://1.2.3.4:4321", "http://1.2.3.4:4321")]
    [InlineData("https://1.2.3.4", "https://1.2.3.4:443")]
    [InlineData("https://1.2.3.4:4321", "https://1.2.3.4:4321")]
    [InlineData("https://example.com/ollama", "https://example.com:443/ollama")]
    [InlineData("ollama.com", "https://ollama.com:443")]
    public void Parses_as_Ollamas_envconfig_Host(string value, string expected)
    {
        Assert.Equal(expected, ListenAddress.Parse(value).ToString());
    }

    [Fact]
    public void An_unusable_port_falls_back_to_the_default_with_a_warning()
    {
        var address = ListenAddress.Parse(":66000");

        Assert.Equal(11434, address.Port);
        Assert.Equal("invalid port '66000' in QUANTA_HOST, using the default 11434", address.Warning);
        Assert.Null(ListenAddress.Parse("127.0.0.1:8080").Warning);
    }

    [Fact]
    public void Binds_the_address_given_any_for_no_host_and_loopback_for_localhost()
    {
        Assert.Equal(System.Net.IPAddress.Parse("127.0.0.1"), ListenAddress.Parse("").ResolveBindAddress());
        Assert.Equal(System.Net.IPAddress.Any, ListenAddress.Parse(":1234").ResolveBindAddress());
        Assert.Equal(System.Net.IPAddress.IPv6Loopback, ListenAddress.Parse("[::1]:1").ResolveBindAddress());
        Assert.Equal(System.Net.IPAddress.Loopback, ListenAddress.Parse("localhost:1").ResolveBindAddress());
    }
}
