"""socklab's grader: builds a student's files, runs them against reference peers, scores."""
