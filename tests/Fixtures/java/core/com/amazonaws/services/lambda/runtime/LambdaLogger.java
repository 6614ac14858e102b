package com.amazonaws.services.lambda.runtime;

import com.amazonaws.services.lambda.runtime.logging.LogLevel;

public interface LambdaLogger {
    void log(String message);
    void log(byte[] message);

    default void log(String message, LogLevel logLevel) {
        log(message);
    }
}
