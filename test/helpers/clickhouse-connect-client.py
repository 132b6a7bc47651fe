"""clickhouse-connect (ClickHouse's Python client) against the embedded store's HTTP interface.

Usage: python clickhouse-connect-client.py PORT WRITER_USER WRITER_PASSWORD READER_USER READER_PASSWORD
Prints one JSON object: what each call returned, or the ClickHouse error code it raised.
"""
import json
import re
import sys

import clickhouse_connect

port, writer_user, writer_password, reader_user, reader_password = sys.argv[1:6]
out = {}


def code_of(error):
    match = re.search(r"code: (\d+)", str(error))
    return int(match.group(1)) if match else str(error)


writer = clickhouse_connect.get_client(host="127.0.0.1", port=int(port), username=writer_user, password=writer_password)
reader = clickhouse_connect.get_client(host="127.0.0.1", port=int(port), username=reader_user, password=reader_password)
out["server_version"] = writer.server_version
writer.command("CREATE TABLE IF NOT EXISTS py_probe (x UInt64, s String, n Nullable(String)) ENGINE = MergeTree ORDER BY x")
# The default insert: Native format, LZ4-compressed body.
writer.insert("py_probe", [[1, "one\ttab", None], [2, "two's", "x"]], column_names=["x", "s", "n"])
out["rows"] = [list(row) for row in reader.query("SELECT x, s, n FROM py_probe ORDER BY x").result_rows]
out["params"] = [
    list(row)
    for row in reader.query(
        "SELECT {s:String} AS s, {n:Nullable(String)} AS n, {xs:Array(UInt8)} AS xs",
        parameters={"s": "it's\ta", "n": None, "xs": [1, 2]},
    ).result_rows
]
out["csv"] = reader.raw_query("SELECT x, s FROM py_probe ORDER BY x", fmt="CSV").decode()
out["tsv_with_names"] = reader.raw_query("SELECT x, s FROM py_probe ORDER BY x", fmt="TabSeparatedWithNames").decode()
out["json_each_row"] = reader.raw_query("SELECT x FROM py_probe ORDER BY x", fmt="JSONEachRow").decode()
for name, statement in [("reader_insert", "INSERT INTO py_probe (x, s) VALUES (3, 'three')"), ("reader_drop", "DROP TABLE py_probe")]:
    try:
        reader.command(statement)
        out[name] = "accepted"
    except Exception as error:  # noqa: BLE001 - the code is what is reported
        out[name] = code_of(error)
try:
    clickhouse_connect.get_client(host="127.0.0.1", port=int(port), username=reader_user, password="wrong")
    out["wrong_password"] = "accepted"
except Exception as error:  # noqa: BLE001
    out["wrong_password"] = code_of(error)
out["count_after"] = reader.query("SELECT count() FROM py_probe").result_rows[0][0]
print(json.dumps(out))
