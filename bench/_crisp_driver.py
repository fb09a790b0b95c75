"""Run CRISP (uber-research/CRISP) on a directory of Jaeger JSON traces, inside CRISP's own
virtualenv, and print what it took and its critical path per service as one JSON line.

    <crisp venv>/bin/python bench/_crisp_driver.py DIR SERVICE OPERATION

Called by bench_traceaudit.py; never imported by the project (CRISP is not a dependency).
Times CRISP's own per-trace `process()` (read the file, build the graph, critical path,
metrics), the unit its CLI maps over its worker pool.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    import crisp.common as common
    from crisp.process_trace import process
    from crisp.shared.utils import getLeafNodeFromCallPath

    folder, service, operation = sys.argv[1:4]
    config = common.Config(operationName=operation, serviceName=service)
    files = sorted(str(p) for p in Path(folder).glob("*.json"))
    per_service: dict[str, float] = {}
    analysed = 0
    wall, cpu = time.perf_counter(), time.process_time()
    results = [process(f, config) for f in files]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    for metrics in results:
        if metrics is None or not metrics.CPMetrics:
            continue
        analysed += 1
        for path, value in metrics.CPMetrics.profile.items():
            leaf = getLeafNodeFromCallPath(path)  # "[service] operation"
            svc = leaf[1:leaf.index("]")] if leaf.startswith("[") else leaf
            per_service[svc] = per_service.get(svc, 0.0) + float(value.excl)
    print(json.dumps({"files": len(files), "traces": analysed, "wall_s": wall, "cpu_s": cpu,
                      "cp_ms_per_trace": {k: v / max(analysed, 1) / 1000
                                          for k, v in sorted(per_service.items())}}))


if __name__ == "__main__":
    main()
