"""Loading and validating CALM project folders."""
