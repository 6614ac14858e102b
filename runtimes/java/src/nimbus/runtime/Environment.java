package nimbus.runtime;

import java.lang.reflect.Field;
import java.util.Map;

/**
 * Replaces the JVM's environment in place. A pre-started JVM becomes its function only after it started, and
 * Java's System.getenv() is otherwise fixed at start: its map wraps the process environment table that
 * ProcessBuilder copies too, so changing that table is what every reader sees. Needs
 * {@code --add-opens java.base/java.util=ALL-UNNAMED} (the runtime's command line has it).
 */
final class Environment {
    private Environment() {
    }

    @SuppressWarnings("unchecked")
    static void replace(Map<String, String> values) throws ReflectiveOperationException {
        Map<String, String> view = System.getenv();
        Field inner = view.getClass().getDeclaredField("m");
        inner.setAccessible(true);
        Map<String, String> writable = (Map<String, String>) inner.get(view);
        writable.clear();
        writable.putAll(values);
    }
}
