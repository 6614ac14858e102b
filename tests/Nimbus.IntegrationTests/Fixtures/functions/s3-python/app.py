# The canonical bucket pipeline: triggered by an upload under incoming/, reads the object back through boto3 (which
# finds the node through AWS_ENDPOINT_URL), writes processed/<name>.json with the row count and the event record.
import json
import os
import urllib.parse

import boto3

s3 = boto3.client("s3")


def handler(event, context):
    record = event["Records"][0]
    bucket = record["s3"]["bucket"]["name"]
    key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
    if record["eventName"].startswith("ObjectRemoved"):
        s3.put_object(Bucket=bucket, Key="processed/removed-" + os.path.basename(key) + ".json", Body=json.dumps(event).encode())
        return {"removed": key}
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    rows = [line.split(",") for line in body.strip().splitlines()]
    name = os.path.basename(key).rsplit(".", 1)[0]
    result = {"source": key, "rows": len(rows), "header": rows[0], "boto3": boto3.__version__, "event": event}
    s3.put_object(Bucket=bucket, Key=f"processed/{name}.json", Body=json.dumps(result).encode(), ContentType="application/json")
    return {"rows": len(rows)}
