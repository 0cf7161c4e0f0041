-- Ready jobs by resource requirement, in claim order: a claim by resources looks only at the
-- first jobs of each requirement that fits (services/claiming.py), instead of walking every
-- ready job of the workflow past those that do not fit. Partial: it holds ready jobs only.
CREATE INDEX job_ready_by_class ON job(workflow_id, resource_requirements_id, priority DESC, id)
 WHERE status = 2;
