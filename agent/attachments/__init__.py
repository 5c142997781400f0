"""Files members attach: which can be read (text, PDF), reading them within bounds, and how the models see them."""
