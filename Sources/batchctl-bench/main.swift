// Benchmarks for the targets of design.md, each side by side with its reference.
print("batchctl-bench")
