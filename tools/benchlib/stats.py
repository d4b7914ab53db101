"""Min / median / max: every figure in the report is one of these over a case's runs."""
import statistics

median = statistics.median


def spread(values):
    """(min, median, max)"""
    return min(values), median(values), max(values)


def medians(series):
    """{name: median} of {name: [values]}."""
    return {name: median(values) for name, values in series.items()}
