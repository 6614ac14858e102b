using System.Globalization;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;

namespace Nimbus.Buckets;

/// <summary>S3's XML: response documents in the 2006-03-01 namespace, error documents, and its time formats.</summary>
internal static class S3Xml
{
    private const long MaxRequestXmlBytes = 2 * 1024 * 1024;

    public static readonly XNamespace Ns = S3Wire.Namespace;

    private static readonly XmlWriterSettings WriterSettings = new()
    {
        Async = true,
        Encoding = new UTF8Encoding(false),
        Indent = false,
    };

    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        Async = true,
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreWhitespace = true,
    };

    /// <summary>An element in S3's namespace; null content is left out, so optional elements cost nothing.</summary>
    public static XElement E(string name, params object?[] content) => new(Ns + name, content);

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string HttpDate(DateTimeOffset time) => time.UtcDateTime.ToString("r", CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "true" : "false";

    public static async Task WriteAsync(HttpContext context, XElement root, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = S3Wire.XmlContentType;
        MakeXmlSafe(root);
        await using var writer = XmlWriter.Create(context.Response.Body, WriterSettings);
        await new XDocument(new XDeclaration("1.0", "UTF-8", null), root).SaveAsync(writer, context.RequestAborted).ConfigureAwait(false);
        await writer.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>S3's error document (no namespace); HEAD answers carry the status alone.</summary>
    public static async Task WriteErrorAsync(HttpContext context, S3Error error, string requestId)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        response.Headers["x-amz-error-code"] = error.Code;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        var document = new XElement("Error",
            new XElement("Code", error.Code),
            new XElement("Message", error.Message),
            error.BucketName is null ? null : new XElement("BucketName", error.BucketName),
            error.Key is null ? null : new XElement("Key", error.Key),
            error.UploadId is null ? null : new XElement("UploadId", error.UploadId),
            new XElement("Resource", context.Request.Path.Value),
            new XElement("RequestId", requestId),
            new XElement("HostId", HostId(requestId)));
        response.ContentType = S3Wire.XmlContentType;
        MakeXmlSafe(document);
        await using var writer = XmlWriter.Create(response.Body, WriterSettings);
        await new XDocument(new XDeclaration("1.0", "UTF-8", null), document).SaveAsync(writer, context.RequestAborted).ConfigureAwait(false);
        await writer.FlushAsync().ConfigureAwait(false);
    }

    public static string HostId(string requestId) => Convert.ToBase64String(Encoding.ASCII.GetBytes("nimbus/" + requestId));

    /// <summary>Parses a request document; null when it is not well-formed XML (the caller answers MalformedXML).</summary>
    public static async Task<XElement?> ReadAsync(Stream body, CancellationToken cancellationToken) =>
        (await ReadOptionalAsync(body, cancellationToken).ConfigureAwait(false)).Root;

    /// <summary>
    /// Parses a request document whose body may be empty (CreateBucket's): <c>Empty</c> when there was no byte,
    /// else <c>Root</c> null when it is not well-formed XML.
    /// </summary>
    public static async Task<(XElement? Root, bool Empty)> ReadOptionalAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxRequestXmlBytes)
            {
                return (null, false);
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            return (null, true);
        }

        buffer.Position = 0;
        try
        {
            using var reader = XmlReader.Create(buffer, ReaderSettings);
            return ((await XDocument.LoadAsync(reader, LoadOptions.None, cancellationToken).ConfigureAwait(false)).Root, false);
        }
        catch (XmlException)
        {
            return (null, false);
        }
    }

    /// <summary>
    /// Replaces characters XML 1.0 cannot carry (NUL and most C0 controls, lone surrogates: a key or upload id may hold
    /// them) with U+FFFD, so a document naming them is still one every client can parse instead of a writer exception.
    /// Clients that need such keys exactly list them with <c>encoding-type=url</c>.
    /// </summary>
    internal static void MakeXmlSafe(XElement root)
    {
        foreach (var text in root.DescendantNodes().OfType<XText>())
        {
            if (!IsXmlSafe(text.Value))
            {
                text.Value = XmlSafe(text.Value);
            }
        }
    }

    internal static string XmlSafe(string value)
    {
        var builder = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (XmlConvert.IsXmlChar(value[i]))
            {
                builder.Append(value[i]);
            }
            else if (i + 1 < value.Length && XmlConvert.IsXmlSurrogatePair(value[i + 1], value[i]))
            {
                builder.Append(value[i]).Append(value[i + 1]);
                i++;
            }
            else
            {
                builder.Append('\uFFFD');
            }
        }

        return builder.ToString();
    }

    private static bool IsXmlSafe(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (XmlConvert.IsXmlChar(value[i]))
            {
                continue;
            }

            if (i + 1 < value.Length && XmlConvert.IsXmlSurrogatePair(value[i + 1], value[i]))
            {
                i++;
                continue;
            }

            return false;
        }

        return true;
    }

    /// <summary>The child elements named <paramref name="name"/>, in whatever namespace the client used.</summary>
    public static IEnumerable<XElement> Children(XElement parent, string name) => parent.Elements().Where(e => e.Name.LocalName == name);

    public static string? Child(XElement parent, string name) => Children(parent, name).FirstOrDefault()?.Value;
}
