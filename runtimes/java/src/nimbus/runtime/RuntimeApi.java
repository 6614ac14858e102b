package nimbus.runtime;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;

/** The Lambda Runtime API (2018-06-01) over HttpURLConnection, which keeps one connection alive. */
final class RuntimeApi {
    static final String ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type";

    /** Nimbus's own path: a pre-started runtime waits here for the function it becomes. */
    static final String ASSIGNMENT_PATH = "/nimbus/2018-06-01/runtime/assignment";

    private final String address;
    private final String base;

    RuntimeApi(String address) {
        this.address = address;
        this.base = "http://" + address + "/2018-06-01/runtime/";
    }

    /** GET the assignment: the whole environment of the function this JVM becomes ({"environment":{...}}). */
    java.util.Map<String, String> assignment() throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL("http://" + address + ASSIGNMENT_PATH).openConnection();
        c.setRequestMethod("GET");
        c.setReadTimeout(0);
        c.setUseCaches(false);
        int status = c.getResponseCode();
        byte[] body = read(status >= 400 ? c.getErrorStream() : c.getInputStream());
        if (status != 200) {
            throw new IOException("GET " + ASSIGNMENT_PATH + " answered " + status + ": " + new String(body, StandardCharsets.UTF_8));
        }
        Object parsed = Json.parse(new String(body, StandardCharsets.UTF_8));
        Object environment = parsed instanceof java.util.Map ? ((java.util.Map<?, ?>) parsed).get("environment") : null;
        if (!(environment instanceof java.util.Map)) {
            throw new IOException("GET " + ASSIGNMENT_PATH + " answered no environment");
        }
        java.util.Map<String, String> values = new java.util.LinkedHashMap<>();
        for (java.util.Map.Entry<?, ?> entry : ((java.util.Map<?, ?>) environment).entrySet()) {
            values.put(String.valueOf(entry.getKey()), String.valueOf(entry.getValue()));
        }
        return values;
    }

    static final class Invocation {
        String requestId;
        long deadlineMs;
        String functionArn;
        String traceId;
        String clientContext;
        String cognitoIdentity;
        byte[] payload;
    }

    Invocation next() throws IOException {
        HttpURLConnection c = open("invocation/next", "GET");
        int status = c.getResponseCode();
        byte[] body = read(status >= 400 ? c.getErrorStream() : c.getInputStream());
        if (status != 200) {
            throw new IOException("GET /next answered " + status + ": " + new String(body, StandardCharsets.UTF_8));
        }
        Invocation i = new Invocation();
        i.requestId = c.getHeaderField("Lambda-Runtime-Aws-Request-Id");
        String deadline = c.getHeaderField("Lambda-Runtime-Deadline-Ms");
        i.deadlineMs = deadline == null ? 0 : Long.parseLong(deadline);
        i.functionArn = c.getHeaderField("Lambda-Runtime-Invoked-Function-Arn");
        i.traceId = c.getHeaderField("Lambda-Runtime-Trace-Id");
        i.clientContext = c.getHeaderField("Lambda-Runtime-Client-Context");
        i.cognitoIdentity = c.getHeaderField("Lambda-Runtime-Cognito-Identity");
        i.payload = body;
        return i;
    }

    void response(String requestId, byte[] body) throws IOException {
        post("invocation/" + requestId + "/response", null, body);
    }

    /** An error without an errorType (Lambda's Java runtime sends some) goes without the header too. */
    void error(String requestId, String errorType, byte[] body) throws IOException {
        post("invocation/" + requestId + "/error", errorType, body);
    }

    void initError(String errorType, byte[] body) throws IOException {
        post("init/error", errorType, body);
    }

    private void post(String path, String errorType, byte[] body) throws IOException {
        HttpURLConnection c = open(path, "POST");
        c.setDoOutput(true);
        c.setFixedLengthStreamingMode(body.length);
        c.setRequestProperty("Content-Type", "application/json");
        if (errorType != null) {
            c.setRequestProperty(ERROR_TYPE_HEADER, errorType);
        }
        try (OutputStream out = c.getOutputStream()) {
            out.write(body);
        }
        int status = c.getResponseCode();
        byte[] answer = read(status >= 400 ? c.getErrorStream() : c.getInputStream());
        if (status >= 300) {
            System.err.println("[nimbus-runtime] POST " + path + " got HTTP " + status + ": " + new String(answer, StandardCharsets.UTF_8));
        }
    }

    private HttpURLConnection open(String path, String method) throws IOException {
        HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection();
        c.setRequestMethod(method);
        c.setReadTimeout(0);
        c.setUseCaches(false);
        return c;
    }

    private static byte[] read(InputStream in) throws IOException {
        if (in == null) {
            return new byte[0];
        }
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }
}
