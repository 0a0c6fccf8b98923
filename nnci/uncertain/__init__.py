"""Uncertain inputs: distributions (declared once, in `distributions`), seeded Monte Carlo draws and
their summaries (`sampling`), and the ranking of inputs by the spread they explain (`sensitivity`)."""
