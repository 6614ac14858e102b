package example;

/** A handler class whose static initializer throws: Lambda's Java runtime fails init with ExceptionInInitializerError. */
public class BrokenStatic {
    static {
        if (System.getenv("AWS_LAMBDA_FUNCTION_NAME") != null) {
            throw new IllegalStateException("static boom");
        }
    }

    public String handle(String input) {
        return input;
    }
}
