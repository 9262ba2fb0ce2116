"""schemathesis hooks for APISchemathesisTests: every http(s) URL it generates for a new webhook
endpoint becomes NEWSLETTER_WEBHOOK_SINK, a loopback port nobody listens on (the test's server
allows 127.0.0.1 as a target, and only that), so endpoints are added (201 is exercised) but no
generated host is ever resolved or sent to. Other URLs are refused by the server as text."""

import os
import re

import schemathesis

SINK = os.environ["NEWSLETTER_WEBHOOK_SINK"]
HTTP = re.compile(r"\s*https?:", re.IGNORECASE)


@schemathesis.hook
def map_case(context, case):
    if case.operation.path == "/webhooks" and case.method.upper() == "POST" and isinstance(case.body, dict):
        url = case.body.get("url")
        if isinstance(url, str) and HTTP.match(url):
            case.body["url"] = SINK
    return case
