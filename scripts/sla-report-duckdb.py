#!/usr/bin/env python3
"""The SLA compliance report computed by DuckDB (scripts/sla-report.sql) over a JSON-lines file
of analytics records: the independent cross-check of `triage report sla` (docs/analytics.md).

usage: sla-report-duckdb.py RECORDS.jsonl FROM TO AS_OF team|severity|customer|month
(instants as 'YYYY-MM-DD HH:MM:SS.fff' UTC). Prints one JSON object per row, the total last
(its "grp" is null).
"""
import json
import os
import sys

import duckdb

path, start, end, as_of, by = sys.argv[1:6]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sla-report.sql")) as f:
    sql = f.read()
con = duckdb.connect()
cursor = con.execute(sql, {"file": path, "from": start, "to": end, "as_of": as_of, "by": by})
names = [d[0] for d in cursor.description]
for row in cursor.fetchall():
    print(json.dumps(dict(zip(names, row))))
