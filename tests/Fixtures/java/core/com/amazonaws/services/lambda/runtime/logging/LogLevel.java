package com.amazonaws.services.lambda.runtime.logging;

/** The levels of aws-lambda-java-core 1.2.3+, in their order. */
public enum LogLevel {
    UNDEFINED,
    TRACE,
    DEBUG,
    INFO,
    WARN,
    ERROR,
    FATAL
}
