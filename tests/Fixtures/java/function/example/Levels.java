package example;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.logging.LogLevel;

/** Logs at several levels and once without one: handler "example.Levels::handle". */
public class Levels {
    public String handle(Object input, Context context) {
        LambdaLogger logger = context.getLogger();
        logger.log("debug line " + input, LogLevel.DEBUG);
        logger.log("warn line " + input, LogLevel.WARN);
        logger.log("error line " + input, LogLevel.ERROR);
        logger.log("plain line " + input);
        return "ok";
    }
}
