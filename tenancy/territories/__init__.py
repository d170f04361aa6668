"""Territories: the country's tree of regions, districts and settlements."""
