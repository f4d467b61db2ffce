"""The ETL engine that produces the platform's input: wearable readings in, JSONL journals out.

`clinical` computes each record type's statistics and findings (their types: `clinical_types`),
`narratives` words them, `writer` builds one training example per raw batch and `facts` records
which statistic each of its numbers reports; `journal` appends examples to a monthly journal
without duplicates. `generator` runs the writer over seeded synthetic users (`profiles`), readings
(`wearables`) and notes (`notes`, PHI included). The data pipeline (`data/`) never imports this
package: it reads only the journals written here.
"""
