#!/usr/bin/env python3
"""Reference dataset validator for `batchctl-bench validate`: the checks of DatasetValidator (gateway-api.md
section 4), written the way a careful Python programmer would, on orjson (the fastest JSON parser for
Python). Prints one JSON summary line. Usage: validate_orjson.py FILE"""

import sys

import orjson

ROLES = frozenset(("system", "user", "assistant", "tool"))


def kind(v):
    return type(v).__name__


def check_messages(messages):
    if not isinstance(messages, list):
        return "body.messages must be an array", 0, 0
    if not messages:
        return "body.messages must not be empty", 0, 0
    text = 0
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"body.messages[{i}] must be an object", 0, 0
        role = m.get("role")
        if role is None:
            return f"body.messages[{i}] has no role", 0, 0
        if not isinstance(role, str) or role not in ROLES:
            return f"body.messages[{i}].role is not one of system, user, assistant, tool", 0, 0
        content = m.get("content")
        if isinstance(content, str):
            text += len(content)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict):
                    return f"body.messages[{i}].content[{j}] must be an object", 0, 0
                t = part.get("text")
                if isinstance(t, str):
                    text += len(t)
        elif content is None:
            if not (role == "assistant" and isinstance(m.get("tool_calls"), list)):
                return f"body.messages[{i}] has no content", 0, 0
        else:
            return f"body.messages[{i}].content must be a string or an array of parts", 0, 0
    return None, text, len(messages)


def check_row(row):
    """Returns (reason or None, format, estimated tokens, messages, custom_id)."""
    if not isinstance(row, dict):
        return "a row must be a JSON object", None, 0, 0, None
    cid = row.get("custom_id")
    if cid is None:
        return "missing custom_id", None, 0, 0, None
    if not isinstance(cid, str):
        return "custom_id must be a string", None, 0, 0, None
    if not cid:
        return "custom_id must not be empty", None, 0, 0, None
    if "method" in row and row["method"] != "POST":
        return 'method must be "POST"', None, 0, 0, cid
    if "url" in row and row["url"] != "/v1/chat/completions":
        return 'url must be "/v1/chat/completions"', None, 0, 0, cid
    body = row.get("body")
    if body is None:
        return "missing body", None, 0, 0, cid
    if not isinstance(body, dict):
        return "body must be an object", None, 0, 0, cid
    has_messages = "messages" in body
    has_ids = "prompt_token_ids" in body
    if has_messages and has_ids:
        return "body has both messages and prompt_token_ids", None, 0, 0, cid
    if has_messages:
        reason, text, count = check_messages(body["messages"])
        if reason:
            return reason, None, 0, 0, cid
        fmt, tokens = "CHAT", (text + 3) // 4 + 4 * count + 3
    elif has_ids:
        ids = body["prompt_token_ids"]
        if not isinstance(ids, list) or not ids:
            return "body.prompt_token_ids must be a non-empty array", None, 0, 0, cid
        for i, t in enumerate(ids):
            if type(t) is not int or t < 0:
                return f"body.prompt_token_ids[{i}] must be a non-negative integer", None, 0, 0, cid
        fmt, tokens, count = "COMPLETION", len(ids), 0
    else:
        return "body needs messages or prompt_token_ids", None, 0, 0, cid
    stream = body.get("stream")
    if stream is True:
        return "body.stream is true, but batch rows cannot stream", None, 0, 0, cid
    if stream is not None and stream is not False:
        return "body.stream must be a boolean", None, 0, 0, cid
    return None, fmt, tokens, count, cid


def main(path):
    seen = {}
    rows = blank = problems = tokens = warnings = 0
    fmt = None
    first = []
    loads = orjson.loads
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                blank += 1
                continue
            rows += 1
            try:
                row = loads(line)
            except orjson.JSONDecodeError as e:
                reason = f"invalid JSON: {e}"
            else:
                reason, row_fmt, row_tokens, _, cid = check_row(row)
                # Like DatasetValidator: a row with a usable custom_id is checked for a duplicate first.
                if cid is not None:
                    if cid in seen:
                        reason = f'duplicate custom_id "{cid}" (first seen on line {seen[cid]})'
                    else:
                        seen[cid] = lineno
                if reason is None:
                    if fmt is None:
                        fmt = row_fmt
                    if fmt != row_fmt:
                        reason = "a dataset has one format"
                    else:
                        tokens += row_tokens
                        if "model" in row["body"]:
                            warnings += 1
            if reason:
                problems += 1
                if len(first) < 20:
                    first.append(f"{path}:{lineno}: {reason}")
    if rows == 0:
        problems += 1
        first.append(f"{path}:1: the dataset has no rows")
    sys.stdout.buffer.write(orjson.dumps({"valid": problems == 0, "rows": rows, "blankLines": blank, "format": fmt,
                                          "estimatedTokens": tokens, "problemCount": problems, "warningCount": warnings,
                                          "problems": first}) + b"\n")
    return 0 if problems == 0 else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
