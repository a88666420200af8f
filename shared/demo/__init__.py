"""Demo data for `make up`: a realistic year of Jinghong's livelihood projects."""
