"""Get one gift code the way a client of the service should.

One Idempotency-Key for the request and every retry of it, the server's
Retry-After honoured on 409, 429 and 503, and a deadline after which it
gives up. Standard library only:

    python3 docs/examples/python/client.py --url http://localhost:8000 --deadline 30
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

RETRY_AFTER = {409, 429, 503}  # the server says when to come back
BACK_OFF = {500, 502, 504}  # safe to retry with the same key


class GiveUp(Exception):
    """No gift code: a refusal a retry cannot change, or the deadline."""


def gift_code(base_url, deadline_s):
    # One key for this code, kept across every retry: a retry of a request
    # that did run gets that run's code again, never a second code.
    key = str(uuid.uuid4())
    give_up_at = time.monotonic() + deadline_s
    backoff = 0.1
    attempt = 0
    while True:
        attempt += 1
        left = give_up_at - time.monotonic()
        if left <= 0:
            raise GiveUp(f"giving up after {attempt - 1} attempts: deadline")
        request = urllib.request.Request(
            base_url + "/queue",
            data=b'{"action":"get_gift_code"}',
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
            method="POST",
        )
        wait = None
        try:
            with urllib.request.urlopen(request, timeout=left) as response:
                return read_code(response)
        except urllib.error.HTTPError as answer:
            why = f"{answer.code} {answer.reason}: {problem_detail(answer)}"
            if answer.code in RETRY_AFTER:
                wait = retry_after(answer.headers.get("Retry-After"))
            elif answer.code not in BACK_OFF:
                raise GiveUp(why) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            why = f"no answer: {error}"
        if wait is None:  # no Retry-After (a 5xx, or no answer): back off
            wait, backoff = backoff, min(2 * backoff, 5.0)
        if time.monotonic() + wait > give_up_at:
            raise GiveUp(f"giving up after {attempt} attempts: {why}")
        print(f"attempt {attempt}: {why}; retrying in {wait:g}s with the same Idempotency-Key",
              file=sys.stderr, flush=True)
        time.sleep(wait)


def read_code(response):
    """The gift code of a 200 (a proxy's own page is not JSON)."""
    try:
        return json.load(response)["gift_code"]
    except (ValueError, KeyError, TypeError):
        raise GiveUp(f"{response.status}: no gift code in the answer") from None


def retry_after(value):
    """Retry-After in seconds (the server sends whole seconds), else None."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return None


def problem_detail(answer):
    """The detail of an RFC 9457 problem body, or "" when there is none."""
    try:
        return json.load(answer).get("detail", "")
    except (ValueError, AttributeError):
        return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8000", help="the server's base URL")
    parser.add_argument("--deadline", type=float, default=30, help="give up after this many seconds")
    args = parser.parse_args()
    try:
        print(gift_code(args.url, args.deadline))
    except GiveUp as error:
        print(error, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
