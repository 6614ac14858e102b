using Nimbus.Logs;

namespace Nimbus.Tests.Logs;

public sealed class FilterPatternTests
{
    private const string Error = "2026-12-03T10:00:00.000Z\tabc\tERROR\tpayment failed: card declined";
    private const string Info = "2026-12-03T10:00:00.000Z\tabc\tINFO\tpayment accepted";
    private const string Warn = "2026-12-03T10:00:00.000Z\tabc\tWARN\tretrying payment";
    private const string Json = """{"level":"ERROR","latency":150,"user":{"id":7,"name":"ada","tags":["vip","beta"]},"ok":false,"gone":null,"code":"E42"}""";

    private static bool Matches(string pattern, string message)
    {
        var parsed = FilterPattern.Parse(pattern, out var error);
        Assert.True(parsed is not null, $"'{pattern}' should parse: {error}");
        return parsed.Matches(message);
    }

    private static string Rejects(string pattern)
    {
        var parsed = FilterPattern.Parse(pattern, out var error);
        Assert.True(parsed is null, $"'{pattern}' should be refused");
        Assert.False(string.IsNullOrEmpty(error));
        return error!;
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\"\"")]
    public void An_empty_pattern_matches_everything(string pattern)
    {
        Assert.True(Matches(pattern, Info));
        Assert.True(Matches(pattern, ""));
    }

    [Fact]
    public void A_term_matches_messages_containing_it_case_sensitively()
    {
        Assert.True(Matches("ERROR", Error));
        Assert.False(Matches("ERROR", Info));
        Assert.False(Matches("error", Error));
    }

    [Fact]
    public void Several_terms_must_all_match()
    {
        Assert.True(Matches("ERROR declined", Error));
        Assert.False(Matches("ERROR accepted", Error));
    }

    [Fact]
    public void A_quoted_phrase_matches_as_a_whole_with_its_spaces_and_punctuation()
    {
        Assert.True(Matches("\"payment failed: card\"", Error));
        Assert.False(Matches("\"failed payment\"", Error));
        Assert.True(Matches("\"say \\\"hi\\\"\"", "they say \"hi\" twice"));
    }

    [Fact]
    public void Question_mark_terms_are_alternatives_of_which_one_must_match()
    {
        Assert.True(Matches("?ERROR ?WARN", Error));
        Assert.True(Matches("?ERROR ?WARN", Warn));
        Assert.False(Matches("?ERROR ?WARN", Info));
        Assert.True(Matches("?\"card declined\" ?timeout", Error));
    }

    [Fact]
    public void Minus_terms_exclude_messages_containing_them()
    {
        Assert.True(Matches("payment -declined", Info));
        Assert.False(Matches("payment -declined", Error));
        Assert.False(Matches("-\"card declined\"", Error));
        Assert.True(Matches("-\"card declined\"", Warn));
    }

    [Fact]
    public void Terms_alternatives_and_exclusions_combine()
    {
        Assert.True(Matches("payment ?ERROR ?WARN -accepted", Error));
        Assert.True(Matches("payment ?ERROR ?WARN -accepted", Warn));
        Assert.False(Matches("payment ?ERROR ?WARN -accepted", Info));
    }

    [Theory]
    [InlineData("""{ $.level = "ERROR" }""", true)]
    [InlineData("""{ $.level = ERROR }""", true)]
    [InlineData("""{$.level="ERROR"}""", true)]
    [InlineData("""{ $.level = "INFO" }""", false)]
    [InlineData("""{ $.level != "INFO" }""", true)]
    [InlineData("""{ $.level = "ERR*" }""", true)]
    [InlineData("""{ $.level = "*RO*" }""", true)]
    [InlineData("""{ $.level = "X*" }""", false)]
    [InlineData("""{ $.user.name = "ada" }""", true)]
    [InlineData("""{ $.user.tags[1] = "beta" }""", true)]
    [InlineData("""{ $.user.tags[5] = "beta" }""", false)]
    [InlineData("""{ $.missing = "x" }""", false)]
    [InlineData("""{ $.code = "E42" }""", true)]
    public void JSON_string_comparisons_select_a_field_and_compare_its_text(string pattern, bool expected) =>
        Assert.Equal(expected, Matches(pattern, Json));

    [Theory]
    [InlineData("{ $.latency > 100 }", true)]
    [InlineData("{ $.latency > 150 }", false)]
    [InlineData("{ $.latency >= 150 }", true)]
    [InlineData("{ $.latency < 200 }", true)]
    [InlineData("{ $.latency <= 149.5 }", false)]
    [InlineData("{ $.latency = 150 }", true)]
    [InlineData("{ $.latency = 1.5e2 }", true)]
    [InlineData("{ $.latency != 150 }", false)]
    [InlineData("{ $.user.id = 7 }", true)]
    [InlineData("{ $.level > 1 }", false)]
    [InlineData("{ $.missing > 1 }", false)]
    public void JSON_numeric_comparisons_compare_numbers(string pattern, bool expected) =>
        Assert.Equal(expected, Matches(pattern, Json));

    [Theory]
    [InlineData("{ $.gone IS NULL }", true)]
    [InlineData("{ $.level IS NULL }", false)]
    [InlineData("{ $.ok IS FALSE }", true)]
    [InlineData("{ $.ok IS TRUE }", false)]
    [InlineData("{ $.nothere NOT EXISTS }", true)]
    [InlineData("{ $.level NOT EXISTS }", false)]
    public void JSON_null_boolean_and_existence_checks(string pattern, bool expected) =>
        Assert.Equal(expected, Matches(pattern, Json));

    [Theory]
    [InlineData("""{ $.level = "ERROR" && $.latency > 100 }""", true)]
    [InlineData("""{ $.level = "ERROR" && $.latency > 500 }""", false)]
    [InlineData("""{ $.level = "INFO" || $.latency > 100 }""", true)]
    [InlineData("""{ $.level = "INFO" || $.latency > 500 }""", false)]
    [InlineData("""{ ($.level = "INFO" || $.level = "ERROR") && $.user.id = 7 }""", true)]
    [InlineData("""{ $.level = "INFO" || ($.level = "ERROR" && $.user.id = 8) }""", false)]
    [InlineData("""{ $.level = "INFO" && $.latency > 100 || $.ok IS FALSE }""", true)]
    public void JSON_conditions_combine_with_and_or_and_parentheses(string pattern, bool expected) =>
        Assert.Equal(expected, Matches(pattern, Json));

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{broken json")]
    [InlineData("[1,2,3]")]
    [InlineData("2026-12-03T10:00:00.000Z\tabc\tINFO\t{\"level\":\"ERROR\"}")]
    public void A_JSON_pattern_never_matches_a_message_that_is_not_a_JSON_object(string message) =>
        Assert.False(Matches("""{ $.level = "ERROR" }""", message));

    [Fact]
    public void A_percent_pattern_is_a_regular_expression()
    {
        Assert.True(Matches("%fail(ed|ure)%", Error));
        Assert.False(Matches("%^payment%", Error));
    }

    [Theory]
    [InlineData("\"unterminated")]
    [InlineData("{ $.level = \"ERROR\" ")]
    [InlineData("{ level = \"ERROR\" }")]
    [InlineData("{ $.level }")]
    [InlineData("{ $.level = }")]
    [InlineData("{ $.level > \"ERROR\" }")]
    [InlineData("{ $. = 1 }")]
    [InlineData("{ $.a[x] = 1 }")]
    [InlineData("{ $.a = 1 } trailing")]
    [InlineData("{ $.a = 1 && }")]
    [InlineData("{ $.a IS MAYBE }")]
    [InlineData("? ERROR")]
    [InlineData("ERR\"OR")]
    [InlineData("%(unclosed%")]
    public void A_malformed_pattern_is_refused_with_a_reason(string pattern) =>
        Assert.Contains(pattern.Trim(), Rejects(pattern), StringComparison.Ordinal);

    private const string Access = "127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /apache_pb.gif HTTP/1.0\" 404 1534";
    private const string Ok = "10.0.0.2 - ada [10/Oct/2000:13:25:16 -0700] \"GET /index.html HTTP/1.0\" 200 512";

    [Fact]
    public void A_space_delimited_event_splits_at_spaces_and_keeps_quoted_and_bracketed_text_whole()
    {
        Assert.Equal(
            ["127.0.0.1", "-", "frank", "10/Oct/2000:13:25:15 -0700", "GET /apache_pb.gif HTTP/1.0", "404", "1534"],
            FilterPattern.SpaceDelimitedPattern.Split(Access));
    }

    [Theory]
    [InlineData("[ip, user, username, timestamp, request, status_code, bytes]", true, true)]
    [InlineData("[ip, user, username, timestamp, request, status_code = 404, bytes]", true, false)]
    [InlineData("[ip, user, username, timestamp, request, status_code = 404, bytes > 1000]", true, false)]
    [InlineData("[ip, user, username, timestamp, request, status_code, bytes > 1000]", true, false)]
    [InlineData("[ip, user, username, timestamp, request, status_code != 404, bytes]", false, true)]
    [InlineData("[ip, user, username, timestamp, request, status_code = 4*, bytes]", true, false)]
    [InlineData("[ip, user, username, timestamp, request = *html*, status_code, bytes]", false, true)]
    [InlineData("[ip, user, username, timestamp, request = \"GET /index*\", status_code, bytes]", false, true)]
    [InlineData("[ip = 127.0.0.1, ...]", true, false)]
    [InlineData("[ip = 10.*, ...]", false, true)]
    [InlineData("[..., status_code = 200, bytes]", false, true)]
    [InlineData("[ip, ..., bytes <= 512]", false, true)]
    [InlineData("[ip, user, username = frank || username = ada, ...]", true, true)]
    [InlineData("[ip, user, username, ..., status_code = 404 && bytes > 1000, bytes]", true, false)]
    [InlineData("[ip, user, username = %^fr.nk$%, ...]", true, false)]
    [InlineData("[timestamp = \"*13:25:16*\", ...]", false, false)]
    [InlineData("[ip, user, username, timestamp, request, status_code]", false, false)]
    [InlineData("[a, b, c, d, e, f, g, h]", false, false)]
    [InlineData("[...]", true, true)]
    public void Space_delimited_patterns_match_fields_by_position(string pattern, bool matchesAccess, bool matchesOk)
    {
        Assert.Equal(matchesAccess, Matches(pattern, Access));
        Assert.Equal(matchesOk, Matches(pattern, Ok));
    }

    [Fact]
    public void A_field_may_be_compared_with_the_others_and_numbers_only_match_numbers()
    {
        Assert.True(Matches("[level, code = 5* && level = ERROR, ...]", "ERROR 503 upstream"));
        Assert.False(Matches("[level, code = 5* && level = ERROR, ...]", "WARN 503 upstream"));
        Assert.False(Matches("[level, code > 100]", "ERROR none"));
        Assert.True(Matches("[level, code != 100]", "ERROR none"));
        Assert.True(Matches("[w1, w2]", "two\twords"));
    }

    [Theory]
    [InlineData("[ip, user")]
    [InlineData("[ip,, user]")]
    [InlineData("[ip, = 5]")]
    [InlineData("[ip, code > abc]")]
    [InlineData("[ip, code = ]")]
    [InlineData("[ip, code = 5 && nope = 3]")]
    [InlineData("[ip, code ~ 5]")]
    [InlineData("[ip, code = \"open]")]
    public void A_malformed_space_delimited_pattern_is_refused_with_a_reason(string pattern) =>
        Assert.Contains("Invalid filter pattern", Rejects(pattern), StringComparison.Ordinal);
}
