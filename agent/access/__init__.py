"""Who may talk to the bot and how much (issue J): access lists, per-member quotas, flood control."""
