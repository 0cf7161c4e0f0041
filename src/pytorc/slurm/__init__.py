"""Slurm: sbatch scripts, schedule-nodes, and the runner that works inside an allocation."""
