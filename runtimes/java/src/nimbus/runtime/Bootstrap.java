package nimbus.runtime;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Proxy;
import java.lang.reflect.Type;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The java17 / java21 runtime: loads the handler named by _HANDLER ({@code package.Class::method}, or a class
 * implementing RequestHandler / RequestStreamHandler) from /var/task (classes at the root, lib/*.jar), then
 * serves invocations through the Runtime API. The Context the handler gets implements the function's own
 * {@code com.amazonaws.services.lambda.runtime.Context}, built at run time with java.lang.reflect.Proxy.
 */
public final class Bootstrap {
    private static final String CONTEXT = "com.amazonaws.services.lambda.runtime.Context";
    private static final String PRESTARTED = "_NIMBUS_PRESTARTED";

    private final RuntimeApi api;
    private final ClassLoader loader;
    private Object instance;
    private Method method;
    private Type inputType;
    private boolean stream;
    private boolean takesContext;
    private Class<?> contextInterface;
    /** A handler that could not be loaded but is not fatal on Lambda either: every invoke answers this error. */
    private UserFault fault;

    private Bootstrap(RuntimeApi api, ClassLoader loader) {
        this.api = api;
        this.loader = loader;
    }

    public static void main(String[] args) throws Exception {
        String address = System.getenv("AWS_LAMBDA_RUNTIME_API");
        if (address == null || address.isEmpty()) {
            System.err.println("[nimbus-runtime] AWS_LAMBDA_RUNTIME_API is not set");
            System.exit(1);
        }
        RuntimeApi api = new RuntimeApi(address);
        if ("1".equals(System.getenv(PRESTARTED))) {
            // Pre-started before any function needed it: warm up, then wait to become one.
            warmUp();
            Environment.replace(api.assignment());
        }
        String root = System.getenv().getOrDefault("LAMBDA_TASK_ROOT", "/var/task");
        // A fresh class loader over the function's own code, made only now: a pre-started JVM had none before.
        Bootstrap bootstrap = new Bootstrap(api, taskClassLoader(new File(root)));
        Thread.currentThread().setContextClassLoader(bootstrap.loader);
        String handler = System.getenv().getOrDefault("_HANDLER", "");
        try {
            bootstrap.load(handler);
        } catch (InitError e) {
            bootstrap.reportInit(e.type, e.getMessage(), e.getCause());
            System.exit(1);
        } catch (Throwable e) {
            bootstrap.reportInit(e.getClass().getName(), e.getMessage() == null ? e.getClass().getName() : e.getMessage(), e);
            System.exit(1);
        }
        bootstrap.loop();
    }

    /** Runs the JSON reader and writer, a context proxy and an error document once, so a specialized JVM starts warm. */
    private static void warmUp() throws ReflectiveOperationException {
        Object parsed = Json.parse("{\"a\":[1,2.5,\"x\",true,null],\"b\":{\"c\":\"d\"}}");
        Json.write(parsed);
        Convert.to(parsed, Map.class);
        errorBody("java.lang.IllegalStateException", "warm-up", new IllegalStateException("warm-up"));
        Runnable proxy = (Runnable) proxy(Runnable.class, new LinkedHashMap<>(), 0);
        proxy.hashCode();
    }

    private static ClassLoader taskClassLoader(File root) throws IOException {
        List<URL> urls = new ArrayList<>();
        urls.add(root.toURI().toURL());
        File[] jars = new File(root, "lib").listFiles((dir, name) -> name.endsWith(".jar"));
        if (jars != null) {
            Arrays.sort(jars);
            for (File jar : jars) {
                urls.add(jar.toURI().toURL());
            }
        }
        return new URLClassLoader(urls.toArray(new URL[0]), Bootstrap.class.getClassLoader());
    }

    /** An init failure Lambda reports with its own error type; the runtime then exits. */
    private static final class InitError extends Exception {
        final String type;

        InitError(String type, String message, Throwable cause) {
            super(message, cause);
            this.type = type;
        }
    }

    /**
     * A handler Lambda's Java runtime cannot load but does not treat as fatal (a missing class or method): init
     * succeeds and every invoke fails with this error, whose errorType may be absent.
     */
    private static final class UserFault {
        final String message;
        final String type;
        final Throwable error;

        UserFault(String message, String type, Throwable error) {
            this.message = message;
            this.type = type;
            this.error = error;
        }

        /** The line Lambda's runtime logs for it: "message: type" and the trace, or the message alone. */
        String logLine() {
            return type == null && error == null ? message : message + ": " + (type == null ? "" : type) + "\n" + (error == null ? "" : errorLog(error));
        }

        byte[] body() {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("errorMessage", message);
            if (type != null) {
                body.put("errorType", type);
            }
            return Json.write(body).getBytes(StandardCharsets.UTF_8);
        }
    }

    /**
     * Loads the handler as Lambda's Java runtime does: a class that cannot be found or linked and a method that is
     * not there are faults every invoke reports; an exception in a static initializer or constructor fails init.
     */
    private void load(String handler) throws InitError {
        String className = handler;
        String methodName = null;
        int separator = handler.lastIndexOf("::");
        if (separator >= 0) {
            className = handler.substring(0, separator);
            methodName = handler.substring(separator + 2);
        }
        if (className.isEmpty() || (methodName != null && methodName.isEmpty())) {
            throw new InitError("Runtime.MalformedHandlerName", "Invalid handler: `" + handler + "'", null);
        }
        Class<?> type;
        try {
            type = Class.forName(className, true, loader);
        } catch (ClassNotFoundException e) {
            fault(new UserFault("Class not found: " + className, e.getClass().getName(), e));
            return;
        } catch (UnsupportedClassVersionError e) {
            throw new InitError("Runtime.InvalidRuntime", "Class " + className + " was compiled for a newer Java than this runtime runs (Java "
                + Runtime.version().feature() + "): " + e.getMessage() + ". Compile with --release " + Runtime.version().feature() + " or lower.", null);
        } catch (NoClassDefFoundError e) {
            fault(new UserFault(loadingMessage(className, e), e.getClass().getName(), e));
            return;
        } catch (Throwable e) {
            // ExceptionInInitializerError and other linkage errors: fatal, reported with Lambda's wording.
            throw new InitError(e.getClass().getName(), loadingMessage(className, e), null);
        }
        String wanted = methodName == null ? "handleRequest" : methodName;
        List<Method> candidates = new ArrayList<>();
        for (Method m : type.getMethods()) {
            if (m.getName().equals(wanted) && !m.isBridge() && !m.isSynthetic() && m.getParameterCount() <= 3) {
                candidates.add(m);
            }
        }
        if (candidates.isEmpty()) {
            fault(new UserFault(methodName == null
                ? "Class does not implement an appropriate handler interface: " + className
                : "No public method named " + wanted + " with appropriate method signature found on class " + className, null, null));
            return;
        }
        // Lambda prefers the overload with the most parameters.
        candidates.sort((a, b) -> b.getParameterCount() - a.getParameterCount());
        method = candidates.get(0);
        Class<?>[] parameters = method.getParameterTypes();
        stream = parameters.length >= 2 && InputStream.class.isAssignableFrom(parameters[0]) && OutputStream.class.isAssignableFrom(parameters[1]);
        Class<?> last = parameters.length == 0 ? null : parameters[parameters.length - 1];
        takesContext = last != null && last.isInterface() && last.getName().equals(CONTEXT);
        if (takesContext) {
            contextInterface = last;
        }
        if (!stream && parameters.length - (takesContext ? 1 : 0) >= 1) {
            inputType = genericInput(type, method);
        }
        if (!Modifier.isStatic(method.getModifiers())) {
            java.lang.reflect.Constructor<?> constructor;
            try {
                constructor = type.getConstructor();
            } catch (NoSuchMethodException e) {
                fault(new UserFault("Class " + className + " has no public zero-argument constructor", "java.lang.Exception", e));
                return;
            }
            try {
                instance = constructor.newInstance();
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause() == null ? e : e.getCause();
                throw new InitError(cause.getClass().getName(), cause.getMessage() == null ? cause.getClass().getName() : cause.getMessage(), cause);
            } catch (ReflectiveOperationException e) {
                throw new InitError(e.getClass().getName(), String.valueOf(e.getMessage()), e);
            }
        }
    }

    private static String loadingMessage(String className, Throwable e) {
        return "Error loading class " + className + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    private void fault(UserFault userFault) {
        fault = userFault;
        System.err.println(userFault.logLine().trim());
        System.err.flush();
    }

    /** The input type, with RequestHandler&lt;I, O&gt;'s I resolved when the method is declared with a type variable. */
    private static Type genericInput(Class<?> type, Method method) {
        Type declared = method.getGenericParameterTypes()[0];
        if (declared instanceof Class || declared instanceof ParameterizedType) {
            return declared;
        }
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            for (Type i : c.getGenericInterfaces()) {
                if (i instanceof ParameterizedType && ((Class<?>) ((ParameterizedType) i).getRawType()).getSimpleName().equals("RequestHandler")) {
                    return ((ParameterizedType) i).getActualTypeArguments()[0];
                }
            }
        }
        return Object.class;
    }

    private void loop() throws IOException {
        while (true) {
            RuntimeApi.Invocation invocation = api.next();
            if (invocation.traceId != null) {
                System.setProperty("com.amazonaws.xray.traceHeader", invocation.traceId);
            } else {
                System.clearProperty("com.amazonaws.xray.traceHeader");
            }
            if (fault != null) {
                System.err.println(fault.logLine().trim());
                System.err.flush();
                api.error(invocation.requestId, fault.type, fault.body());
                continue;
            }
            byte[] body;
            try {
                body = invoke(invocation);
            } catch (Throwable e) {
                Throwable cause = e instanceof InvocationTargetException ? e.getCause() : e;
                System.out.flush();
                System.err.flush();
                String type = cause.getClass().getName();
                System.err.println(errorLog(cause));
                api.error(invocation.requestId, type, Json.write(errorBody(type, String.valueOf(cause.getMessage()), cause)).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            System.out.flush();
            System.err.flush();
            api.response(invocation.requestId, body);
        }
    }

    private byte[] invoke(RuntimeApi.Invocation invocation) throws Exception {
        Object context = takesContext ? context(invocation) : null;
        List<Object> args = new ArrayList<>();
        if (stream) {
            ByteArrayOutputStream output = new ByteArrayOutputStream();
            args.add(new ByteArrayInputStream(invocation.payload));
            args.add(output);
            if (takesContext) {
                args.add(context);
            }
            method.invoke(instance, args.toArray());
            return output.toByteArray();
        }
        if (inputType != null) {
            String text = new String(invocation.payload, StandardCharsets.UTF_8);
            Object parsed;
            try {
                parsed = text.isBlank() ? null : Json.parse(text);
            } catch (IllegalArgumentException e) {
                parsed = text;
            }
            args.add(Convert.to(parsed, inputType));
        }
        if (takesContext) {
            args.add(context);
        }
        Object result = method.invoke(instance, args.toArray());
        return (method.getReturnType() == void.class ? "null" : Json.write(result)).getBytes(StandardCharsets.UTF_8);
    }

    // ---- Context ----

    private Object context(RuntimeApi.Invocation invocation) {
        Map<String, Object> values = new LinkedHashMap<>();
        Map<String, String> env = System.getenv();
        values.put("getAwsRequestId", invocation.requestId);
        values.put("getLogGroupName", env.get("AWS_LAMBDA_LOG_GROUP_NAME"));
        values.put("getLogStreamName", env.get("AWS_LAMBDA_LOG_STREAM_NAME"));
        values.put("getFunctionName", env.get("AWS_LAMBDA_FUNCTION_NAME"));
        values.put("getFunctionVersion", env.get("AWS_LAMBDA_FUNCTION_VERSION"));
        values.put("getInvokedFunctionArn", invocation.functionArn);
        values.put("getMemoryLimitInMB", Integer.parseInt(env.getOrDefault("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")));
        values.put("getXrayTraceId", invocation.traceId);
        values.put("getIdentity", parsedMap(invocation.cognitoIdentity, "cognitoIdentityId", "getIdentityId", "cognitoIdentityPoolId", "getIdentityPoolId"));
        values.put("getClientContext", clientContext(invocation.clientContext));
        long deadline = invocation.deadlineMs;
        return proxy(contextInterface, values, deadline);
    }

    private static Map<String, Object> parsedMap(String json, String... pairs) {
        if (json == null || json.isEmpty()) {
            return null;
        }
        Object parsed = Json.parse(json);
        if (!(parsed instanceof Map)) {
            return null;
        }
        Map<String, Object> values = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            values.put(pairs[i + 1], ((Map<?, ?>) parsed).get(pairs[i]));
        }
        return values;
    }

    private static Map<String, Object> clientContext(String json) {
        if (json == null || json.isEmpty()) {
            return null;
        }
        Object parsed = Json.parse(json);
        if (!(parsed instanceof Map)) {
            return null;
        }
        Map<?, ?> root = (Map<?, ?>) parsed;
        Map<String, Object> values = new LinkedHashMap<>();
        Object client = root.get("client");
        Map<String, Object> clientValues = new LinkedHashMap<>();
        if (client instanceof Map) {
            Map<?, ?> c = (Map<?, ?>) client;
            clientValues.put("getInstallationId", c.get("installation_id"));
            clientValues.put("getAppTitle", c.get("app_title"));
            clientValues.put("getAppVersionName", c.get("app_version_name"));
            clientValues.put("getAppVersionCode", c.get("app_version_code"));
            clientValues.put("getAppPackageName", c.get("app_package_name"));
        }
        values.put("getClient", clientValues);
        values.put("getCustom", root.get("custom"));
        values.put("getEnvironment", root.get("env"));
        return values;
    }

    /** An implementation of <paramref name="type"/>: getters answer from <paramref name="values"/>; a logger logs. */
    private static Object proxy(Class<?> type, Map<String, Object> values, long deadlineMs) {
        return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, m, a) -> {
            String name = m.getName();
            switch (name) {
                case "getRemainingTimeInMillis":
                    return (int) Math.max(0, deadlineMs - System.currentTimeMillis());
                case "getLogger":
                    return logger(m.getReturnType(), (String) values.get("getAwsRequestId"));
                case "toString":
                    return type.getSimpleName() + values;
                case "hashCode":
                    return System.identityHashCode(self);
                case "equals":
                    return self == a[0];
                default:
                    break;
            }
            Object value = values.get(name);
            Class<?> returns = m.getReturnType();
            if (value instanceof Map && returns.isInterface() && !Map.class.isAssignableFrom(returns)) {
                @SuppressWarnings("unchecked")
                Map<String, Object> nested = (Map<String, Object>) value;
                return proxy(returns, nested, deadlineMs);
            }
            if (value == null && returns.isPrimitive()) {
                return returns == boolean.class ? false : 0;
            }
            return value;
        });
    }

    private static Object logger(Class<?> type, String requestId) {
        if (!type.isInterface()) {
            return null;
        }
        PrintStream out = System.out;
        boolean json = JsonLog.enabled();
        return Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, m, a) -> {
            if (m.getName().equals("log") && a != null && a.length >= 1) {
                Object message = a[0];
                String text = message instanceof byte[] ? new String((byte[]) message, StandardCharsets.UTF_8) : String.valueOf(message);
                // log(message, LogLevel) in aws-lambda-java-core 1.2.3+: the level decides in JSON, as on Lambda.
                String record = json ? JsonLog.record(text, a.length >= 2 ? a[1] : null, requestId) : text;
                if (record != null) {
                    out.print(record);
                }
                out.flush();
            } else if (m.getName().equals("hashCode")) {
                return System.identityHashCode(self);
            } else if (m.getName().equals("equals")) {
                return self == a[0];
            } else if (m.getName().equals("toString")) {
                return "LambdaLogger";
            }
            return null;
        });
    }

    // ---- Errors ----

    /** Lambda's Java runtime reports init errors without a stack trace, and logs "message: type" and the trace. */
    private void reportInit(String type, String message, Throwable cause) throws IOException {
        System.err.println(message + ": " + type + (cause == null ? "" : "\n" + errorLog(cause)));
        System.err.flush();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("errorMessage", message);
        body.put("errorType", type);
        api.initError(type, Json.write(body).getBytes(StandardCharsets.UTF_8));
    }

    /** Lambda's Java error document: errorMessage, errorType (the class name), stackTrace, cause. */
    private static Map<String, Object> errorBody(String type, String message, Throwable error) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("errorMessage", message);
        body.put("errorType", type);
        List<String> trace = new ArrayList<>();
        if (error != null) {
            for (StackTraceElement frame : error.getStackTrace()) {
                if (frame.getClassName().startsWith("nimbus.runtime.") || frame.getClassName().startsWith("java.lang.reflect.")
                        || frame.getClassName().startsWith("jdk.internal.reflect.")) {
                    continue;
                }
                trace.add(frame.toString());
            }
            if (error.getCause() != null && error.getCause() != error) {
                Throwable cause = error.getCause();
                body.put("stackTrace", trace);
                body.put("cause", errorBody(cause.getClass().getName(), String.valueOf(cause.getMessage()), cause));
                return body;
            }
        }
        body.put("stackTrace", trace);
        return body;
    }

    private static String errorLog(Throwable error) {
        java.io.StringWriter text = new java.io.StringWriter();
        error.printStackTrace(new java.io.PrintWriter(text));
        return text.toString().trim();
    }
}
