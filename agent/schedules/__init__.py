"""Reminders and scheduled posts: when (natural-language times, time zones, recurrences), the record's
rows (who, where, what, and each one's state), the scheduler that wakes at the right moment (APScheduler
on the record's database), and what a due one does. Platform-neutral: a door delivers."""
