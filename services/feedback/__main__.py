"""Feedback service: delegates' opinions tracked to an answer, and the year-end evaluation."""
from services.feedback.main import main

main()
