"""Reports on a workflow's results and resource use; plots of the monitor's time series."""
