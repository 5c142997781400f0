"""The trainer (issue T): training data from the record, fine-tuning jobs remote and local."""
