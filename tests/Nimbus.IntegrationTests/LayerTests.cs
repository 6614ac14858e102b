namespace Nimbus.IntegrationTests;

/// <summary>PublishLayerVersion, GetLayerVersion, ListLayers, ListLayerVersions, DeleteLayerVersion, and functions using layers.</summary>
public sealed class LayerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public Task Layers_are_published_listed_and_unpacked_in_order_into_opt_for_a_node_function() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var layerA = NewLayerName();
        var layerB = NewLayerName();
        var zipA = FunctionZips.Build(FunctionZips.LayerNodeA);

        var publishedA = (await aws.LambdaAsync(
            "publish-layer-version", "--layer-name", layerA, "--description", "greeting a", "--compatible-runtimes", "nodejs20.x",
            "--zip-file", "fileb://" + WriteZip(scope, zipA))).Json();
        Assert.Equal(1, publishedA.Num("Version"));
        Assert.Equal(LayerArn(layerA), publishedA.Str("LayerArn"));
        Assert.Equal(LayerArn(layerA) + ":1", publishedA.Str("LayerVersionArn"));
        Assert.Equal("greeting a", publishedA.Str("Description"));
        Assert.Equal(["nodejs20.x"], publishedA.Array("CompatibleRuntimes").Select(r => r.GetString()));
        Assert.Equal(FunctionZips.CodeSha256(zipA), publishedA.Str("Content.CodeSha256"));
        Assert.Equal(zipA.Length, publishedA.Num("Content.CodeSize"));
        Assert.Equal(zipA, await scope.Server.Http.GetByteArrayAsync(new Uri(publishedA.Str("Content.Location"))));
        var arnB = (await aws.LambdaAsync(
            "publish-layer-version", "--layer-name", layerB, "--zip-file", "fileb://" + WriteZip(scope, FunctionZips.Build(FunctionZips.LayerNodeB))))
            .Json().Str("LayerVersionArn");

        var name = scope.NewFunctionName();
        var created = (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.NodeLayers), "nodejs20.x", "index.handler",
            "--layers", publishedA.Str("LayerVersionArn"))).Json();
        Assert.Equal(publishedA.Str("LayerVersionArn"), created.Array("Layers")[0].Str("Arn"));
        JsonAssert.Equal("""{"greeting":"hello ada","source":"a","extra":null,"opt":["nodejs"]}""", (await aws.InvokeAsync(name, "{}")).ShouldReturn());

        // Two layers: B is unpacked after A, so its "greeting" wins and its "extra" is there too.
        (await aws.LambdaAsync("update-function-configuration", "--function-name", name, "--layers", publishedA.Str("LayerVersionArn"), arnB)).ShouldSucceed();
        (await aws.LambdaAsync("wait", "function-updated", "--function-name", name)).ShouldSucceed();
        JsonAssert.Equal("""{"greeting":"hi ada","source":"b","extra":"only in b","opt":["nodejs"]}""", (await aws.InvokeAsync(name, "{}")).ShouldReturn());
        var configuration = (await aws.LambdaAsync("get-function-configuration", "--function-name", name)).Json();
        Assert.Equal([publishedA.Str("LayerVersionArn"), arnB], configuration.Array("Layers").Select(l => l.Str("Arn")));
        Assert.Equal(zipA.Length, configuration.Array("Layers")[0].Num("CodeSize"));

        var secondA = (await aws.LambdaAsync(
            "publish-layer-version", "--layer-name", layerA, "--zip-file", "fileb://" + WriteZip(scope, zipA), "--compatible-runtimes", "python3.12")).Json();
        Assert.Equal(2, secondA.Num("Version"));
        var versions = (await aws.LambdaAsync("list-layer-versions", "--layer-name", layerA)).Json();
        Assert.Equal([2L, 1L], versions.Array("LayerVersions").Select(v => v.Num("Version")));
        var forNode = (await aws.LambdaAsync("list-layer-versions", "--layer-name", layerA, "--compatible-runtime", "nodejs20.x")).Json();
        Assert.Equal([1L], forNode.Array("LayerVersions").Select(v => v.Num("Version")));

        var layers = (await aws.LambdaAsync("list-layers")).Json().Array("Layers");
        var listedA = layers.Single(l => l.Str("LayerName") == layerA);
        Assert.Equal(LayerArn(layerA), listedA.Str("LayerArn"));
        Assert.Equal(LayerArn(layerA) + ":2", listedA.Str("LatestMatchingVersion.LayerVersionArn"));
        Assert.Contains(layers, l => l.Str("LayerName") == layerB);

        var fetched = (await aws.LambdaAsync("get-layer-version", "--layer-name", layerA, "--version-number", "1")).Json();
        Assert.Equal(publishedA.Str("LayerVersionArn"), fetched.Str("LayerVersionArn"));
        Assert.Equal(publishedA.Str("CreatedDate"), fetched.Str("CreatedDate"));
        var byArn = (await aws.LambdaAsync("get-layer-version-by-arn", "--arn", publishedA.Str("LayerVersionArn"))).Json();
        Assert.Equal(FunctionZips.CodeSha256(zipA), byArn.Str("Content.CodeSha256"));

        // A deleted layer version is gone from the API, but a function that uses it keeps its files.
        (await aws.LambdaAsync("delete-layer-version", "--layer-name", layerA, "--version-number", "1")).ShouldSucceed();
        Assert.Equal(
            "The resource you requested does not exist.",
            (await aws.LambdaAsync("get-layer-version", "--layer-name", layerA, "--version-number", "1")).ShouldFailWith("ResourceNotFoundException"));
        (await aws.LambdaAsync("update-function-configuration", "--function-name", name, "--description", "fresh instance")).ShouldSucceed();
        Assert.Equal("b", (await aws.InvokeAsync(name, "{}")).ShouldReturn().Str("source"));

        var removed = await scope.Lambda.SendAsync(HttpMethod.Put, $"{LambdaHttp.FunctionsPath}/{name}/configuration", VersionTests.Json("""{"Layers":[]}"""));
        Assert.True(removed.StatusCode == 200, removed.ToString());
        Assert.False((await aws.LambdaAsync("get-function-configuration", "--function-name", name)).Json().Has("Layers"));
        (await aws.LambdaAsync("delete-layer-version", "--layer-name", layerA, "--version-number", "2")).ShouldSucceed();
        (await aws.LambdaAsync("delete-layer-version", "--layer-name", layerB, "--version-number", "1")).ShouldSucceed();
    });

    [Fact]
    public Task A_python_function_imports_a_module_from_its_layer() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V1);
        var layer = NewLayerName();
        var arn = (await aws.LambdaAsync(
            "publish-layer-version", "--layer-name", layer, "--compatible-runtimes", "python3.12",
            "--zip-file", "fileb://" + WriteZip(scope, FunctionZips.Build(FunctionZips.LayerPython)))).Json().Str("LayerVersionArn");
        var name = scope.NewFunctionName();
        (await aws.CreateFunctionAsync(name, FunctionZips.Build(FunctionZips.PythonLayers), "python3.12", "lambda_function.lambda_handler",
            "--layers", arn)).ShouldSucceed();

        JsonAssert.Equal("""{"greeting":"hello ada from a layer"}""", (await aws.InvokeAsync(name, """{"name":"ada"}""")).ShouldReturn());

        // A published version keeps the layers it was published with.
        Assert.Equal(arn, (await aws.LambdaAsync("publish-version", "--function-name", name)).Json().Array("Layers")[0].Str("Arn"));
        (await aws.LambdaAsync("delete-layer-version", "--layer-name", layer, "--version-number", "1")).ShouldSucceed();
    });

    /// <summary>Through the AWS CLI v2 (the lifecycle above runs on v1; both speak the same rest-json), with v2's listing and getting too.</summary>
    [Fact]
    public Task Function_layers_are_checked_with_AWS_errors() => fixture.RunAsync(async scope =>
    {
        var aws = scope.Cli(AwsCli.V2);
        var layer = NewLayerName();
        var zip = FunctionZips.Build(FunctionZips.LayerNodeA);
        var first = (await aws.LambdaAsync("publish-layer-version", "--layer-name", layer, "--zip-file", "fileb://" + WriteZip(scope, zip))).Json().Str("LayerVersionArn");
        var second = (await aws.LambdaAsync("publish-layer-version", "--layer-name", LayerArn(layer), "--zip-file", "fileb://" + WriteZip(scope, zip))).Json().Str("LayerVersionArn");
        Assert.Equal(LayerArn(layer) + ":2", second);
        Assert.Equal([2L, 1L], (await aws.LambdaAsync("list-layer-versions", "--layer-name", layer)).Json().Array("LayerVersions").Select(v => v.Num("Version")));
        Assert.Equal(FunctionZips.CodeSha256(zip), (await aws.LambdaAsync("get-layer-version-by-arn", "--arn", first)).Json().Str("Content.CodeSha256"));
        var name = scope.NewFunctionName();
        var functionZip = FunctionZips.Build(FunctionZips.NodeLayers);

        Task<CliResult> CreateAsync(params string[] layers) =>
            aws.CreateFunctionAsync(name, functionZip, "nodejs20.x", "index.handler", ["--layers", .. layers]);

        Assert.Equal("Cannot reference more than 5 layers.", (await CreateAsync(Enumerable.Repeat(first, 6).ToArray())).ShouldFailWith("InvalidParameterValueException"));
        Assert.Equal($"Layer version {LayerArn(layer)}:9 does not exist.", (await CreateAsync(LayerArn(layer) + ":9")).ShouldFailWith("InvalidParameterValueException"));
        Assert.Equal(
            $"Two different versions of the same layer are not allowed to be referenced in the same function. {first} and {second} are versions of the same layer.",
            (await CreateAsync(first, second)).ShouldFailWith("InvalidParameterValueException"));
        Assert.StartsWith(
            $"1 validation error detected: Value '[{LayerArn(layer)}]' at 'layers' failed to satisfy constraint:",
            (await CreateAsync(LayerArn(layer))).ShouldFailWith("ValidationException"), StringComparison.Ordinal);
        Assert.Equal(
            "Layers are not in the same region as the function. Layers are expected to be in region us-east-1.",
            (await CreateAsync(first.Replace("us-east-1", "eu-west-1", StringComparison.Ordinal))).ShouldFailWith("InvalidParameterValueException"));

        var missing = await scope.Lambda.SendAsync(HttpMethod.Get, $"/2018-10-31/layers/{layer}/versions/7");
        Assert.Equal("The resource you requested does not exist.", missing.ShouldBeError(404, "ResourceNotFoundException").Str("Message"));
        (await aws.LambdaAsync("delete-layer-version", "--layer-name", layer, "--version-number", "1")).ShouldSucceed();
        (await aws.LambdaAsync("delete-layer-version", "--layer-name", layer, "--version-number", "2")).ShouldSucceed();
    });

    private static string NewLayerName() => $"l-{Guid.NewGuid():N}"[..20];

    private static string LayerArn(string name) => $"arn:aws:lambda:{Aws.Region}:{Aws.AccountId}:layer:{name}";

    private static string WriteZip(TestScope scope, byte[] zip)
    {
        var path = Path.Combine(scope.ScratchDirectory, $"{Guid.NewGuid():N}.zip");
        File.WriteAllBytes(path, zip);
        return path;
    }
}
