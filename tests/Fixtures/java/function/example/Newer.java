package example;

/** Stands for a class compiled for a newer Java: the tests patch its class-file version before zipping it. */
public class Newer {
    public String handle(String input) {
        return input;
    }
}
