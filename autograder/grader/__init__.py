"""What runs on a grading worker: one submission in, one outcome out (a bounded, sandboxed nbgrader job)."""
