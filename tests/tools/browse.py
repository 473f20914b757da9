"""Loads a page in headless Chromium, driven over the DevTools protocol on
a pipe (no network port, nothing to install), and says what it did.

    python3 tests/tools/browse.py CHROMIUM URL [EXPRESSION...]

Prints one JSON object: `requests` (every URL the page asked for, the page
itself included), `console` (console calls and log entries, CSP violations
among them), `exceptions` (uncaught), `title`, and `results`: each
EXPRESSION evaluated in the page after it loaded, in order (a promise is
awaited). Exit status 0 when it could say; 1 with the reason otherwise.
"""

import fcntl
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

# Longest the whole visit may take: under the test's own `timeout`, so
# that a slow machine gets this script's reason rather than a kill.
DEADLINE_S = 100


def high(fd):
    """`fd` moved to a descriptor number of 10 or more."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    def __init__(self, chromium, profile):
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The browser's ends above 4, so that moving one to 3 or 4 in the
        # child never overwrites the other.
        to_browser_r = high(to_browser_r)
        from_browser_w = high(from_browser_w)

        def plumb():
            # The protocol's pipe: Chromium reads fd 3 and writes fd 4.
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        self.process = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=plumb,
            # Kept open past the closing of every other descriptor, which
            # happens after `plumb`.
            pass_fds=(3, 4),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + DEADLINE_S

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def read(self, until):
        """Reads messages, keeping events, until one satisfies `until`."""
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" not in message:
                    self.events.append(message)
                if until(message):
                    return message
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the browser did not answer in time")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 16)
                if not chunk:
                    raise EOFError("the browser closed its pipe")
                self.buffer += chunk

    def call(self, method, params=None, session=None):
        sent = self.send(method, params, session)
        reply = self.read(lambda m: m.get("id") == sent)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def close(self):
        try:
            self.send("Browser.close")
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def visit(chromium, url, expressions):
    with tempfile.TemporaryDirectory() as profile:
        browser = Browser(chromium, profile)
        try:
            target = browser.call("Target.createTarget", {"url": "about:blank"})
            session = browser.call(
                "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
            )["sessionId"]
            for domain in ["Page", "Network", "Runtime", "Log"]:
                browser.call(f"{domain}.enable", session=session)
            browser.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session=session)
            navigated = browser.call("Page.navigate", {"url": url}, session=session)
            if navigated.get("errorText"):
                raise RuntimeError(f"{url}: {navigated['errorText']}")
            # Network idle: loaded, and nothing asked for since, so every
            # request the page would make has been seen.
            browser.read(
                lambda m: m.get("method") == "Page.lifecycleEvent"
                and m["params"].get("name") == "networkIdle"
                and m["params"].get("loaderId") == navigated.get("loaderId")
            )
            results = []
            for expression in expressions:
                value = browser.call(
                    "Runtime.evaluate",
                    {"expression": expression, "returnByValue": True, "awaitPromise": True},
                    session=session,
                )
                if "exceptionDetails" in value:
                    results.append({"exception": value["exceptionDetails"].get("text")})
                else:
                    results.append(value["result"].get("value"))
            # What an expression caused (a log, a request) came before its
            # reply, on the same pipe.
            title = browser.call(
                "Runtime.evaluate",
                {"expression": "document.title", "returnByValue": True},
                session=session,
            )["result"].get("value")
        finally:
            browser.close()
    events = browser.events
    return {
        "requests": [
            e["params"]["request"]["url"]
            for e in events
            if e.get("method") == "Network.requestWillBeSent"
        ],
        "console": [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"])
            for e in events
            if e.get("method") == "Runtime.consoleAPICalled"
        ]
        + [
            f"{e['params']['entry']['level']}: {e['params']['entry']['text']}"
            for e in events
            if e.get("method") == "Log.entryAdded"
        ],
        "exceptions": [
            e["params"]["exceptionDetails"].get("text", "")
            for e in events
            if e.get("method") == "Runtime.exceptionThrown"
        ],
        "title": title,
        "results": results,
    }


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    # Ended from outside: close the browser on the way out (the `finally`
    # in `visit`), leaving no Chromium behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        report = visit(sys.argv[1], sys.argv[2], sys.argv[3:])
    except (OSError, EOFError, TimeoutError, RuntimeError) as error:
        print(f"browse.py: {error}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
