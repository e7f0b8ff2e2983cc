"""Projects: the listing, its lifecycle, moderation, updates and comments."""
