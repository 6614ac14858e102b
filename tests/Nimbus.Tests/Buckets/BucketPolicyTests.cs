using System.IO.Compression;
using Nimbus.Buckets;
using Nimbus.Storage;

namespace Nimbus.Tests.Buckets;

/// <summary>
/// Pure checks behind issue 10's last gaps: S3's validation of a bucket policy (MalformedPolicy) and the zip check
/// that refuses an entry whose data is longer than its header declares.
/// </summary>
public sealed class BucketPolicyTests
{
    [Theory]
    [InlineData("""{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}""", null)]
    [InlineData("""{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":["s3:*"],"Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/private/a.txt"]}]}""", null)]
    [InlineData("""{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}]}""", "Principal")]
    [InlineData("""{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}""", "Policy has invalid resource")]
    [InlineData("""{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"arn:aws:s3:::photos/*"}]}""", "Policy has invalid action")]
    [InlineData("""{"Statement":[""", "not valid JSON")]
    public void A_bucket_policy_must_name_principals_S3_actions_and_this_buckets_resources(string policy, string? problem)
    {
        var found = BucketsApi.PolicyProblem(policy, "photos");
        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.NotNull(found);
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_zip_entry_whose_data_is_longer_than_its_header_declares_is_found()
    {
        var honest = Zip(CompressionLevel.Optimal, 5000);
        Assert.Null(CodeStore.OverlongEntry(honest));
        Assert.Equal("a.txt", CodeStore.OverlongEntry(Declare(honest, 100)));

        var stored = Zip(CompressionLevel.NoCompression, 300);
        Assert.Null(CodeStore.OverlongEntry(stored));
        Assert.Equal("a.txt", CodeStore.OverlongEntry(Declare(stored, 10)));
    }

    private static byte[] Zip(CompressionLevel level, int bytes)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = archive.CreateEntry("a.txt", level).Open();
            entry.Write(Enumerable.Range(0, bytes).Select(i => (byte)(i % 251)).ToArray());
        }

        return buffer.ToArray();
    }

    /// <summary>Rewrites the entry's uncompressed size in its local and central headers.</summary>
    private static byte[] Declare(byte[] zip, uint size)
    {
        var copy = zip.ToArray();
        for (var i = 0; i + 4 <= copy.Length; i++)
        {
            if (copy[i] == 'P' && copy[i + 1] == 'K' && copy[i + 2] == 3 && copy[i + 3] == 4)
            {
                BitConverter.TryWriteBytes(copy.AsSpan(i + 22, 4), size);
            }
            else if (copy[i] == 'P' && copy[i + 1] == 'K' && copy[i + 2] == 1 && copy[i + 3] == 2)
            {
                BitConverter.TryWriteBytes(copy.AsSpan(i + 24, 4), size);
            }
        }

        return copy;
    }
}
