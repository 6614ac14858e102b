package example;

import com.amazonaws.services.lambda.runtime.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/** Handlers named package.Class::method. */
public class Handlers {
    private static int invocations;

    public String upper(String input) {
        return input.toUpperCase();
    }

    public Map<String, Object> map(Map<String, Object> input, Context context) {
        Map<String, Object> out = new LinkedHashMap<>(input);
        out.put("seen", input.size());
        return out;
    }

    public static int count() {
        return ++invocations;
    }

    public Map<String, Object> context(Object input, Context context) {
        System.out.println("java stdout line");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("awsRequestId", context.getAwsRequestId());
        out.put("functionName", context.getFunctionName());
        out.put("functionVersion", context.getFunctionVersion());
        out.put("invokedFunctionArn", context.getInvokedFunctionArn());
        out.put("logGroupName", context.getLogGroupName());
        out.put("logStreamName", context.getLogStreamName());
        out.put("memoryLimitInMB", context.getMemoryLimitInMB());
        out.put("remainingMs", context.getRemainingTimeInMillis());
        out.put("clientCustom", context.getClientContext() == null ? null : context.getClientContext().getCustom().get("k"));
        out.put("clientAppTitle", context.getClientContext() == null ? null : context.getClientContext().getClient().getAppTitle());
        out.put("javaVersion", System.getProperty("java.specification.version"));
        out.put("executionEnv", System.getenv("AWS_EXECUTION_ENV"));
        out.put("cwd", System.getProperty("user.dir"));
        return out;
    }

    public String fail(String input) {
        throw new IllegalStateException("java boom: " + input);
    }
}
