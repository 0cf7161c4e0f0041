"""The job runner shared by `torc run` and `torc-slurm-job-runner`."""
