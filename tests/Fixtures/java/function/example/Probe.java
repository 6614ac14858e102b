package example;

import com.amazonaws.services.lambda.runtime.Context;
import java.util.LinkedHashMap;
import java.util.Map;

/** The runtime contract probe (RuntimeContractTests): {"action": "env" | "log" | "throw" | "exit" | "big"}. */
public class Probe {
    private static final String[] NAMES = {
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "_HANDLER", "TZ", "AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "_X_AMZN_TRACE_ID", "LANG",
    };

    /** An exception in the constructor fails init with its own type and message, as on Lambda's Java runtime. */
    public Probe() {
        if ("1".equals(System.getenv("PROBE_INIT_FAIL"))) {
            throw new IllegalStateException("probe init failed");
        }
    }

    public Object handle(Map<String, Object> input, Context context) throws InterruptedException {
        Object action = input.get("action");
        if ("log".equals(action)) {
            System.out.println("probe stdout line");
            System.err.println("probe stderr line");
            return "logged";
        }
        if ("throw".equals(action)) {
            throw new IllegalStateException("probe boom");
        }
        if ("exit".equals(action)) {
            System.exit(3);
        }
        if ("big".equals(action)) {
            return "x".repeat(7 * 1024 * 1024);
        }
        Map<String, Object> env = new LinkedHashMap<>();
        for (String name : NAMES) {
            env.put(name, System.getenv(name));
        }
        // Java cannot change its environment: Lambda's Java runtime passes the trace header as this property.
        env.put("_X_AMZN_TRACE_ID", System.getProperty("com.amazonaws.xray.traceHeader"));
        int remaining1 = context.getRemainingTimeInMillis();
        Thread.sleep(50);
        int remaining2 = context.getRemainingTimeInMillis();
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("awsRequestId", context.getAwsRequestId());
        ctx.put("functionName", context.getFunctionName());
        ctx.put("functionVersion", context.getFunctionVersion());
        ctx.put("invokedFunctionArn", context.getInvokedFunctionArn());
        ctx.put("memoryLimitInMB", String.valueOf(context.getMemoryLimitInMB()));
        ctx.put("logGroupName", context.getLogGroupName());
        ctx.put("logStreamName", context.getLogStreamName());
        ctx.put("clientCustom", context.getClientContext() == null ? null : context.getClientContext().getCustom().get("k"));
        ctx.put("identityId", context.getIdentity() == null ? null : context.getIdentity().getIdentityId());
        ctx.put("identityPoolId", context.getIdentity() == null ? null : context.getIdentity().getIdentityPoolId());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("env", env);
        out.put("context", ctx);
        out.put("remaining1", remaining1);
        out.put("remaining2", remaining2);
        return out;
    }
}
