namespace Nimbus.Functions;

/// <summary>Either a value or the AWS-shaped error that explains why there is none.</summary>
internal readonly record struct LambdaResult<T>(T? Value, LambdaError? Error)
{
    public bool IsError => Error is not null;

    public static implicit operator LambdaResult<T>(T value) => new(value, null);

    public static implicit operator LambdaResult<T>(LambdaError error) => new(default, error);
}
