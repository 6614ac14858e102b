package example;

import java.io.File;
import java.io.FileWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What a function sees of its JVM (PrestartTests): the process's age, its code directory and its environment. */
public class Prestart {
    private static final String LOADED_WITH = System.getenv("GREETING");

    public Map<String, Object> handle(Map<String, Object> input) {
        String write;
        try (FileWriter writer = new FileWriter("/var/task/written")) {
            writer.write("x");
            write = "written";
        } catch (IOException e) {
            String message = String.valueOf(e.getMessage());
            write = message.contains("Read-only") ? "EROFS" : message.contains("Permission denied") ? "EACCES" : message;
        }
        List<String> files = new ArrayList<>();
        String[] names = new File("/var/task").list();
        if (names != null) {
            Collections.addAll(files, names);
        }
        Collections.sort(files);
        Map<String, Object> out = new LinkedHashMap<>();
        long started = ManagementFactory.getRuntimeMXBean().getStartTime();
        out.put("processAgeSeconds", (System.currentTimeMillis() - started) / 1000.0);
        out.put("cwd", new File("").getAbsolutePath());
        out.put("files", files);
        out.put("write", write);
        out.put("environment", new TreeMap<>(System.getenv()));
        out.put("greetingAtClassLoad", LOADED_WITH);
        return out;
    }
}
