package release21;

import java.util.List;

/** Compiled with javac --release 21 by RuntimeVersionTests: class-file version 65, and List.reversed, which Java 21 added. */
public class Release21 {
    public String handle(String input) {
        return System.getProperty("java.specification.version") + " " + List.of("b", input).reversed().get(0);
    }
}
