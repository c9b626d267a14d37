"""The reconcile script users write by hand, for `batchctl-bench results`: join a batch job's output files
(BIJOutputSet.jsonl and error-data of each dataset of the lineage, oldest first) to its input, in input order.

usage: results_join.py INPUT.jsonl OUTPUT_FILE... > joined.jsonl

Everything of the outputs is held in one dict (custom_id -> the row's JSON text), as such scripts do. Uses
orjson when it is installed, else the standard json module.
"""
import sys

try:
    import orjson as fast
    loads, dumps = fast.loads, lambda v: fast.dumps(v).decode()
except ImportError:
    import json
    loads, dumps = json.loads, lambda v: json.dumps(v, separators=(",", ":"))


def main():
    results = {}
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            for line in f:
                if not line.strip():
                    continue
                row = loads(line)
                cid = row.get("custom_id")
                old = results.get(cid)
                if "response" in row:
                    results[cid] = ("succeeded", row["response"])
                elif old is None or old[0] != "succeeded":
                    results[cid] = ("failed", row.get("error"))
    out = sys.stdout
    with open(sys.argv[1], "rb") as f:
        for line in f:
            if not line.strip():
                continue
            cid = loads(line)["custom_id"]
            status, value = results.get(cid, ("missing", None))
            row = {"custom_id": cid, "status": status}
            if status == "succeeded":
                row["response"] = value
            elif status == "failed":
                row["error"] = value
            out.write(dumps(row))
            out.write("\n")


if __name__ == "__main__":
    main()
