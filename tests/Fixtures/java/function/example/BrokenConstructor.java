package example;

/** A handler class whose constructor throws: Lambda's Java runtime fails init with the exception's own type. */
public class BrokenConstructor {
    public BrokenConstructor() {
        throw new IllegalStateException("constructor boom");
    }

    public String handle(String input) {
        return input;
    }
}
