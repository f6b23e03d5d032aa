// The Redis client lives here (issue: distributed mode).
