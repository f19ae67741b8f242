"""Custom actions of the Parcel & Pine sample assistant (see actions.py)."""
