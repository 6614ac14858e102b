"""AWS Signature Version 4 for the benchmark drivers (standard library only).

Nimbus refuses unsigned requests, so every driver signs what it sends to the server it started. Importing this
module sets the root key the drivers' servers start with (NIMBUS_ROOT_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, default
bench / bench-secret, inherited by `./nimbus serve` children), and `sign_all_requests()` makes every
`http.client.HTTPConnection.request` to a loopback address carry a SigV4 header signature for the service the
request is for (Lambda, SQS, S3, CloudWatch Logs, CloudWatch, Scheduler). Signing costs the client a few
microseconds per request, as it does any real AWS client.
"""

import datetime
import hashlib
import hmac
import http.client
import os
from urllib.parse import quote, unquote

os.environ.setdefault("NIMBUS_ROOT_ACCESS_KEY_ID", "bench")
os.environ.setdefault("NIMBUS_ROOT_SECRET_ACCESS_KEY", "bench-secret")

KEY_ID = os.environ["NIMBUS_ROOT_ACCESS_KEY_ID"]
SECRET = os.environ["NIMBUS_ROOT_SECRET_ACCESS_KEY"]
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
UNSIGNED = "UNSIGNED-PAYLOAD"

_TARGET_SERVICES = {"AmazonSQS": "sqs", "Logs_20140328": "logs", "GraniteServiceVersion20100801": "monitoring"}


def service_of(path, headers):
    """The SigV4 service name a request to Nimbus is signed for, as the AWS SDKs choose it."""
    target = _header(headers, "X-Amz-Target")
    if target:
        return _TARGET_SERVICES.get(target.split(".", 1)[0], "sqs")
    if path.startswith(("/2015-03-31/", "/2016-08-19/", "/2017-10-31/", "/2018-10-31/", "/2019-09-25/",
                        "/2019-09-30/", "/2020-04-22/", "/2020-06-30/", "/2021-10-31/")):
        return "lambda"
    if path.startswith(("/schedules", "/schedule-groups")):
        return "scheduler"
    content_type = _header(headers, "Content-Type") or ""
    if path == "/" and "x-www-form-urlencoded" in content_type:
        return "sqs"
    return "s3"


def sign(method, host, path, body=b"", headers=None, service=None, now=None):
    """Returns the headers to send: `headers` plus Host, X-Amz-Date, X-Amz-Content-Sha256 and Authorization."""
    headers = dict(headers or {})
    service = service or service_of(path, headers)
    if isinstance(body, str):
        body = body.encode("utf-8")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    payload_hash = UNSIGNED if service == "s3" and body else hashlib.sha256(body or b"").hexdigest()
    headers["Host"] = host
    headers["X-Amz-Date"] = amz_date
    headers["X-Amz-Content-Sha256"] = payload_hash

    raw_path, _, raw_query = path.partition("?")
    canonical_uri = _canonical_path(raw_path, service)
    canonical_query = "&".join(sorted(
        "%s=%s" % (_encode(unquote(k)), _encode(unquote(v)))
        for k, _, v in (pair.partition("=") for pair in raw_query.split("&") if pair)))
    signed = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()
              if k.lower() in ("host", "content-type", "x-amz-target") or k.lower().startswith("x-amz-")}
    signed_names = ";".join(sorted(signed))
    canonical_headers = "".join("%s:%s\n" % (k, signed[k]) for k in sorted(signed))
    canonical = "\n".join([method, canonical_uri, canonical_query, canonical_headers, signed_names, payload_hash])
    scope = "%s/%s/%s/aws4_request" % (date, REGION, service)
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET).encode()
    for part in (date, REGION, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        KEY_ID, scope, signed_names, signature)
    return headers


def sign_all_requests():
    """Signs every http.client request to 127.0.0.1/localhost from now on (the drivers' only server)."""
    if getattr(http.client.HTTPConnection.request, "_nimbus_signed", False):
        return
    plain = http.client.HTTPConnection.request

    def request(self, method, url, body=None, headers=None, **kwargs):
        if self.host in ("127.0.0.1", "localhost") and isinstance(body, (bytes, str, type(None))):
            headers = sign(method, "%s:%d" % (self.host, self.port), url, body or b"", headers)
        return plain(self, method, url, body=body, headers=headers or {}, **kwargs)

    request._nimbus_signed = True
    http.client.HTTPConnection.request = request


def _header(headers, name):
    for k, v in (headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def _encode(text):
    return quote(text, safe="-_.~")


def _canonical_path(path, service):
    # S3 signs the path as sent; the other services encode each segment once more.
    if service == "s3":
        return quote(unquote(path), safe="/-_.~") or "/"
    return "/".join(_encode(segment) for segment in path.split("/")) or "/"
