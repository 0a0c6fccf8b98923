"""Uncertain inputs: distributions (declared once, in `distributions`), seeded Monte Carlo draws and
their summaries (`sampling`), and the ranking of inputs by the spread they explain (`sensitivity`)."""

DEFAULT_SAMPLES = 10_000  # draws when a command samples and no --samples is given
MAX_SAMPLES = 4_000_000  # the demo then peaks at about 870 MiB: more is refused before anything is drawn
STATISTICS = ("p5", "p50", "p95", "mean", "sd")  # what `expect p95(x) <= …` may bound
