using System.IO;
using System.Text;

namespace Net10Function;

public static class Function
{
    public static Stream Handle(Stream input) =>
        new MemoryStream(Encoding.UTF8.GetBytes("\"" + System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription + "\""));
}
