-- The compute node whose runner claimed a pending job through exchange_jobs, so that a runner
-- that stops can hand back its own claims and nobody else's. NULL for claims made through
-- Torc's claim routes, which name no compute node; such claims cannot be handed back this way.
ALTER TABLE job ADD COLUMN claimed_by INTEGER;
