"""The staff cabinet's pages."""
