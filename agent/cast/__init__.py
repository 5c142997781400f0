"""A cast of characters in one channel (issue I): who is in it, and who speaks next."""
