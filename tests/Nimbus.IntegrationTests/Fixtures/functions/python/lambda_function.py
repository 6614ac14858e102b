# Module state survives between invocations of one warm instance.
count = 0


def lambda_handler(event, context):
    global count
    count += 1
    print("hello from python")
    return {
        "count": count,
        "name": event.get("name"),
        "fn": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
    }
