#!/usr/bin/env python3
"""Reference batch runner for `batchctl-bench engine`: the Python way of running a JSONL batch against an
OpenAI-compatible server, in the style of the OpenAI cookbook's api_request_parallel_processor.py (asyncio +
aiohttp, a fixed number of requests in flight, retries on 408/429/5xx), doing the same work per row as
batchctl's engine: read the row, add the model, POST it, parse the response for its usage, and write
{"custom_id": ..., "response": <response as received>} to the output file, fsynced at the end.

Prints one JSON line: {"rows", "ok", "failed", "seconds", "rows_per_second", "max_rss_kib"} (VmHWM).
"""
import argparse
import asyncio
import json
import os
import time

import aiohttp

RETRYABLE = {408, 429}


async def run(args):
    url = args.url.rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["Authorization"] = "Bearer " + args.api_key
    queue = asyncio.Queue(maxsize=args.concurrency * 2)
    totals = {"ok": 0, "failed": 0, "input_tokens": 0, "output_tokens": 0}
    out = open(args.output, "w", buffering=1 << 20)
    errors = open(args.output + ".errors", "w")

    async def worker(session):
        while True:
            item = await queue.get()
            if item is None:
                return
            custom_id, body = item
            body["model"] = args.model
            payload = json.dumps(body)
            status, message = 0, ""
            for attempt in range(args.attempts):
                try:
                    async with session.post(url, data=payload, headers=headers) as resp:
                        raw = await resp.read()
                        status = resp.status
                        if 200 <= status < 300:
                            usage = json.loads(raw).get("usage") or {}
                            totals["input_tokens"] += usage.get("prompt_tokens", 0)
                            totals["output_tokens"] += usage.get("completion_tokens", 0)
                            out.write('{"custom_id":%s,"response":%s}\n' % (json.dumps(custom_id), raw.decode()))
                            totals["ok"] += 1
                            break
                        message = raw.decode(errors="replace")
                        if status not in RETRYABLE and status < 500:
                            break
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    status, message = 503, str(error)
                if attempt + 1 < args.attempts:
                    await asyncio.sleep(min(30, 0.5 * 2 ** attempt))
            if not (200 <= status < 300):
                errors.write(json.dumps({"custom_id": custom_id, "error": {"code": status, "message": message}}) + "\n")
                totals["failed"] += 1

    start = time.monotonic()
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        workers = [asyncio.create_task(worker(session)) for _ in range(args.concurrency)]
        rows = 0
        with open(args.input) as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                rows += 1
                await queue.put((row["custom_id"], row["body"]))
        for _ in workers:
            await queue.put(None)
        await asyncio.gather(*workers)
    out.flush()
    os.fsync(out.fileno())
    out.close()
    errors.close()
    seconds = time.monotonic() - start
    print(json.dumps({"rows": rows, "ok": totals["ok"], "failed": totals["failed"], "seconds": seconds,
                      "rows_per_second": rows / seconds if seconds else 0,
                      "max_rss_kib": peak_rss_kib()}))


def peak_rss_kib():
    # VmHWM, not getrusage: ru_maxrss survives exec, so it would report the benchmark's own peak.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", default="llama-v3p1-8b-instruct")
    p.add_argument("--api-key", default="")
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--attempts", type=int, default=5)
    p.add_argument("--timeout", type=float, default=600)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
