package nimbus.runtime;

import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * LambdaLogger output when the function's LoggingConfig says JSON (AWS_LAMBDA_LOG_FORMAT): each message is AWS's
 * Java record {@code {"timestamp","level","message","AWSRequestId"}}, and messages below AWS_LAMBDA_LOG_LEVEL are
 * dropped. A message logged without a level is UNDEFINED and always kept, as in AWS's Java runtime.
 */
final class JsonLog {
    /** LogLevel's constants in their order; index 0 (UNDEFINED) is never filtered. */
    private static final List<String> LEVELS = Arrays.asList("UNDEFINED", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL");
    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private JsonLog() {
    }

    /** True when the function's log format is JSON. */
    static boolean enabled() {
        return "JSON".equalsIgnoreCase(System.getenv("AWS_LAMBDA_LOG_FORMAT"));
    }

    /** The record of one message (with its newline), or null when its level is below the function's. */
    static String record(String message, Object level, String requestId) {
        int index = level == null ? 0 : Math.max(0, LEVELS.indexOf(level.toString().toUpperCase(Locale.ROOT)));
        if (index > 0 && index < minimum()) {
            return null;
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("timestamp", TIMESTAMP.format(java.time.Instant.now()));
        record.put("level", LEVELS.get(index));
        record.put("message", message);
        record.put("AWSRequestId", requestId);
        return Json.write(record) + "\n";
    }

    private static int minimum() {
        String configured = System.getenv("AWS_LAMBDA_LOG_LEVEL");
        int index = configured == null ? -1 : LEVELS.indexOf(configured.toUpperCase(Locale.ROOT));
        return index > 0 ? index : LEVELS.indexOf("INFO");
    }
}
