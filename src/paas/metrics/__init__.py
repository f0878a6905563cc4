"""Apps' metrics: requests and response times from the router, CPU and memory from each dyno's
cgroup, summed per 10 s and per minute into fixed-size files (see store.py)."""
