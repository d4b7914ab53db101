"""Min / median / max: every figure in the report is one of these over a case's runs."""
import statistics

median = statistics.median


def spread(values):
    """(min, median, max)"""
    return min(values), median(values), max(values)


def medians(series):
    """{name: median} of {name: [values]}."""
    return {name: median(values) for name, values in series.items()}


def percentile(values, fraction):
    """The nearest-rank percentile: with 20 values, p99 is the largest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]
