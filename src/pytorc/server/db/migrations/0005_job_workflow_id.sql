-- A workflow's jobs in id order: a page of `jobs?workflow_id=W&offset=N` walks this index alone
-- (no sort of the workflow's jobs, no table rows for the skipped ones), and counting them reads
-- the smallest index. Measured on 200,000 jobs: see benchmarks/README.md.
CREATE INDEX job_workflow_id ON job(workflow_id, id);
