"""Reads a bronze table with pyiceberg and prints its rows as JSON lines (an independent reader for tests).

  python neptune-pyiceberg.py metadata <metadata.json path> <columns,comma,separated>
  python neptune-pyiceberg.py rest <catalog url> <namespace.table> <s3 endpoint> <columns>
"""
import json
import sys

from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.table import StaticTable

mode = sys.argv[1]
if mode == "metadata":
    table = StaticTable.from_metadata(sys.argv[2])
    columns = sys.argv[3].split(",")
else:
    catalog = RestCatalog(
        "bronze",
        uri=sys.argv[2],
        **{
            "s3.endpoint": sys.argv[4],
            "s3.path-style-access": "true",
            "s3.access-key-id": "packetpulse",
            "s3.secret-access-key": "packetpulse-secret",
            "s3.region": "us-east-1",
        },
    )
    table = catalog.load_table(sys.argv[3])
    columns = sys.argv[5].split(",")

schema = table.schema()
print(json.dumps({"schema": [f"{f.field_id}:{f.name}:{f.field_type}:{'required' if f.required else 'optional'}" for f in schema.fields],
                  "spec": str(table.spec()),
                  "files": len(list(table.scan().plan_files()))}))
for row in table.scan(selected_fields=tuple(columns)).to_arrow().to_pylist():
    print(json.dumps(row, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))
