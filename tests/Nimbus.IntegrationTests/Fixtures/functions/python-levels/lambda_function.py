# One logging record per level and a print; LoggingConfig decides which reach the log and in what shape.
import logging

logger = logging.getLogger()


def lambda_handler(event, context):
    logger.debug("debug line %s", event.get("tag"))
    logger.info("info line %s", event.get("tag"))
    logger.warning("warn line %s", event.get("tag"))
    logger.error("error line %s", event.get("tag"))
    print("printed line", event.get("tag"))
    return {"tag": event.get("tag")}
